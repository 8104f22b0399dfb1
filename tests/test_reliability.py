"""Issue #15: each bad input found in the reliability review gets the documented error (or
the corrected result), the event-camera simulator never writes out of bounds, training
runs are never lost or mixed, and atomic writes keep ordinary file modes.

The reliability tests are this file and four more from the second review (issue #29), each
of which states in its docstring how many hostile inputs it feeds per area:

* ``test_reliability_security.py``: 33 (hostile names into networks, files, NIR graphs and
  the generated PyNN script; module paths in sweep specs; traces that would need pickle);
* ``test_reliability_limits.py``: 16 (current injections at scale, decompression bombs,
  huge sweep specs, a task that never returns);
* ``test_reliability_integrity.py``: 33 (damaged checkpoints in all four training commands
  and damaged records, two writers in one folder, values beyond s16.15 and Loihi's limits);
* ``test_reliability_errors.py``: 36 (corrupt event files, overflowing and NaN states, bad
  settings, and the unclear errors of the review, each now one line).
"""
import json
import math
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from test_network import _rich_network

import neurosim.nn as snn
from connectomes import activity
from neurosim import Network, NetworkFileError, Projection, SpikeMonitor, Simulator
from neurosim.atomic import atomic_savez, atomic_write_text
from neurosim.cli import main
from neurosim.events import EventCameraSimulator, EventFileError, EventLimitError, NMNISTSmall, read_events
from neurosim.events.camera import _crossings

FLASH_LEVELS = math.floor((math.log(255.001) - math.log(0.001)) / 0.01)  # levels crossed by a 0 -> 255 flash at C = 0.01


def _run_python(code: str, **env) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter: a memory error there fails the test, not the suite."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, **env})


# ---------------------------------------------------------------- 1. memory safety
def test_flash_that_used_to_segfault_gives_every_event():
    res = _run_python(
        "import numpy as np\n"
        "from neurosim.events import EventCameraSimulator\n"
        "ev = EventCameraSimulator(contrast_threshold=0.01, threshold_sigma=0).simulate("
        "np.stack([np.zeros((8, 8)), np.full((8, 8), 255.)]), [0, .1])\n"
        "print(ev.size, np.bincount(ev['y'] * 8 + ev['x'], minlength=64).min(), np.bincount(ev['y'] * 8 + ev['x']).max())")
    assert res.returncode == 0, res.stderr[-2000:]
    # more than the old cap of 1000 events per pixel, and exactly the crossings of each pixel
    assert res.stdout.split() == [str(64 * FLASH_LEVELS), str(FLASH_LEVELS), str(FLASH_LEVELS)]


def test_large_flash_refuses_cleanly_or_finishes():
    res = _run_python(
        "import numpy as np\n"
        "from neurosim.events import EventCameraSimulator, EventLimitError\n"
        "flash = np.stack([np.zeros((480, 640)), np.full((480, 640), 255.)])\n"
        "try:\n"
        "    EventCameraSimulator(contrast_threshold=0.05).simulate(flash, [0, .1])\n"
        "except EventLimitError as e:\n"
        "    print('refused:', e)\n"
        "ev = EventCameraSimulator(contrast_threshold=0.5, threshold_sigma=0).simulate(flash, [0, .1])\n"
        "print(ev.size)")
    assert res.returncode == 0, res.stderr[-2000:]
    refused, size = res.stdout.strip().splitlines()
    assert refused.startswith("refused:") and "max_events = 50,000,000" in refused
    assert int(size) == 480 * 640 * math.floor((math.log(255.001) - math.log(0.001)) / 0.5)


def test_max_events_is_a_clear_limit():
    flash = np.stack([np.zeros((4, 4)), np.full((4, 4), 255.)])
    with pytest.raises(EventLimitError, match="max_events = 100"):
        EventCameraSimulator(contrast_threshold=0.1, threshold_sigma=0, max_events=100).simulate(flash, [0, .1])
    # with a refractory period the count is not known in advance: the kernel stops at the limit
    with pytest.raises(EventLimitError, match="max_events = 100"):
        EventCameraSimulator(contrast_threshold=0.1, threshold_sigma=0, max_events=100, refractory=1e-6).simulate(flash, [0, .1])
    ev = EventCameraSimulator(contrast_threshold=0.1, threshold_sigma=0, max_events=16 * 124).simulate(flash, [0, .1])
    assert ev.size == 16 * 124  # exactly at the limit is allowed
    with pytest.raises(ValueError, match="max_events = 0"):
        EventCameraSimulator(max_events=0)


