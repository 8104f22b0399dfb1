"""Issue #29, silent wrong results: damaged checkpoints and records, two writers in one
folder, and values beyond a fixed-point format are caught, never used.

Hostile inputs fed here, per area:

* checkpoints and records (item 7): for each of the four training commands (``train
  nmnist``, ``hdsnn``, ``astro-memory``, ``hlop``) a checkpoint with 16 flipped bytes, one
  with an impossible epoch (-5, properly checksummed) and one with NaN weights (12); HD-SNN
  trained weights with NaN and an edited ``settings.json`` (2); a sweep point record with a
  changed digit (1); a checkpoint without a checksum (loads with a warning) and one of
  random bytes (2): 17;
* one folder, two writers (item 8): a training, a sweep and a PyNN export into a folder
  another process holds (3), a stale lock left by a killed process (1), two real trainings
  started together into one folder (1): 5;
* fixed-point range (item 9): a 1e-4 A weight, v0 = +100 V and a 1 mA bias on the s16.15
  engine, a run whose synaptic current overflows during the run, a Loihi bias beyond the
  13-bit mantissa x 2**7 and an initial voltage beyond 24 bits, ``LoihiLimits`` with 0 and
  -1 neurons per core, ``export_pynn`` with dt = 0, duration = -1 and a NaN dt: 11.

33 hostile inputs in all.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from neurosim import CubaLIF, CurrentInjection, Network, Population, Projection, SpikeSource
from neurosim.cli import main
from neurosim.integrity import CorruptFileError, load_torch, save_torch, write_checked_json
from neurosim.runlock import LOCK_NAME, OutputLockedError, folder_lock

ROOT = Path(__file__).resolve().parents[1]

# each command with tiny settings; the checkpoint it writes after its first epoch/iteration
COMMANDS = {
    "nmnist": (["--limit", "20", "--batch-size", "10", "--time-bins", "4", "--epochs", "2"], "checkpoint.pt"),
    "hdsnn": (["--movies", "4", "--test-movies", "1", "--epochs", "2"], "checkpoint.pt"),
    "astro-memory": (["--models", "amsu", "--delays", "5", "--hidden", "6", "--iterations", "4", "--batch-size", "4"],
                     "amsu_D5/checkpoint.pt"),
    "hlop": (["--method", "baseline", "--tasks", "2", "--train-size", "500", "--epochs", "2"], "baseline/checkpoint.pt"),
}


def _train(task, out, *extra):
    args, _ = COMMANDS[task]
    return main(["train", task, "--out", str(out), "--no-progress", *args, *extra])


@pytest.fixture(scope="module")
def stopped_runs(tmp_path_factory):
    """One run per training command, stopped after its first epoch (iteration)."""
    base = tmp_path_factory.mktemp("runs")
    for task in COMMANDS:
        assert _train(task, base / task, "--stop-after", "1") == 0
    return base


def _copy_run(stopped_runs, task, dest):
    import shutil

    shutil.copytree(stopped_runs / task, dest)
    return dest / COMMANDS[task][1]


def _flip_bytes(path: Path, n: int = 16, seed: int = 0):
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(seed)
    # inside the payload's tensor data (the middle of the file), not the zip directory
    for pos in rng.choice(np.arange(len(data) // 4, 3 * len(data) // 4), n, replace=False):
        data[pos] ^= 0x5A
    path.write_bytes(bytes(data))


def _rewrite(path: Path, edit):
    """Load the checkpoint, apply ``edit`` and save it again with a valid checksum: damage
    that a checksum cannot see, only a check of the contents."""
    state = load_torch(path)
    edit(state)
    save_torch(path, state)


def _nan_weights(state):
    weights = state["model"]
    key = next(k for k, v in weights.items() if v.is_floating_point())
    weights[key] = torch.full_like(weights[key], float("nan"))


def _bad_epoch(state):
    if "progress" in state:  # hlop keeps (stage, epoch) as JSON
        progress = json.loads(state["progress"])
        progress["epoch"] = -5
        state["progress"] = json.dumps(progress)
    else:
        state["epoch"] = -5


@pytest.mark.parametrize("task", list(COMMANDS))
@pytest.mark.parametrize("damage,match", [("flip", "is damaged"),
                                          ("epoch", "epoch -5|epoch = -5"),
                                          ("nan", "holds NaN or infinite values")])
def test_a_damaged_checkpoint_is_never_resumed(stopped_runs, tmp_path, capsys, task, damage, match):
    import re

    ckpt = _copy_run(stopped_runs, task, tmp_path / "run")
    before = ckpt.read_bytes()
    if damage == "flip":
        _flip_bytes(ckpt)
    else:
        _rewrite(ckpt, _nan_weights if damage == "nan" else _bad_epoch)
    assert ckpt.read_bytes() != before
    assert _train(task, tmp_path / "run", "--resume") == 2
    err = capsys.readouterr().err
    assert re.search(match, err) and str(ckpt) in err, err


def test_nan_trained_weights_and_edited_settings_are_refused(stopped_runs, tmp_path, capsys):
    from circuits.hdsnn.task import load_run

    run = tmp_path / "hd"
    _copy_run(stopped_runs, "hdsnn", run)
    settings = (run / "settings.json").read_text()
    (run / "settings.json").write_text(settings.replace('"n_delays": ', '"n_delays": 1'))
    with pytest.raises(CorruptFileError, match="settings.json is damaged"):
        load_run(run)
    (run / "settings.json").write_text(settings)
    state = load_torch(run / "model_state.pt")
    state = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in state.items()}
    save_torch(run / "model_state.pt", state)
    assert main(["eval", "hdsnn", "--run", str(run), "--prune", "1", "--no-progress"]) == 2
    assert "holds NaN or infinite values" in capsys.readouterr().err


def test_a_damaged_sweep_record_is_run_again(tmp_path):
    from neurosim.sweep import SweepSpec, read_points, register_task, run_sweep

    register_task("double", _double)
    spec = SweepSpec("double", grid={"x": [1, 2, 3]})
    first = run_sweep(spec, tmp_path, n_workers=1, progress=False)
    record = sorted((tmp_path / "points").glob("*.json"))[0]
    text = record.read_text()
    key = json.loads(text)["key"]
    record.write_text(text.replace('"y": ', '"y": 9'))  # a changed digit, still valid JSON
    with pytest.warns(UserWarning, match="is damaged"):
        assert len(read_points(tmp_path)) == 2
    with pytest.warns(UserWarning, match="is damaged"):
        again = run_sweep(spec, tmp_path, n_workers=1, progress=False, resume=True)
    assert again["y"].tolist() == first["y"].tolist() == [2, 4, 6]
    assert json.loads(record.read_text())["key"] == key  # rewritten by the rerun


def _double(params):
    return {"y": 2 * params["x"]}


def test_a_checkpoint_without_a_checksum_loads_with_a_warning(tmp_path):
    torch.save({"model": {"w": torch.ones(2)}, "epoch": 1}, tmp_path / "old.pt")
    with pytest.warns(UserWarning, match="carries no checksum"):
        assert load_torch(tmp_path / "old.pt")["epoch"] == 1
    (tmp_path / "junk.pt").write_bytes(os.urandom(300))
    with pytest.raises(CorruptFileError, match="junk.pt is damaged or not a PyTorch file"):
        load_torch(tmp_path / "junk.pt")


# ---------------------------------------------------------------- 8. one writer per folder
HOLDER = ("import sys, time\n"
          "from neurosim.runlock import folder_lock\n"
          "with folder_lock(sys.argv[1]):\n"
          "    print('locked', flush=True)\n"
          "    time.sleep(600)\n")


@pytest.fixture
def held_folder(tmp_path):
    folder = tmp_path / "busy"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "locked"
    yield folder, proc
    proc.kill()
    proc.wait()


def test_a_folder_in_use_is_refused_by_training_sweeps_and_exports(held_folder, shared_data, tmp_path, capsys):
    folder, proc = held_folder
    assert _train("nmnist", folder, "--data", str(shared_data / "nmnist_small")) == 2
    assert f"in use by another neurosim process (pid {proc.pid}" in capsys.readouterr().err
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"task": "cuba", "base": {"n": 100, "duration": 0.01}, "grid": {"seed": [0]}}))
    assert main(["sweep", str(spec), "--out", str(folder), "--no-progress"]) == 2
    assert f"pid {proc.pid}" in capsys.readouterr().err
    from hardware.spinnaker.pynn_export import export_pynn

    net = Network([Population("p", CubaLIF(), 2)])
    with pytest.raises(OutputLockedError, match=f"pid {proc.pid}"):
        export_pynn(net, folder, 0.01, 1e-3)
    assert sorted(p.name for p in folder.iterdir()) == [LOCK_NAME]  # nothing was written


def test_a_stale_lock_of_a_killed_process_is_taken_over(held_folder, shared_data, capsys):
    folder, proc = held_folder
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (folder / LOCK_NAME).exists()  # left behind, but no longer held
    assert _train("nmnist", folder, "--data", str(shared_data / "nmnist_small"), "--stop-after", "1") == 0
    assert not (folder / LOCK_NAME).exists() and (folder / "checkpoint.pt").exists()


def test_two_trainings_started_together_into_one_folder_leave_one_run(tmp_path, shared_data):
    out = tmp_path / "shared_out"
    cmd = [sys.executable, "-m", "neurosim.cli", "train", "nmnist", "--data", str(shared_data / "nmnist_small"), "--out", str(out),
           "--no-progress", *COMMANDS["nmnist"][0]]
    procs = [subprocess.Popen([*cmd, "--seed", str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for seed in (0, 1)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, err in results if rc == 2)
    assert "in use by another neurosim process" in loser or "already holds a training run" in loser
    winner_seed = next(seed for seed, (rc, _) in zip((0, 1), results) if rc == 0)
    assert json.loads(load_torch(out / "checkpoint.pt")["settings"])["seed"] == winner_seed


# ---------------------------------------------------------------- 9. fixed-point ranges
def _one_synapse_network(weight=1e-9, v0=None, bias=None, n_src=1):
    pop = Population("p", CubaLIF(), 1, {"v": v0} if v0 is not None else {})
    src = SpikeSource("s", n_src, np.full(n_src, 0.002), np.arange(n_src))
    inputs = [CurrentInjection("p", bias)] if bias is not None else []
    return Network([pop], [src], [Projection.from_dense("s", "p", np.full((n_src, 1), weight), name="w")], inputs=inputs)


@pytest.mark.parametrize("kw,match", [({"weight": 1e-4}, "projection 'w': a weight \\(nA\\): 100000 is outside the s16.15 range"),
                                      ({"v0": 100.0}, "initial v \\(mV\\): 100000 is outside"),
                                      ({"bias": 1e-3}, "current injection into 'p' \\(nA\\): 1e\\+06 is outside")])
def test_values_beyond_s16_15_are_refused_at_mapping(kw, match):
    from hardware.spinnaker import Machine, map_network
    from hardware.spinnaker.simulate import simulate_fixed

    net = _one_synapse_network(**kw)
    with pytest.raises(ValueError, match=match):
        simulate_fixed(net, map_network(net, Machine.board()), 0.01)


def test_an_overflow_during_the_run_is_reported_with_its_step():
    from hardware.spinnaker import Machine, map_network
    from hardware.spinnaker.simulate import simulate_fixed

    net = _one_synapse_network(weight=40e-6, n_src=2)  # two spikes of 40,000 nA arrive together: 80,000 > 65,536
    with pytest.raises(ValueError, match="s16.15 overflow at step 3 .*neuron 0 of 'p'"):
        simulate_fixed(net, map_network(net, Machine.board()), 0.01)


@pytest.mark.parametrize("value", [0, -1])
def test_loihi_limits_must_be_positive(value):
    from hardware.loihi.resources import LoihiLimits

    with pytest.raises(ValueError, match=f"neurons_per_core = {value} is invalid"):
        LoihiLimits(neurons_per_core=value)


@pytest.mark.parametrize("kw,match", [({"dt": 0}, "dt = 0 is invalid"), ({"duration": -1}, "duration = -1 is invalid"),
                                      ({"dt": float("nan")}, "dt = nan is invalid")])
def test_export_pynn_checks_dt_and_duration(tmp_path, kw, match):
    from hardware.spinnaker.pynn_export import export_pynn

    args = {"duration": 0.1, "dt": 1e-3, **kw}
    with pytest.raises(ValueError, match=match):
        export_pynn(_one_synapse_network(), tmp_path / "out", **args)
    assert not (tmp_path / "out").exists()


def test_loihi_biases_and_initial_voltages_beyond_their_formats_are_refused():
    from hardware.loihi.quantize import map_network, quantize

    model = CubaLIF(tau_mem=2e-3, t_ref=0.0, v_reset=-70e-3)
    strong = Network([Population("p", model, 1)], inputs=[CurrentInjection("p", 1e-9)])  # 0.4 thresholds per step
    with pytest.raises(ValueError, match="population 'p': neuron 0's bias .* is beyond Loihi's 13-bit bias mantissa"):
        quantize(map_network(strong, 1e-3, 10), threshold_bits=16)
    quantize(map_network(strong, 1e-3, 10), threshold_bits=12)  # representable at a coarser scale
    high = Network([Population("p", model, 1, {"v": 1.0})])  # 1.07 V above rest: 54 thresholds
    with pytest.raises(ValueError, match="initial voltage 1.07 V above rest is beyond Loihi's 24-bit voltage"):
        quantize(map_network(high, 1e-3, 10), threshold_bits=14)
