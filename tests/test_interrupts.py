"""Ctrl-C during a run is a KeyboardInterrupt, taken between chunks (neurosim.engine.interrupts).
Raised inside Numba's call or compile it came out as ``TypeError: _get_wrapper_address()
missing 1 required positional argument: 'sig'`` (seen in CI: SIGINT landing on a chunk's
call; reproduced every time by SIGINT during the first compile with an empty cache)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurosim.engine.interrupts import deferred_sigint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler for the test (an imported library may have put its own
    in place: Brian2 does, and deferred_sigint then leaves SIGINT alone), restored after."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_handler_of_the_application_is_left_alone():
    def own(signum, frame):
        pass

    previous = signal.signal(signal.SIGINT, own)
    try:
        with deferred_sigint():
            assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigint_is_deferred_to_the_check_and_the_handler_restored(default_sigint):
    with deferred_sigint() as check:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # delivered: no exception here
        with pytest.raises(KeyboardInterrupt):
            check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):  # not checked before the block ends: raised at its end
        with deferred_sigint():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    with pytest.raises(KeyboardInterrupt):  # a second one raises at once
        with deferred_sigint():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            pytest.fail("the second SIGINT should have raised")
    with deferred_sigint() as check:  # nothing pending: nothing raised
        check()


CHILD = """
import sys, numpy as np
from circuits.reference.cuba import cuba_network
from neurosim import Simulator, SpikeMonitor
sim = Simulator(cuba_network(1000, n_inputs=80), 1e-4, np.float32)
print("ready", flush=True)
sim.run(3000.0, [SpikeMonitor("cuba", file=sys.argv[1])], chunk_steps=2000)
"""


def test_sigint_during_the_first_compile_is_a_keyboard_interrupt(tmp_path):
    """With an empty Numba cache the run compiles for a second or more after its file
    appears; SIGINT then lands in the compile."""
    path = tmp_path / "rec.h5"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.time() + 120
        while not path.exists() and time.time() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err and "TypeError" not in err, err[-2000:]
