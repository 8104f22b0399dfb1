"""Issue #29, clear errors: the inputs that gave a traceback, a misleading message or a
silently wrong value now get one documented error that names what was wrong (and exit code
2 in the CLI).

Hostile inputs fed here, per area:

* event files (item 10): an AEDAT 4 file with one corrupted timestamp, a DAT file without
  geometry whose event lies at x = 16153, the same file with a sensor size given (read), a
  folder given as a file, a bad ``sensor_size``: 5;
* numerical inputs (item 11): an initial i_e of 1e39 A in float32, a current function
  returning 1e39 A, a state that turns NaN during a run, ``nn.CubaLIF`` with slope -5, 0
  and NaN, ``moving_image_movie`` with fps 0, NaN fps and duration -1, a stimulus that
  names a neuron twice: 10;
* unclear errors (item 12): output paths under an existing file (``Network.save``,
  ``export_pynn``, ``sweep --out``, ``deploy spinnaker --pynn``, ``deploy loihi --out``),
  ``deploy loihi`` with random bytes and with another model's weights, NIR files with
  malformed ``neurosim_model`` JSON, ``neurosim_dt = 0``, a NaN ``Delay`` and an unknown
  node type, a float64 graph run on float32 input, ``quantize`` with a 1e300 weight,
  ``map_network(n_steps=10**10)``, a sweep spec without a task, a task returning a list,
  a full disk during training, a run killed before its first checkpoint, a NaN checkpoint,
  ``read_homogenized`` of a missing file, and the exported PyNN script with a one-neuron
  spike source run under ``pyNN.brian2``: 21.

36 hostile inputs in all.
"""
import errno
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import neurosim.nn as snn
from neurosim import CubaLIF, CurrentInjection, Network, Population, Projection, Simulator, SpikeSource
from neurosim.cli import main
from neurosim.events import EventFileError, moving_image_movie, read_events
from neurosim.integrity import load_torch, save_torch

ROOT = Path(__file__).resolve().parents[1]
NMNIST = ["--limit", "20", "--batch-size", "10", "--time-bins", "4", "--no-progress"]


# ---------------------------------------------------------------- 10. event files
def test_a_corrupted_aedat4_timestamp_is_found(tmp_path, shared_data):
    data = bytearray((shared_data / "event_formats" / "sample.aedat4").read_bytes())
    data[2391] ^= 1 << 6  # a byte of an LZ4 literal holding a timestamp: the file still decodes
    bad = tmp_path / "corrupt.aedat4"
    bad.write_bytes(bytes(data))
    with pytest.raises(EventFileError, match=r"time goes backwards at event \d+ \(t = \d+ us, then \d+ us\)"):
        read_events(bad)


def _dat(path, events):
    import struct

    header = b"% Date 2020-01-01 00:00:00\n% end\n" + bytes([0x0C, 8])  # no Width/Height/geometry line
    path.write_bytes(header + b"".join(struct.pack("<II", t, x | (y << 14) | (p << 28)) for t, x, y, p in events))
    return path


def test_dat_events_off_any_plausible_sensor_are_refused(tmp_path):
    f = _dat(tmp_path / "nogeometry.dat", [(10, 5, 3, 1), (20, 16153, 7, 0), (30, 6, 4, 1)])
    with pytest.raises(EventFileError, match=r"event 1 \(x = 16153, y = 7, p = 0\) lies outside any plausible sensor"):
        read_events(f)
    ev = read_events(f, sensor_size=(20000, 100))  # the user states a sensor that large: then it is read
    assert ev["x"].tolist() == [5, 16153, 6]
    with pytest.raises(ValueError, match="sensor_size = .* is invalid"):
        read_events(f, sensor_size=(0, 5))


def test_a_folder_is_not_an_event_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        read_events(tmp_path)


