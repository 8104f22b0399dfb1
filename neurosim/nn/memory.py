"""Keep freed memory for the next batch: large tensors of a training loop without page faults.

A training step allocates the same large tensors every batch (a spiking layer's spikes,
membrane and gradients over all time steps: (T, B, ...) tensors of tens of MB). glibc's
``malloc`` maps every block above its mmap threshold (at most 32 MB by default) freshly from
the system and unmaps it when freed, so each batch touches new pages: on the 2-core
development machine a 37 MB tensor costs ~90 ms of page faults against ~4 ms once the
memory is reused (the N-MNIST classifier's epoch: 6.9 s -> 5.4 s; Norse's: 28 s -> 15 s;
``benchmarks/train_nmnist.py``). ``keep_freed_memory`` raises the thresholds so freed blocks
stay in the heap and serve the next batch. The cost: the process does not hand freed memory
back to the system (its resident size stays at its peak).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(max_block: int = 1 << 30) -> bool:
    """Ask glibc's allocator to serve blocks up to ``max_block`` bytes from its heap and to
    keep freed memory (``mallopt`` ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD``), for the
    whole process. Returns True if applied; False (and changes nothing) where the C library
    is not glibc (macOS, Windows, musl). Raises ``ValueError`` for ``max_block`` outside
    [1 MiB, 1 GiB]."""
    if isinstance(max_block, bool) or not isinstance(max_block, int) or not (1 << 20) <= max_block <= (1 << 30):
        raise ValueError(f"max_block = {max_block!r} is invalid: must be an integer number of bytes in [2**20, 2**30]")
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only: musl has mallopt as a stub
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, max_block)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 * max_block - 1))
