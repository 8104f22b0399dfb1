"""Parameter sweeps and ensembles on Dask: many independent simulations, each a task.

A sweep is a base configuration plus a grid (every combination of the listed values) and/or
random samples of parameters, run by a task function ``fn(params) -> {metric: scalar, ...}``
(named ``"module:function"``; a ``"traces"`` entry of arrays, if returned, is saved beside
the table). Each point runs as a Dask task on a ``dask.distributed`` cluster: by default a
``LocalCluster`` of single-threaded worker processes on this machine, or any running
cluster given its scheduler address (``tcp://host:port``), whose workers must have
neurosim installed.

Fault tolerance: a point that raises is retried ``retries`` times (Dask's task retries),
then recorded as failed with its error; a worker that dies mid-task has its tasks moved to
other workers by the scheduler (up to ``distributed.scheduler.allowed-failures``, then the
point is recorded as failed). Every finished point is written at once, atomically, to
``points/<key>.json`` under the output folder, so an interrupted sweep loses nothing it
finished; ``resume=True`` skips every point already recorded as done. The table of all
points, one row each (parameters, metrics, status, error, seconds), is written atomically
as ``results.parquet`` (pandas + pyarrow) at the end and when interrupted.
"""
from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_savez, atomic_write, atomic_write_json

__all__ = ["SweepSpec", "run_sweep", "load_task", "read_points"]


def _check_values(where: str, values) -> list:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{where}: expected a non-empty list of values, got {values!r}")
    for v in values:
        if not isinstance(v, (int, float, str, bool)) or (isinstance(v, float) and not math.isfinite(v)):
            raise ValueError(f"{where}: value {v!r} is not a finite number, string or boolean")
    return list(values)


@dataclass(frozen=True)
class SweepSpec:
    """What to run: ``task`` (``"module:function"``), ``base`` parameters for every point,
    ``grid`` ``{name: [values]}`` (every combination), ``random`` ``{name: {"low", "high",
    "log": bool} or [choices]}`` sampled ``samples`` times with ``seed`` (combined with
    every grid point), ``retries`` per point, ``traces``: keep the arrays a task returns
    under ``"traces"``. Raises ``ValueError`` naming the field for anything else."""

    task: str
    base: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    random: dict = field(default_factory=dict)
    samples: int = 0
    seed: int = 0
    retries: int = 2
    traces: bool = False

    def __post_init__(self):
        if not isinstance(self.task, str) or ":" not in self.task:
            raise ValueError(f"task = {self.task!r} is invalid: give 'module:function' (e.g. 'circuits.sweeps:worm_point')")
        for name in ("base", "grid", "random"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name} must be a table of parameter names, got {type(getattr(self, name)).__name__}")
        for k, values in self.grid.items():
            _check_values(f"grid.{k}", values)
        for k, rule in self.random.items():
            if isinstance(rule, dict):
                if set(rule) - {"low", "high", "log"} or not {"low", "high"} <= set(rule):
                    raise ValueError(f"random.{k}: give low, high and optionally log, got {sorted(rule)}")
                lo, hi = rule["low"], rule["high"]
                if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi)) or lo >= hi:
                    raise ValueError(f"random.{k}: low = {lo!r} and high = {hi!r} must be finite numbers with low < high")
                if rule.get("log") and lo <= 0:
                    raise ValueError(f"random.{k}: a log-uniform range needs low > 0, got {lo}")
            else:
                _check_values(f"random.{k}", rule)
        both = (set(self.grid) | set(self.random)) & set(self.base) or set(self.grid) & set(self.random)
        if both:
            raise ValueError(f"parameters {sorted(both)} are given twice (base, grid and random must not overlap)")
        for name, lo in (("samples", 0), ("seed", 0), ("retries", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} = {v!r} is invalid: must be an integer >= {lo}")
        if self.random and self.samples < 1:
            raise ValueError("random parameters need samples >= 1")

    @classmethod
    def load(cls, path, aliases: dict | None = None) -> "SweepSpec":
        """A spec from a ``.toml`` or ``.json`` file with the fields above; ``aliases`` maps
        short task names to ``"module:function"`` (the CLI passes ``circuits.sweeps.TASKS``:
        ``worm``, ``cuba``). Raises ``ValueError`` naming the file for unreadable files and
        unknown or bad fields."""
        path = Path(path)
        try:
            text = path.read_text()
            raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except FileNotFoundError:
            raise ValueError(f"{path}: no such sweep spec") from None
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a valid {'TOML' if path.suffix == '.toml' else 'JSON'} sweep spec: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: a sweep spec is a table of fields")
        unknown = set(raw) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"{path}: unknown fields {sorted(unknown)}; allowed: {sorted(cls.__dataclass_fields__)}")
        if aliases and raw.get("task") in aliases:
            raw = {**raw, "task": aliases[raw["task"]]}
        try:
            return cls(**raw)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def points(self) -> list[dict]:
        """Every point's parameters (base merged), grid-major, in a fixed order."""
        names = list(self.grid)
        combos = list(itertools.product(*(self.grid[k] for k in names))) or [()]
        draws = [{}]
        if self.random:
            rng = np.random.default_rng(self.seed)
            draws = []
            for _ in range(self.samples):
                d = {}
                for k, rule in self.random.items():
                    if isinstance(rule, dict):
                        lo, hi = float(rule["low"]), float(rule["high"])
                        d[k] = float(np.exp(rng.uniform(math.log(lo), math.log(hi)))) if rule.get("log") else float(rng.uniform(lo, hi))
                    else:
                        d[k] = rule[int(rng.integers(len(rule)))]
                draws.append(d)
        return [{**self.base, **dict(zip(names, combo)), **d} for combo in combos for d in draws]


