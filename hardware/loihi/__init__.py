"""Loihi 2 through Lava: map a core ``Network`` of CuBa-LIF populations to Lava processes,
quantise it to Loihi's integer formats, and run it on Lava's simulator or on a bit-exact
Numba fixed-point engine (see ``quantize``, ``engine``, ``lava_backend``, ``resources``).

Importing this package makes Lava 0.10.0 importable on Python 3.11: it puts
``lava_compat``'s import hook in place (nothing of Lava is imported until asked for), so
``import hardware.loihi`` followed by ``import lava.proc.lif.process`` works."""
from .backend import LoihiBackend
from .engine import run_fixed
from .lava_backend import run_lava
from .lava_compat import LavaUnavailable, import_lava, install as _install_lava_hook
from .quantize import LoihiNetwork, QuantizationReport, map_network, one_spike_per_step, quantize

__all__ = ["LoihiBackend", "map_network", "quantize", "one_spike_per_step", "run_fixed", "run_lava", "import_lava",
           "LavaUnavailable", "LoihiNetwork", "QuantizationReport"]

_install_lava_hook()
