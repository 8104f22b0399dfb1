"""Sweeps on Dask (issue #13): a 100-point worm sweep on a 2-worker LocalCluster, failures
recorded, a killed worker loses nothing, --resume recomputes nothing, clear spec errors."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import circuits.reference.sweep  # noqa: F401 - registers cuba
import circuits.worm.sweep  # noqa: F401 - registers worm
import sweep_tasks  # tests/sweep_tasks.py, importable in the workers (they inherit sys.path)
from neurosim.sweep import SweepSpec, read_points, register_task, run_sweep

for _name in ("square", "flaky", "kill_worker_once"):
    register_task(_name, getattr(sweep_tasks, _name))


def _runs(log: Path) -> list:
    return [float(x) for x in log.read_text().split()] if log.exists() else []


def test_a_100_point_worm_sweep_on_two_workers(tmp_path):
    spec = SweepSpec("worm", base={"duration": 0.3, "stop": 0.3},
                     grid={"g_syn": [50e-12, 100e-12, 150e-12, 200e-12]},
                     random={"g_gap": {"low": 20e-12, "high": 300e-12, "log": True}}, samples=25, seed=1)
    df = run_sweep(spec, tmp_path, n_workers=2, progress=False)
    assert len(df) == 100 and (df["status"] == "ok").all() and df["point"].tolist() == list(range(100))
    assert {"g_syn", "g_gap", "duration", "stim_peak_mV", "n_responding", "AVAL_dv_mV"} <= set(df.columns)
    assert df["g_gap"].between(20e-12, 300e-12).all() and df["g_gap"].nunique() == 25
    # the metrics respond to the parameters: stronger gap coupling spreads the stimulus further
    assert df.groupby("g_syn").apply(lambda d: d["n_responding"].corr(d["g_gap"], method="spearman"), include_groups=False).min() > 0.5
    assert pd.read_parquet(tmp_path / "results.parquet").equals(df)
    assert len(read_points(tmp_path)) == 100


def test_a_point_that_raises_is_recorded_as_failed_with_its_message(tmp_path):
    log = tmp_path / "runs.log"
    spec = SweepSpec("square", base={"log": str(log), "bad": [3]}, grid={"x": [1, 2, 3, 4]}, retries=2)
    df = run_sweep(spec, tmp_path / "out", n_workers=2, progress=False)
    bad = df[df["x"] == 3].iloc[0]
    assert bad["status"] == "failed" and "RuntimeError: x = 3 is not allowed" in bad["error"]
    assert (df[df["x"] != 3]["status"] == "ok").all() and df[df["x"] != 3]["y"].tolist() == [1, 4, 16]
    assert _runs(log).count(3) == 3  # the first try and 2 retries


def test_transient_failures_are_retried(tmp_path):
    log = tmp_path / "runs.log"
    df = run_sweep(SweepSpec("flaky", base={"log": str(log)}, grid={"x": [1, 2, 3]}, retries=1), tmp_path / "out",
                   n_workers=1, progress=False)
    assert (df["status"] == "ok").all() and sorted(_runs(log)) == [1, 1, 2, 2, 3, 3]


def test_killing_a_worker_mid_sweep_loses_no_completed_result(tmp_path):
    log = tmp_path / "runs.log"
    spec = SweepSpec("kill_worker_once", base={"log": str(log), "victim": 7}, grid={"x": list(range(12))})
    df = run_sweep(spec, tmp_path / "out", n_workers=2, progress=False)
    assert (tmp_path / "killed").exists()  # the worker running x = 7 was killed
    assert (df["status"] == "ok").all() and df["y"].tolist() == [x * x for x in range(12)]
    assert _runs(log).count(7) == 2  # rescheduled once on a live worker
    assert len(read_points(tmp_path / "out")) == 12


def test_resume_recomputes_nothing_already_done(tmp_path):
    log = tmp_path / "runs.log"
    spec = SweepSpec("square", base={"log": str(log)}, grid={"x": list(range(8))})
    out = tmp_path / "out"
    first = run_sweep(spec, out, n_workers=2, progress=False)
    assert sorted(_runs(log)) == list(range(8))
    with pytest.raises(ValueError, match="already holds 8 finished points; pass resume=True"):
        run_sweep(spec, out, n_workers=2, progress=False)
    again = run_sweep(spec, out, n_workers=2, resume=True, progress=False)
    assert sorted(_runs(log)) == list(range(8)) and again.equals(first)
    # an interrupted sweep: only some points were written; resuming runs just the rest
    for f in sorted((out / "points").glob("*.json"))[:3]:
        f.unlink()
    (out / "results.parquet").unlink()
    third = run_sweep(spec, out, n_workers=2, resume=True, progress=False)
    assert len(_runs(log)) == 8 + 3 and third["y"].tolist() == first["y"].tolist()


def test_a_sweep_runs_on_an_existing_cluster_given_its_scheduler_address(tmp_path):
    from dask.distributed import LocalCluster

    log = tmp_path / "runs.log"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        df = run_sweep(SweepSpec("square", base={"log": str(log)}, grid={"x": [1, 2, 3]}), tmp_path / "out",
                       scheduler=cluster.scheduler_address, progress=False)
        assert len(cluster.scheduler.workers) == 1  # the cluster outlives the sweep
    assert df["y"].tolist() == [1, 4, 9]


def test_traces_are_saved_per_point(tmp_path):
    spec = SweepSpec("worm", base={"duration": 0.2, "stop": 0.2}, grid={"g_gap": [50e-12, 100e-12]},
                     traces=True)
    df = run_sweep(spec, tmp_path, n_workers=1, progress=False)
    for key in df["key"]:
        with np.load(tmp_path / "traces" / f"{key}.npz") as z:
            assert z["dv_mV"].shape == (20, 302) and z["time_s"].shape == (20,)


def test_bad_specs_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="give a registered task name"):
        SweepSpec("rm -rf /")
    with pytest.raises(ValueError, match=r"random.g_gap: low = 2 and high = 1"):
        SweepSpec("a:b", random={"g_gap": {"low": 2, "high": 1}}, samples=3)
    with pytest.raises(ValueError, match=r"given twice"):
        SweepSpec("a:b", base={"x": 1}, grid={"x": [1, 2]})
    with pytest.raises(ValueError, match="random parameters need samples >= 1"):
        SweepSpec("a:b", random={"x": [1, 2]})
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "worm"\ngrid = {g_syn = [1e-10]}\nworkers = 3\n')
    with pytest.raises(ValueError, match=r"bad.toml: unknown fields \['workers'\]"):
        SweepSpec.load(bad)
    broken = tmp_path / "broken.json"
    broken.write_text('{"task": ')
    with pytest.raises(ValueError, match="broken.json: not a valid JSON sweep spec"):
        SweepSpec.load(broken)
    with pytest.raises(ValueError, match="unknown task 'nothing'; registered tasks: .*'worm'"):
        run_sweep(SweepSpec("nothing", grid={"x": [1]}), tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="task 'no_such_module:f' not found"):
        run_sweep(SweepSpec("no_such_module:f", grid={"x": [1]}), tmp_path / "o", progress=False, allow_module_tasks=True)
    with pytest.raises(ValueError, match=r"unknown worm sweep parameters \['g_sin'\]"):
        from circuits.worm.sweep import worm_point

        worm_point({"g_sin": 1e-10})


def test_sweep_command(tmp_path, capsys):
    from neurosim.cli import main

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"task": "worm", "base": {"duration": 0.2, "stop": 0.2}, "grid": {"g_syn": [50e-12, 100e-12]}}))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress"]) == 0
    assert "2 of 2 points done, 0 failed" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_the_worm_sweep_runs_on_the_fitted_parameters(tmp_path, capsys):
    """``--params fitted`` (or base ``params``): every point starts from the shipped fit, its
    grid values overriding the fit's; the same point as a direct simulation of
    ``build_worm(params="fitted", g_syn=...)``, and not Kunert et al.'s result."""
    from circuits.worm.sweep import worm_point
    from neurosim.cli import main

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"task": "worm", "base": {"duration": 0.3, "stop": 0.3}, "grid": {"g_syn": [80e-12]}}))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "fitted"), "--workers", "1", "--no-progress",
                 "--params", "fitted"]) == 0
    fitted = pd.read_parquet(tmp_path / "fitted" / "results.parquet").iloc[0]
    assert fitted["params"] == "fitted"
    direct = worm_point({"duration": 0.3, "stop": 0.3, "g_syn": 80e-12, "params": "fitted"})
    kunert = worm_point({"duration": 0.3, "stop": 0.3, "g_syn": 80e-12})
    assert fitted["stim_peak_mV"] == pytest.approx(direct["stim_peak_mV"], rel=1e-12)
    assert fitted["AVAL_dv_mV"] == pytest.approx(direct["AVAL_dv_mV"], rel=1e-12)
    assert abs(direct["stim_peak_mV"] - kunert["stim_peak_mV"]) > 0.1  # a different model
    capsys.readouterr()
    assert main(["sweep", str(spec), "--out", str(tmp_path / "bad"), "--workers", "1", "--params", str(tmp_path / "no.json")]) == 2
    assert "no such parameter file" in capsys.readouterr().err
    cuba = tmp_path / "cuba.json"
    cuba.write_text(json.dumps({"task": "cuba", "grid": {"n": [100]}}))
    with pytest.raises(SystemExit):
        main(["sweep", str(cuba), "--out", str(tmp_path / "c"), "--params", "fitted"])
    assert "--params sets the worm's parameter set" in capsys.readouterr().err