def point_key(task: str, params: dict) -> str:
    """A stable name for a point: the hash of its task and parameters (resume matches
    points by it, not by position)."""
    blob = json.dumps({"task": task, "params": params}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def load_task(name: str):
    """The function named ``"module:function"``. Raises ``ValueError`` if it is missing."""
    module, _, func = name.partition(":")
    try:
        fn = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"task {name!r} not found: {exc}") from None
    if not callable(fn):
        raise ValueError(f"task {name!r} is not callable")
    return fn


def _run_point(task: str, params: dict) -> dict:
    """What a worker runs: the task, timed; scalar metrics checked."""
    t0 = time.perf_counter()
    out = dict(load_task(task)(dict(params)))
    traces = out.pop("traces", None)
    for k, v in out.items():
        if not isinstance(v, (int, float, str, bool, np.integer, np.floating, np.bool_)):
            raise TypeError(f"task {task!r} returned {k!r} = {type(v).__name__}; metrics must be scalars (arrays go under 'traces')")
    return {"metrics": {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}, "traces": traces,
            "seconds": time.perf_counter() - t0}


def read_points(out_dir) -> list[dict]:
    """The point records written so far under ``out_dir/points`` (unreadable ones skipped:
    an atomic write never leaves a partial file, so those are foreign)."""
    records = []
    for f in sorted((Path(out_dir) / "points").glob("*.json")):
        try:
            records.append(json.loads(f.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return records


def _write_table(out_dir: Path, records: list, param_names: list) -> Path:
    import pandas as pd

    rows = []
    for r in sorted(records, key=lambda r: r["point"]):
        row = {"point": r["point"], "key": r["key"], "status": r["status"], "error": r.get("error", ""),
               "seconds": r.get("seconds", float("nan"))}
        row.update({k: r["params"].get(k) for k in param_names})
        row.update(r.get("metrics", {}))
        rows.append(row)
    df = pd.DataFrame(rows)
    return atomic_write(out_dir / "results.parquet", lambda p: df.to_parquet(p, index=False))


def _outcome(future):
    """A finished point's result, its exception (it failed after its retries, or was
    cancelled), or ``None`` while it is being recomputed (its worker died after computing
    it: the scheduler reruns such tasks elsewhere, up to ``allowed-failures``)."""
    if future.status == "finished":
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - lost in transfer, or an error raised on retrieval
            return exc if future.status == "error" else None
    if future.status == "error":
        return future.exception()
    if future.status == "cancelled":
        from concurrent.futures import CancelledError

        return CancelledError("the task was cancelled (its cluster shut down or lost it)")
    return None


def _client(scheduler: str | None, n_workers: int):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    return Client(cluster), cluster


def run_sweep(spec: SweepSpec, out_dir, scheduler: str | None = None, n_workers: int = 2, resume: bool = False,
              progress: bool = True):
    """Run every point of ``spec`` on Dask and return the table (``pandas.DataFrame``, one
    row per point, also written to ``out_dir/results.parquet``). ``scheduler``: the address
    of a running cluster (default: a ``LocalCluster`` of ``n_workers`` single-threaded
    processes). ``resume``: keep the points ``out_dir`` already holds as done and run only
    the rest (failed points run again). Without ``resume`` an ``out_dir`` that already holds
    points raises ``ValueError`` (nothing is overwritten). ``KeyboardInterrupt`` writes the
    table of what finished, then propagates."""
    import pandas as pd
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    points = spec.points()
    keys = [point_key(spec.task, p) for p in points]
    if len(set(keys)) != len(keys):
        raise ValueError("the spec gives the same point more than once (repeat a run with a 'seed' parameter instead)")
    load_task(spec.task)  # fail here, not on every worker, when the task is missing
    done = {r["key"]: r for r in read_points(out_dir) if r.get("status") == "ok"}
    if done and not resume:
        raise ValueError(f"{out_dir} already holds {len(done)} finished points; pass resume=True (--resume) to continue it, "
                         "or choose another folder")
    atomic_write_json(out_dir / "spec.json", {k: getattr(spec, k) for k in spec.__dataclass_fields__})
    param_names = sorted({k for p in points for k in p})
    todo = [(i, p, k) for i, (p, k) in enumerate(zip(points, keys)) if k not in done]
    records = [dict(done[k], point=i) for i, k in enumerate(keys) if k in done]
    if todo:
        client, cluster = _client(scheduler, n_workers)
        try:
            futures = {}
            for i, p, k in todo:
                f = client.submit(_run_point, spec.task, p, key=f"point-{k}", retries=spec.retries, pure=False)
                futures[f] = (i, p, k)
            bar = tqdm(total=len(points), initial=len(records), desc="sweep", unit="point", disable=not progress)
            try:
                pending = as_completed(futures)
                for f in pending:
                    i, p, k = futures[f]
                    rec = {"point": i, "key": k, "params": p}
                    res = _outcome(f)
                    if res is None:  # its result died with a worker before it reached us: the scheduler recomputes it
                        pending.add(f)
                        continue
                    if isinstance(res, BaseException):
                        rec.update(status="failed", error=f"{type(res).__name__}: {res}")
                    else:
                        rec.update(status="ok", metrics=res["metrics"], seconds=res["seconds"])
                        if spec.traces and res["traces"]:
                            atomic_savez(out_dir / "traces" / f"{k}.npz", {n: np.asarray(v) for n, v in res["traces"].items()})
                    atomic_write_json(out_dir / "points" / f"{k}.json", rec)
                    records.append(rec)
                    bar.update(1)
            finally:
                bar.close()
                _write_table(out_dir, records, param_names)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        _write_table(out_dir, records, param_names)
    return pd.read_parquet(out_dir / "results.parquet")
