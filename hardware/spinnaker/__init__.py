"""SpiNNaker deployment: the real tool chain (``toolchain``: sPyNNaker 7.4 and PACMAN on a
virtual board, what they decided read back); our own machine model (``machine``),
partitioning, placement, key/mask routing and routing-table compression of a core
``Network`` (``mapping``); its s16.15 run (``simulate``) and the PyNN export for sPyNNaker
(``pynn_export``), each target behind ``neurosim.backend`` (``SpiNNakerBackend``,
``PyNNBackend``)."""
from .backend import SpiNNakerBackend
from .machine import Machine
from .mapping import Mapping, TableOverflow, compress_table, deliver, map_network
from .pynn_backend import PyNNBackend
from .toolchain import ToolchainError, ToolchainMapping, board_network, map_with_spynnaker

__all__ = ["SpiNNakerBackend", "PyNNBackend", "Machine", "Mapping", "TableOverflow", "compress_table", "deliver", "map_network",
           "ToolchainError", "ToolchainMapping", "board_network", "map_with_spynnaker"]