def test_the_readme_spec_is_valid(tmp_path):
    """The sweep spec shown in the guide (docs/guide/distributed.md) parses and gives its 100 points."""
    readme = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "distributed.md").read_text()
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "worm.toml").write_text(block)
    spec = SweepSpec.load(tmp_path / "worm.toml")
    assert spec.task == "worm" and spec.n_points == len(spec.points()) == 100


class _FakeFuture:
    def __init__(self, status, result=None, exc=None, status_after=None):
        self.status, self._result, self._exc, self._after = status, result, exc, status_after

    def result(self):
        if self._exc is not None:
            self.status = self._after or self.status
            raise self._exc
        return self._result

    def exception(self):
        return self._exc


def test_a_result_lost_with_its_worker_is_awaited_again_not_recorded_as_failed():
    """A point computed on a worker that dies before its result is fetched is recomputed by
    the scheduler; the sweep waits for it (this raced once in CI: the point was recorded as
    failed)."""
    from concurrent.futures import CancelledError

    from neurosim.sweep.run import _outcome

    assert _outcome(_FakeFuture("finished", {"metrics": {}})) == {"metrics": {}}
    assert _outcome(_FakeFuture("lost")) is None and _outcome(_FakeFuture("pending")) is None
    assert _outcome(_FakeFuture("finished", exc=OSError("worker gone"), status_after="lost")) is None
    boom = RuntimeError("boom")
    assert _outcome(_FakeFuture("error", exc=boom)) is boom
    assert isinstance(_outcome(_FakeFuture("cancelled")), CancelledError)