def test_crossings_kernel_resumes_exactly_from_a_full_buffer():
    rng = np.random.default_rng(3)
    l0, l1 = rng.normal(0, 1, 50), rng.normal(0, 3, 50)
    c = rng.uniform(0.05, 0.2, 50)

    def run(cap):
        l_ref, last_t = l0.copy(), np.full(50, -np.inf)
        out, start = [], 0
        while start < 50:
            t, pix, p = np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int8)
            n, start = _crossings(l0, l1, l_ref, c, c, last_t, 0.0, 1.0, 1e-3, start, t, pix, p)
            out.append((t[:n], pix[:n], p[:n]))
        return [np.concatenate(a) for a in zip(*out)], l_ref, last_t

    (t_a, pix_a, p_a), ref_a, last_a = run(10_000)
    (t_b, pix_b, p_b), ref_b, last_b = run(7)  # many early returns
    assert t_a.size > 100
    np.testing.assert_array_equal(t_a, t_b)
    np.testing.assert_array_equal(pix_a, pix_b)
    np.testing.assert_array_equal(p_a, p_b)
    np.testing.assert_array_equal(ref_a, ref_b)
    np.testing.assert_array_equal(last_a, last_b)


def test_thresholds_are_never_changed_silently():
    with pytest.raises(ValueError, match="below min_threshold"):
        EventCameraSimulator(contrast_threshold=0.005)
    # accepted when asked for: every pixel then uses exactly 0.005
    sim = EventCameraSimulator(contrast_threshold=0.005, threshold_sigma=0, min_threshold=0.001)
    ev = sim.simulate(np.stack([np.full((2, 2), 0.1), np.full((2, 2), 0.9)]), [0, 0.01])
    assert ev.size == 4 * math.floor((math.log(0.901) - math.log(0.101)) / 0.005)


@pytest.mark.parametrize("frames,times,match", [
    (np.zeros((2, 0, 3)), [0, 1], "each side"),
    (np.zeros((2, 3, 40000)), [0, 1], "int16"),
    (np.zeros((2, 3, 3)), [0, np.nan], "finite"),
    (np.zeros((2, 3, 3)), [0, 1e20], "int64"),
    ([["a"]], [0], "numeric"),
])
def test_camera_rejects_bad_frames(frames, times, match):
    with pytest.raises(ValueError, match=match):
        EventCameraSimulator().simulate(frames, times)


def test_boundscheck_catches_bad_indices_in_a_kernel(tmp_path):
    """Proves what the CI job relies on: with NUMBA_BOUNDSCHECK=1 (and a fresh cache, since
    cached machine code was compiled without checks) a bad index raises instead of
    corrupting memory."""
    res = _run_python(
        "import numpy as np\n"
        "from neurosim.events.camera import _crossings\n"
        "l0 = np.zeros(5); l1 = np.full(5, 3.0)\n"
        "try:\n"
        "    _crossings(l0, l1, l0.copy(), np.full(2, 0.1), np.full(2, 0.1), np.full(5, -np.inf), 0.0, 1.0, 0.0, 0,\n"
        "              np.empty(100), np.empty(100, np.int64), np.empty(100, np.int8))\n"
        "except IndexError as e:\n"
        "    print('IndexError')\n",
        NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path))
    assert res.returncode == 0 and res.stdout.strip() == "IndexError", (res.stdout, res.stderr[-2000:])


# ---------------------------------------------------------------- 2. Network.load
def _meta_npz(path, meta, **arrays):
    with open(path, "wb") as f:
        np.savez(f, __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)


def _saved_meta(tmp_path):
    p = tmp_path / "good.npz"
    _rich_network().save(p)
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(bytes(arrays.pop("__meta__")).decode()), arrays