# ---------------------------------------------------------------- 11. numerical inputs
def test_float32_overflow_is_refused_before_the_run():
    net = Network([Population("p", CubaLIF(), 3, {"i_e": 1e39})])
    with pytest.raises(ValueError, match="population 'p': initial i_e: 1e\\+39 overflows float32 .*dtype=numpy.float64"):
        Simulator(net, dtype=np.float32)
    Simulator(net, dtype=np.float64)  # representable there
    net = Network([Population("p", CubaLIF(), 3)], inputs=[CurrentInjection.from_function("p", lambda t: np.full(t.shape, 1e39))])
    with pytest.raises(FloatingPointError, match="injected current reaches 1e\\+39 A .* beyond float32"):
        Simulator(net, dtype=np.float32).run(0.01)


def test_a_state_that_turns_nan_stops_the_run_naming_the_population():
    # every weight is representable in float32, but two spikes arriving together overflow
    # the excitatory current to +inf and the inhibitory one to -inf: the membrane is NaN
    src = SpikeSource("s", 4, np.full(4, 0.002), np.arange(4))
    w = np.array([[3e38], [3e38], [0.0], [0.0]])
    net = Network([Population("p", CubaLIF(), 1)], [src],
                  [Projection.from_dense("s", "p", w, name="e"), Projection.from_dense("s", "p", -w[::-1], target="inh", name="i")])
    with pytest.raises(FloatingPointError, match="population 'p': v of neuron 0 became non-finite between step 0 and step 100"):
        Simulator(net, dt=1e-4, dtype=np.float32).run(0.01)
    Simulator(net, dt=1e-4, dtype=np.float64).run(0.01)  # float64 holds 6e38: no error


@pytest.mark.parametrize("slope", [-5, 0, float("nan")])
def test_surrogate_slope_must_be_positive(slope):
    with pytest.raises(ValueError, match="slope = .* is invalid"):
        snn.CubaLIF(slope=slope)


@pytest.mark.parametrize("kw,match", [({"fps": 0}, "fps = 0 is invalid"), ({"fps": math.nan}, "fps = nan is invalid"),
                                      ({"duration": -1}, "duration = -1 is invalid")])
def test_movie_settings_are_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        moving_image_movie(**kw)


def test_a_stimulus_naming_a_neuron_twice_is_refused(cook):
    from circuits.worm.model import build_worm, stimulate

    with pytest.raises(ValueError, match=r"stimulus neurons \['AVAL'\] are named more than once"):
        stimulate(build_worm(cook), ["AVAL", "AVAL"], amplitude=1e-12)


# ---------------------------------------------------------------- 12. output paths
@pytest.fixture
def a_file(tmp_path):
    f = tmp_path / "file.npz"
    f.write_text("I am a file")
    return f


def test_outputs_below_a_file_are_refused_before_any_work(a_file, tmp_path, shared_data, capsys):
    net = Network([Population("p", CubaLIF(), 2)])
    with pytest.raises(NotADirectoryError, match=f"cannot write {a_file}/x.npz: {a_file} is a file, not a folder"):
        net.save(a_file / "x.npz")
    from hardware.spinnaker.pynn_export import export_pynn

    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        export_pynn(net, a_file, 0.01, 1e-3)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"task": "cuba", "grid": {"seed": [0]}}))
    for argv in (["sweep", str(spec), "--out", str(a_file)],
                 ["deploy", "spinnaker", "cuba", "--pynn", str(a_file / "sub")],
                 ["deploy", "loihi", str(tmp_path), "--out", str(a_file)]):
        t = time.perf_counter()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is a file, not a folder" in err, err
        assert time.perf_counter() - t < 5  # refused before the work, not after it


@pytest.fixture(scope="module")
def nmnist_run(tmp_path_factory, shared_data):
    run = tmp_path_factory.mktemp("nmnist") / "run"
    assert main(["train", "nmnist", "--data", str(shared_data / "nmnist_small"), "--out", str(run), "--epochs", "1", *NMNIST]) == 0
    return run


