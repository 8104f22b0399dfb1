"""Monitors that stream to HDF5 (SpikeMonitor/StateMonitor(file=...), read_recording; issue
#35): the file holds exactly what the in-memory monitors record, is readable while the run
writes it, and after SIGINT holds every spike up to the last flushed chunk; bad input is
refused."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from circuits.reference.cuba import cuba_network
from neurosim import Simulator, SpikeMonitor, StateMonitor, read_recording

ROOT = Path(__file__).resolve().parents[1]


def test_streamed_spikes_and_samples_equal_the_in_memory_ones(tmp_path):
    net = cuba_network(1000, n_inputs=80)
    path = tmp_path / "rec.h5"
    mem = Simulator(net, 1e-4, np.float32).run(
        0.4, [SpikeMonitor("cuba"), StateMonitor("cuba", ("v", "i_e"), neurons=np.arange(0, 1000, 97), every=3)])
    sim = Simulator(net, 1e-4, np.float32)
    res = sim.run(0.4, [SpikeMonitor("cuba", file=path),
                        StateMonitor("cuba", ("v", "i_e"), neurons=np.arange(0, 1000, 97), every=3, file=path)], chunk_steps=701)
    assert res.files == {"cuba": str(path)} and res.spikes == {} and res.traces == {}
    got = read_recording(path)
    assert got.info == {"steps_written": 4000, "finished": True}
    assert len(mem.spikes["cuba"]) > 2000
    np.testing.assert_array_equal(got.spikes["cuba"].times, mem.spikes["cuba"].times)
    np.testing.assert_array_equal(got.spikes["cuba"].ids, mem.spikes["cuba"].ids)
    assert got.spikes["cuba"].mean_rate() == pytest.approx(mem.spikes["cuba"].mean_rate())
    np.testing.assert_array_equal(got.traces["cuba"].times, mem.traces["cuba"].times)
    np.testing.assert_array_equal(got.traces["cuba"].neurons, mem.traces["cuba"].neurons)
    for var in ("v", "i_e"):
        np.testing.assert_array_equal(got.traces["cuba"][var], mem.traces["cuba"][var])
    # a window, found by bisection in the file
    part = read_recording(path, 0.1, 0.25)
    t = mem.spikes["cuba"].times
    inside = (np.round(t / 1e-4) >= 1000) & (np.round(t / 1e-4) < 2500)
    np.testing.assert_array_equal(part.spikes["cuba"].ids, mem.spikes["cuba"].ids[inside])
    assert part.t_start == pytest.approx(0.1) and part.duration == pytest.approx(0.15)
    # a second run continues in time into a new file
    res2 = sim.run(0.1, [SpikeMonitor("cuba", file=tmp_path / "next.h5")])
    nxt = read_recording(res2.files["cuba"])
    assert nxt.t_start == pytest.approx(0.4) and nxt.spikes["cuba"].times.min() >= 0.4 - 1e-9


CHILD = """
import sys, numpy as np
from circuits.reference.cuba import cuba_network
from neurosim import Simulator, SpikeMonitor
sim = Simulator(cuba_network(1000, n_inputs=80), 1e-4, np.float32)
sim.run(1e-4); sim.reset()
print("ready", flush=True)
sim.run(3000.0, [SpikeMonitor("cuba", file=sys.argv[1])], chunk_steps=2000)
"""


def test_sigint_midway_leaves_every_flushed_chunk_readable(tmp_path):
    path = tmp_path / "long.h5"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        seen = []  # read while the run writes (SWMR)
        deadline = time.time() + 120
        while time.time() < deadline:
            if path.exists():
                try:
                    info = read_recording(path, 0.0, 0.0).info
                except (ValueError, OSError):  # the file is being created
                    info = {"steps_written": 0}
                if info["steps_written"] > 0:
                    seen.append(info["steps_written"])
                if len(seen) >= 3 and seen[-1] > seen[0]:
                    break
            time.sleep(0.05)
        assert len(seen) >= 3 and seen[-1] > seen[0], "the file never showed progress while running"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    got = read_recording(path)
    done = got.info["steps_written"]
    assert not got.info["finished"] and seen[-1] <= done < 30_000_000 and done % 2000 == 0
    # every spike up to the last flushed chunk: the same run, in memory, for that long
    ref = Simulator(cuba_network(1000, n_inputs=80), 1e-4, np.float32).run(done * 1e-4, [SpikeMonitor("cuba")])
    assert len(ref.spikes["cuba"]) > 1000
    np.testing.assert_array_equal(np.round(got.spikes["cuba"].times / 1e-4), np.round(ref.spikes["cuba"].times / 1e-4))
    np.testing.assert_array_equal(got.spikes["cuba"].ids, ref.spikes["cuba"].ids)


def test_bad_streaming_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match="give one of them"):
        SpikeMonitor("cuba", max_spikes=10, file=tmp_path / "x.h5")
    with pytest.raises(ValueError, match="must be a path"):
        StateMonitor("cuba", file=3)
    from circuits.worm.model import build_worm

    worm = Simulator(build_worm(), dt=1e-3, adaptive=True)
    with pytest.raises(ValueError, match="fixed steps"):
        worm.run(0.01, [StateMonitor("worm", file=tmp_path / "w.h5")])
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        Simulator(cuba_network(100, n_inputs=10)).run(0.001, [SpikeMonitor("cuba", file=blocker / "x.h5")])
    foreign = tmp_path / "foreign.h5"
    import h5py

    with h5py.File(foreign, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a neurosim recording"):
        read_recording(foreign)
    cut = tmp_path / "cut.h5"
    Simulator(cuba_network(100, n_inputs=10)).run(0.01, [SpikeMonitor("cuba", file=cut)])
    cut.write_bytes(cut.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable HDF5 recording"):
        read_recording(cut)
    with pytest.raises(FileNotFoundError):
        read_recording(tmp_path / "missing.h5")
    assert not os.path.exists(tmp_path / "w.h5")
