"""SpiNNaker-style deployment: a machine model (``machine``); partitioning, placement,
key/mask routing and routing-table compression of a core ``Network`` (``mapping``); its
s16.15 run (``simulate``) and the PyNN export for sPyNNaker (``pynn_export``), each target
behind ``neurosim.backend`` (``SpiNNakerBackend``, ``PyNNBackend``)."""
from .backend import SpiNNakerBackend
from .machine import Machine
from .mapping import Mapping, TableOverflow, compress_table, deliver, map_network
from .pynn_backend import PyNNBackend

__all__ = ["SpiNNakerBackend", "PyNNBackend", "Machine", "Mapping", "TableOverflow", "compress_table", "deliver", "map_network"]