def test_deploy_loihi_with_damaged_or_foreign_weights(nmnist_run, tmp_path, capsys, shared_data):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(nmnist_run, run)
    (run / "model_state.pt").write_bytes(os.urandom(2000))
    argv = ["deploy", "loihi", str(run), "--data", str(shared_data / "nmnist_small"), "--out", str(tmp_path / "out"),
            "--samples", "2", "--lava-samples", "0", "--no-progress"]
    assert main(argv) == 2
    assert "trained weights" in capsys.readouterr().err
    save_torch(run / "model_state.pt", {"layer.weight": torch.zeros(3, 3)})  # sound file, another model
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "does not fit the classifier described by" in err and err.count("\n") == 1


# ---------------------------------------------------------------- 12. NIR files
def _graph_file(tmp_path, edit):
    from hardware.nir import network_to_nir, write_graph

    net = Network([Population("p", CubaLIF(), 2)], [SpikeSource("s", 2, [0.001], [0])],
                  [Projection.from_dense("s", "p", np.full((2, 2), 1e-10), delays=2e-3, name="w")])
    graph = network_to_nir(net, 1e-3)
    edit(graph)
    return write_graph(graph, tmp_path / "g.nir")


def _set_model_json(graph):
    graph.nodes["p"].metadata["neurosim_model"] = "{not json"


def _set_dt_zero(graph):
    graph.metadata["neurosim_dt"] = 0.0


def _set_nan_delay(graph):
    delay = next(n for n in graph.nodes.values() if type(n).__name__ == "Delay")
    delay.delay = np.full_like(delay.delay, np.nan)


@pytest.mark.parametrize("edit,match", [(_set_model_json, "node 'p': its neurosim metadata .* is malformed"),
                                        (_set_dt_zero, "neurosim_dt = 0.0 is not a time step > 0 s"),
                                        (_set_nan_delay, r"\(Delay\): delay has 2 NaN or infinite values")])
def test_malformed_nir_graphs_name_the_problem(tmp_path, edit, match):
    from hardware.nir import NIRConversionError, network_from_nir

    with pytest.raises(NIRConversionError, match=match):
        network_from_nir(_graph_file(tmp_path, edit))


def test_an_unknown_nir_node_type_is_named(tmp_path):
    import h5py

    from hardware.nir import NIRFileError, read_graph

    path = _graph_file(tmp_path, lambda g: None)
    with h5py.File(path, "a") as h:
        del h["node/nodes/p/type"]
        h["node/nodes/p/type"] = np.bytes_("Hodgkin")
    with pytest.raises(NIRFileError, match="node 'node/nodes/p' has type 'Hodgkin', which NIR 1.x does not define"):
        read_graph(path)


def test_a_float64_graph_runs_on_float32_input(tmp_path):
    import nir

    from hardware.nir import from_nir

    n = 3
    graph = nir.NIRGraph(nodes={
        "in": nir.Input(np.array([n])), "fc": nir.Linear(weight=np.eye(n, dtype=np.float64)),
        "lif": nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n)),
        "out": nir.Output(np.array([n]))}, edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])
    model = from_nir(graph, dt=1e-3)
    out = model(torch.ones(5, 1, n))
    assert out.dtype == torch.float32 and out.shape == (5, 1, n)


# ---------------------------------------------------------------- 12. Loihi mapping
def test_loihi_quantize_and_map_refuse_what_they_cannot_hold():
    from hardware.loihi.quantize import map_network, quantize

    pop = Population("p", CubaLIF(t_ref=0.0, v_reset=-70e-3), 2)
    net = Network([pop], [SpikeSource("s", 2, [0.001], [0])], [Projection.from_dense("s", "p", np.full((2, 2), 1e300), name="w")])
    with pytest.raises(ValueError, match="projection 'w': weight .* is beyond any floating-point scale"):
        quantize(map_network(net, 1e-3, 10))
    t = time.perf_counter()
    with pytest.raises(ValueError, match="n_steps = 10,000,000,000 steps would be a table of"):
        map_network(net, 1e-3, 10**10)
    assert time.perf_counter() - t < 1


# ---------------------------------------------------------------- 12. sweeps
def _returns_a_list(params):
    return [1, 2]


