"""SpiNNaker-style deployment: a machine model (``machine``), and partitioning, placement,
key/mask routing and routing-table compression of a core ``Network`` (``mapping``)."""
from .machine import Machine
from .mapping import Mapping, TableOverflow, compress_table, deliver, map_network

__all__ = ["Machine", "Mapping", "TableOverflow", "compress_table", "deliver", "map_network"]