def test_network_load_errors_are_one_documented_type(tmp_path):
    meta, arrays = _saved_meta(tmp_path)
    cases = {}
    np.save(tmp_path / "array.npy", np.arange(3))
    cases["array.npy"] = "not an .npz archive"
    no_pops = {k: v for k, v in meta.items() if k != "populations"}
    _meta_npz(tmp_path / "nopops.npz", no_pops, **arrays)
    cases["nopops.npz"] = "'populations' must be a list"
    _meta_npz(tmp_path / "noarray.npz", meta, **{k: v for k, v in arrays.items() if k != "proj0_weights"})
    cases["noarray.npz"] = "array 'proj0_weights' is missing"
    _meta_npz(tmp_path / "list.npz", [1, 2, 3], **arrays)
    cases["list.npz"] = "holds a JSON list"
    _meta_npz(tmp_path / "version.npz", {**meta, "version": 99}, **arrays)
    cases["version.npz"] = "version 99"
    _meta_npz(tmp_path / "model.npz", {**meta, "populations": [{**meta["populations"][0], "kind": "hodgkin"}]}, **arrays)
    cases["model.npz"] = "unknown neuron model 'hodgkin'"
    _meta_npz(tmp_path / "size.npz", {**meta, "populations": [{**meta["populations"][0], "size": -1}]}, **arrays)
    cases["size.npz"] = "size = -1"
    for name, match in cases.items():
        with pytest.raises(NetworkFileError, match=match) as info:
            Network.load(tmp_path / name)
        assert name in str(info.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Network.load(tmp_path / "missing.npz")


def test_network_load_bit_flips(tmp_path):
    path = tmp_path / "net.npz"
    _rich_network().save(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        offsets = [info.header_offset + 30 + len(info.filename) for info in z.infolist()]
    rng = np.random.default_rng(0)
    for k in range(40):
        bad = bytearray(data)
        pos = int(offsets[k % len(offsets)] + rng.integers(0, 40))  # inside compressed member data
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        p = tmp_path / f"flip{k}.npz"
        p.write_bytes(bytes(bad))
        try:
            Network.load(p)
        except NetworkFileError as exc:
            assert str(p) in str(exc)


# ---------------------------------------------------------------- 3. read_flavell
def _flavell(path, traces=np.zeros((5, 3)), stamps=np.arange(5.0), reversals=None, group=None):
    with h5py.File(path, "w") as f:
        if group == "gcamp/trace_array":
            f.create_group(group)
        else:
            f["gcamp/trace_array"] = traces
        f["timing/timestamp_confocal"] = stamps
        if reversals is not None:
            f["behavior/reversal_events"] = reversals
    return path


@pytest.mark.parametrize("kwargs,match", [
    (dict(traces=np.zeros((0, 3)), stamps=np.zeros(0)), "zero frames"),
    (dict(group="gcamp/trace_array"), "is a Group, expected a dataset"),
    (dict(reversals=np.array([1, 3])), r"shape \(2, K\)"),
    (dict(reversals=np.array([[1], [9]])), r"reversal event 0 spans frames \[1, 9\)"),
    (dict(reversals=np.array([[-1], [2]])), "0 <= start < end <= 5"),
    (dict(stamps=np.array([0, 1, np.nan, 3, 4])), "finite"),
])
def test_read_flavell_bad_files(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        activity.read_flavell(_flavell(tmp_path / "x.h5", **kwargs))


def test_read_flavell_missing_file_and_valid_reversals(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        activity.read_flavell(tmp_path / "nope.h5")
    rec = activity.read_flavell(_flavell(tmp_path / "ok.h5", reversals=np.array([[0, 2], [2, 5]])))
    np.testing.assert_array_equal(rec.reversals, [[0, 2], [2, 4]])  # the end at T is the last frame's time


# ---------------------------------------------------------------- 4. causal_zscore with gaps
def test_causal_zscore_skips_nans():
    rng = np.random.default_rng(1)
    x = rng.normal(3, 2, (50, 2))
    gappy = x.copy()
    gappy[[5, 6, 20], 0] = np.nan
    z = activity.causal_zscore(gappy)
    assert np.isnan(z[[5, 6, 20], 0]).all() and not np.isnan(np.delete(z[:, 0], [5, 6, 20])).any()
    valid = np.delete(np.arange(50), [5, 6, 20])
    np.testing.assert_allclose(np.delete(z[:, 0], [5, 6, 20]), activity.causal_zscore(x[valid, :1])[:, 0], atol=1e-12)
    np.testing.assert_allclose(z[:, 1], activity.causal_zscore(x[:, 1:])[:, 0])  # the other column is untouched


def test_resample_normalize_on_a_gappy_recording(flavell_path):
    rec = activity.read_flavell(flavell_path)
    traces = rec.traces.copy()
    traces[100:110, 0] = np.nan
    gappy = activity.Recording(rec.source, rec.worm, traces, rec.time, rec.neurons, rec.is_labeled)
    z = gappy.resample().normalize().traces[:, 0]
    t = gappy.resample().time
    after = t > rec.time[115]
    assert np.isfinite(z[after]).all() and np.std(z[after]) > 0.3  # not silently zero after the gap
    assert np.isnan(z).sum() >= 10


@pytest.fixture
def flavell_path(shared_data):
    return sorted((shared_data / "celegans_activity").glob("flavell_nsm_*.h5"))[0]


# ---------------------------------------------------------------- 5. read_events range check
def test_garbage_shaped_like_nmnist_is_refused(tmp_path):
    rec = b"".join(bytes([65, 3, 0x80 | (t >> 16), (t >> 8) & 0xFF, t & 0xFF]) for t in range(0, 1000, 10))
    p = tmp_path / "garbage.bin"
    p.write_bytes(rec)
    with pytest.raises(EventFileError, match=r"x = 65.*outside the 34 x 34 sensor"):
        read_events(p)


def test_sensor_size_can_be_stated(shared_data):
    path = shared_data / "event_formats" / "sample.aedat4"
    assert read_events(path).size == 111954  # 320 x 240 from the header
    with pytest.raises(EventFileError, match="outside the 100 x 100 sensor"):
        read_events(path, sensor_size=(100, 100))


# ---------------------------------------------------------------- 6. Projection.from_dense
@pytest.mark.parametrize("shape", [(2, 3), (4, 5), (3,), (12,)])
def test_from_dense_checks_delay_shape(shape):
    w = np.ones((3, 4))
    with pytest.raises(ValueError, match=r"delays must be a scalar or shaped like the weights \(3, 4\)"):
        Projection.from_dense("a", "b", w, delays=np.ones(shape, int))
    d = np.arange(12).reshape(3, 4) % 5 + 1
    pr = Projection.from_dense("a", "b", w, delays=d)
    np.testing.assert_array_equal(pr.delays, d.ravel())


# ---------------------------------------------------------------- 7. CLI
BAD_ARGUMENTS = [
    (["cuba", "--n", "50"], "--n"),
    (["cuba", "--dt", "nan"], "--dt"),
    (["cuba", "--duration", "inf"], "--duration"),
    (["train", "nmnist", "--epochs", "0"], "--epochs"),
    (["train", "nmnist", "--limit", "0"], "--limit"),
    (["train", "nmnist", "--limit", "-5"], "--limit"),
    (["train", "nmnist", "--batch-size", "0"], "--batch-size"),
    (["train", "nmnist", "--time-bins", "0"], "--time-bins"),
    (["train", "nmnist", "--threads", "0"], "--threads"),
    (["train", "nmnist", "--lr", "nan"], "--lr"),
    (["train", "nmnist", "--resume", "--overwrite"], "exclude each other"),
    (["worm", "--dt", "nan"], "--dt"),
    (["worm", "--depolarization", "nan"], "--depolarization"),
    (["worm", "--sample", "-1"], "--sample"),
    (["worm", "--stim-start", "20"], "--stim-start"),
    (["atlas", "--connectomes", "cook2019_herm", "bogus"], "'bogus'"),
    (["atlas", "--connectomes", "cook2019_herm", "cook2019_herm"], "more than once"),
    (["atlas", "--dt", "nan"], "--dt"),
]


@pytest.mark.parametrize("argv,flag", BAD_ARGUMENTS)
def test_cli_bad_arguments_get_one_line(tmp_path, capsys, argv, flag):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main(argv + ["--out" if argv[0] != "atlas" else "--json", str(out / "m.json" if argv[0] == "atlas" else out)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and flag in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("stimulus,match", [("AVAL,AVAL", "AVAL more than once"), ("aval,AVAL", "AVAL more than once"),
                                             (",", "names no neuron"), ("touch-middle", "touch-anterior")])
def test_cli_worm_stimulus_errors(tmp_path, capsys, stimulus, match):
    out = tmp_path / "a" / "b"
    assert main(["worm", "--stimulus", stimulus, "--no-compare", "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a").exists()  # no empty output folders


def test_cli_worm_adaptive_run_says_so(tmp_path, capsys):
    assert main(["worm", "--duration", "1", "--stim-start", "0.2", "--stim-duration", "0.3", "--stimulus", "ASHL",
                 "--no-compare", "--no-progress", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "adaptive BDF2, first step 1 ms" in out and "at dt =" not in out
    assert "were its partners held at rest" in out


def test_cli_output_folder_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["cuba", "--n", "100", "--duration", "0.01", "--no-progress", "--out", str(f / "sub")]) == 2
    assert "error" in capsys.readouterr().err


# ---------------------------------------------------------------- 8. training runs
SMALL = ["--limit", "30", "--batch-size", "10", "--time-bins", "4", "--no-progress"]


def _train(data, out, *extra):
    return main(["train", "nmnist", "--data", str(data), "--out", str(out), *SMALL, *extra])


def test_existing_run_is_never_overwritten_silently(tmp_path, shared_data, capsys):
    data, out = shared_data / "nmnist_small", tmp_path / "run"
    assert _train(data, out, "--epochs", "1") == 0
    first = (out / "metrics.json").read_text()
    capsys.readouterr()
    assert _train(data, out, "--epochs", "1", "--seed", "3") == 2
    err = capsys.readouterr().err
    assert "already holds a training run" in err and "--overwrite" in err
    assert (out / "metrics.json").read_text() == first
    # resuming with other settings is refused, naming each difference
    assert _train(data, out, "--epochs", "2", "--seed", "3", "--lr", "0.01", "--resume") == 2
    err = capsys.readouterr().err
    assert "epochs: checkpoint 1, now 2" in err and "seed: checkpoint 0, now 3" in err and "lr: checkpoint 0.002, now 0.01" in err
    assert _train(data, out, "--epochs", "1", "--limit", "20", "--resume") == 2  # SMALL's --limit 30 comes first: 20 wins
    assert "limit: checkpoint 30, now 20" in capsys.readouterr().err
    assert _train(data, out, "--epochs", "1", "--overwrite", "--seed", "3") == 0
    assert json.loads((out / "metrics.json").read_text())[0]["train_loss"] != json.loads(first)[0]["train_loss"]


def test_problems_are_reported_before_data_loading(tmp_path, shared_data, monkeypatch, capsys):
    import circuits.nmnist.classifier

    def no_loading(*a, **k):
        raise AssertionError("data were loaded before the output folder was checked")
    monkeypatch.setattr(circuits.nmnist.classifier, "load_frames", no_loading)
    data = shared_data / "nmnist_small"
    assert _train(data, tmp_path / "empty", "--resume") == 2
    assert "no checkpoint at" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert _train(data, blocker / "run") == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists()


def test_interrupted_training_says_how_to_resume(tmp_path, shared_data, monkeypatch, capsys):
    import circuits.nmnist.classifier

    real_iter = circuits.nmnist.classifier._Loader.__iter__
    loaders = []  # kept alive, so that no two are the same object

    def interrupt_in_second_epoch(self):
        if self.gen is not None:  # a training loader: a new one per epoch (tqdm iterates it twice)
            if not any(o is self for o in loaders):
                loaders.append(self)
            if len(loaders) == 2:
                raise KeyboardInterrupt
        return real_iter(self)
    monkeypatch.setattr(circuits.nmnist.classifier._Loader, "__iter__", interrupt_in_second_epoch)
    data, out = shared_data / "nmnist_small", tmp_path / "run"
    assert _train(data, out, "--epochs", "3") == 130
    err = capsys.readouterr().err
    assert "Epochs 1-1 are saved" in err and "--resume" in err
    command = err.strip().splitlines()[-1].split()
    assert command[:3] == ["neurosim", "train", "nmnist"]
    monkeypatch.setattr(circuits.nmnist.classifier._Loader, "__iter__", real_iter)
    assert main(command[1:]) == 0  # the printed command continues the run
    assert [h["epoch"] for h in json.loads((out / "metrics.json").read_text())] == [1, 2, 3]


def test_interrupt_before_the_first_epoch_leaves_nothing(tmp_path, shared_data, monkeypatch, capsys):
    import circuits.nmnist.classifier

    def interrupt(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(circuits.nmnist.classifier._Loader, "__iter__", interrupt)
    out = tmp_path / "run"
    assert _train(shared_data / "nmnist_small", out, "--epochs", "2") == 130
    assert "nothing to resume" in capsys.readouterr().err
    assert not out.exists()


def test_model_state_is_written_atomically(tmp_path, shared_data, monkeypatch):
    from circuits.nmnist.classifier import train_nmnist

    real_write = Path.write_bytes

    def failing_write(self, data):
        if "model_state" in self.name:
            real_write(self, b"half")
            raise OSError("disk full")
        return real_write(self, data)
    monkeypatch.setattr(Path, "write_bytes", failing_write)
    out = tmp_path / "run"
    with pytest.raises(OSError, match="disk full"):
        train_nmnist(shared_data / "nmnist_small", out, epochs=1, batch_size=10, time_bins=4, limit=20, progress=False)
    assert not (out / "model_state.pt").exists() and not [p for p in out.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- 9. file modes
def test_atomic_writes_get_ordinary_modes(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        atomic_savez(tmp_path / "b.npz", {"x": np.zeros(2)})
        assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o644
        assert stat.S_IMODE(os.stat(tmp_path / "b.npz").st_mode) == 0o644
        os.chmod(tmp_path / "a.txt", 0o640)
        atomic_write_text(tmp_path / "a.txt", "y")  # an existing file keeps its mode, as with open()
        assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o640
        os.umask(0o077)
        atomic_write_text(tmp_path / "c.txt", "x")
        assert stat.S_IMODE(os.stat(tmp_path / "c.txt").st_mode) == 0o600
    finally:
        os.umask(old)


# ---------------------------------------------------------------- 10. smaller items
def _small_results():
    net = _rich_network()
    return Simulator(net, dt=1e-4, seed=0).run(0.02, [SpikeMonitor("lif")])


def test_figures_use_the_suffix_format(tmp_path):
    res = _small_results()
    res.plot_raster(tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes()[:4] == b"%PDF"
    res.plot_raster(tmp_path / "r.svg")
    assert b"<svg" in (tmp_path / "r.svg").read_bytes()[:500]
    with pytest.raises(ValueError, match="suffix must name an image format"):
        res.plot_raster(tmp_path / "r.xyz")
    assert not (tmp_path / "r.xyz").exists()


@pytest.mark.parametrize("fraction", [-0.2, 0, 1, 1.5, float("nan")])
def test_split_fraction_is_checked(shared_data, fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        NMNISTSmall(shared_data / "nmnist_small").split(fraction)


def test_nan_input_to_spiking_layers_is_refused():
    x = torch.ones(6, 2, 3)
    x[4, 1, 0] = float("nan")
    for layer in (snn.CubaLIF(), snn.LIF(), snn.LI()):
        with pytest.raises(ValueError, match="first at time step 4 of 6"):
            layer(x)
        with pytest.raises(ValueError, match="NaN or infinite"):
            layer.step(x[4])
    x[4, 1, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        snn.CubaLIF()(x.double())


def test_malformed_connectome_cache_is_rebuilt(tmp_path, monkeypatch):
    import connectomes
    from connectomes.datasets import _cache_key

    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path))
    path = tmp_path / "connectomes" / f"varshney2011-{_cache_key()}.npz"
    atomic_savez(path, {"chemical": np.zeros((3, 3)), "gap": np.zeros((3, 3)), "present": np.zeros(3, bool)})
    con = connectomes.load("varshney2011")
    assert con.chemical.shape == (302, 302) and con.summary()["chemical_synapses"] == 6394
    with np.load(path) as z:
        assert z["chemical"].shape == (302, 302)  # the cache file was rewritten


def test_readme_snippet_runs_and_is_reproducible(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    snippet = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    outputs = []
    for _ in range(2):
        exec(compile(snippet, "README.md", "exec"), {})
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and float(outputs[0]) > 0
    assert (tmp_path / "runs" / "raster.png").read_bytes()[:4] == b"\x89PNG"