def test_a_spec_without_a_task_and_a_task_returning_a_list(tmp_path):
    from neurosim.sweep import SweepSpec, register_task, run_sweep

    (tmp_path / "spec.toml").write_text('grid = {x = [1]}\n')
    with pytest.raises(ValueError, match="spec.toml: no 'task' field"):
        SweepSpec.load(tmp_path / "spec.toml")
    register_task("a_list", _returns_a_list)
    df = run_sweep(SweepSpec("a_list", grid={"x": [1]}, retries=0), tmp_path / "out", n_workers=1, progress=False)
    assert df["error"].iloc[0] == "TypeError: task 'a_list' returned a list; a task returns a dict of scalar metrics"


# ---------------------------------------------------------------- 12. training runs
def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, shared_data, monkeypatch, capsys):
    out = tmp_path / "run"
    data = ["--data", str(shared_data / "nmnist_small")]
    assert main(["train", "nmnist", *data, "--out", str(out), "--epochs", "2", "--stop-after", "1", *NMNIST]) == 0
    before = (out / "checkpoint.pt").read_bytes()
    real = Path.write_bytes

    def full(self, payload):
        if self.name.startswith(".checkpoint."):
            real(self, payload[: len(payload) // 3])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, payload)
    monkeypatch.setattr(Path, "write_bytes", full)
    assert main(["train", "nmnist", *data, "--out", str(out), "--epochs", "2", "--resume", *NMNIST]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and str(out / "checkpoint.pt") in err and "left as it was" in err
    assert (out / "checkpoint.pt").read_bytes() == before and not list(out.glob(".checkpoint.*"))


def test_a_run_killed_before_its_first_checkpoint_says_what_to_do(tmp_path, shared_data, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("[]")  # written just before the first checkpoint
    (out / ".checkpoint.abc123.tmp.pt").write_bytes(b"half a checkpoint")  # the killed write
    data = ["--data", str(shared_data / "nmnist_small")]
    assert main(["train", "nmnist", *data, "--out", str(out), "--epochs", "1", "--resume", *NMNIST]) == 2
    assert "stopped before its first checkpoint was complete" in capsys.readouterr().err
    assert main(["train", "nmnist", *data, "--out", str(out), "--epochs", "1", "--overwrite", *NMNIST]) == 0
    assert (out / "checkpoint.pt").is_file() and not list(out.glob(".checkpoint.*"))


def test_a_nan_checkpoint_is_blamed_on_the_file_not_the_input(nmnist_run, tmp_path, capsys, shared_data):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(nmnist_run, run)
    state = load_torch(run / "checkpoint.pt")
    state["model"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in state["model"].items()}
    state["settings"] = json.dumps({**json.loads(state["settings"]), "epochs": 2})
    save_torch(run / "checkpoint.pt", state)
    assert main(["train", "nmnist", "--data", str(shared_data / "nmnist_small"), "--out", str(run), "--epochs", "2", "--resume",
                 *NMNIST]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {run / 'checkpoint.pt'}" in err and "holds NaN" in err and "input has NaN" not in err


# ---------------------------------------------------------------- 12. recordings, PyNN
def test_read_homogenized_of_a_missing_file(tmp_path):
    from connectomes.activity import read_homogenized

    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_homogenized(tmp_path / "missing.parquet")


def test_the_pynn_script_runs_with_a_one_neuron_spike_source(tmp_path):
    from hardware.spinnaker.pynn_export import export_pynn

    net = Network([Population("p", CubaLIF(), 1)], [SpikeSource("s", 1, [0.002, 0.004], [0, 0])],
                  [Projection.from_dense("s", "p", np.full((1, 1), 2e-9), name="w")])
    script = export_pynn(net, tmp_path / "pynn", 0.01, 1e-3)
    res = subprocess.run([sys.executable, str(script), "pyNN.brian2", str(tmp_path / "spikes.npz")], capture_output=True,
                         text=True, timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    with np.load(tmp_path / "spikes.npz") as z:
        assert "s__times_ms" in z.files and z["s__times_ms"].tolist() == [2.0, 4.0]
