"""neurosim.nn.keep_freed_memory: glibc's allocator keeps freed blocks for the next batch."""
import sys

import numpy as np
import pytest

from neurosim.nn import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_applies_on_linux_and_large_blocks_still_work():
    assert keep_freed_memory() is True
    for _ in range(3):  # blocks above glibc's default mmap threshold, allocated and freed
        a = np.ones((20, 500_000), np.float32)
        assert float(a.sum()) == 10_000_000.0
        del a


@pytest.mark.parametrize("bad", [0, 1000, 2**31, 1.5, True, None])
def test_bad_threshold_is_refused(bad):
    with pytest.raises(ValueError, match="max_block"):
        keep_freed_memory(bad)
