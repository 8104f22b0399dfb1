"""Parameter sweeps and ensembles on Dask: many independent simulations, each a task.

A sweep is a base configuration plus a grid (every combination of the listed values) and/or
random samples of parameters, run by a task function ``fn(params) -> {metric: scalar, ...}``
(a ``"traces"`` entry of numeric arrays, if returned, is saved beside the table). Each point
runs as a Dask task on a ``dask.distributed`` cluster: by default a ``LocalCluster`` of
single-threaded worker processes on this machine, or any running cluster given its scheduler
address (``tcp://host:port``), whose workers must have neurosim installed.

**Tasks are named, not imported from data.** A spec names its task by a name registered in
Python (``register_task``: the CLI imports ``circuits.worm.sweep`` and
``circuits.reference.sweep``, which register ``worm`` and ``cuba``,
and users register their own in their own code), so a spec file cannot make a worker run
code of its choosing. A ``"module:function"`` path in a spec is refused unless the caller
opts in (``run_sweep(..., allow_module_tasks=True)``, ``neurosim sweep --allow-module-task``):
that imports and runs whatever the spec names, so use it only for specs you wrote yourself.

**Bounded work.** The number of points is counted from the spec before any is built, and a
spec of more than ``max_points`` (default ``MAX_POINTS``) is refused unless the spec raises
that limit; points are generated lazily and at most a few per worker are queued on the
cluster at a time. A spec's ``timeout`` (seconds) runs each point in a process of its own
and stops it when it runs longer (the point is recorded as failed with ``TimeoutError``;
Dask's retries apply to it as to any failure).

Fault tolerance: a point that raises is retried ``retries`` times (Dask's task retries),
then recorded as failed with its error; a worker that dies mid-task has its tasks moved to
other workers by the scheduler (up to ``distributed.scheduler.allowed-failures``, then the
point is recorded as failed). Every finished point is written at once, atomically and with
its SHA-256 (``neurosim.integrity``), to ``points/<key>.json`` under the output folder, so
an interrupted sweep loses nothing it finished; ``resume=True`` skips every point already
recorded as done (a record that fails its checksum is run again). The table of all points,
one row each (parameters, metrics, status, error, seconds), is written atomically as
``results.parquet`` (pandas + pyarrow) at the end and when interrupted. The output folder
is locked while the sweep runs (``neurosim.runlock``).
"""
from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import math
import re
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_savez, atomic_write, atomic_write_json
from .integrity import CorruptFileError, read_checked_json, write_checked_json
from .runlock import locks_folder

__all__ = ["SweepSpec", "run_sweep", "register_task", "registered_tasks", "resolve_task", "read_points", "MAX_POINTS"]

MAX_POINTS = 100_000
"""Default most points a spec may give (``SweepSpec.max_points`` raises it)."""

_TASKS: dict = {}  # name -> callable, or "module:function" imported when first used


def _check_values(where: str, values) -> list:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{where}: expected a non-empty list of values, got {values!r}")
    for v in values:
        if not isinstance(v, (int, float, str, bool)) or (isinstance(v, float) and not math.isfinite(v)):
            raise ValueError(f"{where}: value {v!r} is not a finite number, string or boolean")
    return list(values)


_TASK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_MODULE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*")


def register_task(name: str, task) -> None:
    """Make ``task`` available to specs as ``name`` (letters, digits, ``_ . -``). ``task``:
    a callable ``fn(params: dict) -> dict``, or ``"module:function"`` imported when first
    used (how packages register theirs without importing them). Registering a name again
    replaces it. Raises ``ValueError`` for a bad name or task."""
    if not isinstance(name, str) or not _TASK_NAME.fullmatch(name):
        raise ValueError(f"task name {name!r} is invalid: use 1 to 100 letters, digits, '_', '.' or '-'")
    if not (callable(task) or (isinstance(task, str) and _MODULE_PATH.fullmatch(task))):
        raise ValueError(f"task {task!r} for {name!r} must be a callable or 'module:function'")
    _TASKS[name] = task


def registered_tasks() -> list[str]:
    """The names ``register_task`` knows, sorted."""
    return sorted(_TASKS)


def _import(path: str):
    module, _, func = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"task {path!r} not found: {exc}") from None
    if not callable(fn):
        raise ValueError(f"task {path!r} is not callable")
    return fn


def resolve_task(name: str, allow_module_tasks: bool = False):
    """The function of task ``name``: a registered name, or (only with
    ``allow_module_tasks``) a ``"module:function"`` path, which is imported. Raises
    ``ValueError`` saying which names are known and how to opt in."""
    if name in _TASKS:
        task = _TASKS[name]
        if isinstance(task, str):
            task = _TASKS[name] = _import(task)
        return task
    if isinstance(name, str) and _MODULE_PATH.fullmatch(name):
        if not allow_module_tasks:
            raise ValueError(f"task {name!r} is a module path, which a spec may only name when you opt in "
                             f"(allow_module_tasks=True, neurosim sweep --allow-module-task): it imports and runs the code "
                             f"the spec names. Registered tasks: {registered_tasks() or 'none'} "
                             "(neurosim.sweep.register_task adds yours)")
        return _import(name)
    raise ValueError(f"unknown task {name!r}; registered tasks: {registered_tasks() or 'none'} "
                     "(neurosim.sweep.register_task adds yours)")


@dataclass(frozen=True)
class SweepSpec:
    """What to run: ``task`` (a registered task name, see ``register_task``; or a
    ``"module:function"`` path, run only with ``allow_module_tasks``), ``base`` parameters
    for every point, ``grid`` ``{name: [values]}`` (every combination), ``random``
    ``{name: {"low", "high", "log": bool} or [choices]}`` sampled ``samples`` times with
    ``seed`` (combined with every grid point), ``retries`` per point, ``traces``: keep the
    arrays a task returns under ``"traces"``; ``max_points``: the most points the spec may
    give (default ``MAX_POINTS``: counted before any point is built); ``timeout``: seconds a
    point may run (None: no limit). Raises ``ValueError`` naming the field for anything
    else."""

    task: str
    base: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    random: dict = field(default_factory=dict)
    samples: int = 0
    seed: int = 0
    retries: int = 2
    traces: bool = False
    max_points: int = MAX_POINTS
    timeout: float | None = None

    def __post_init__(self):
        if not isinstance(self.task, str) or not (_TASK_NAME.fullmatch(self.task) or _MODULE_PATH.fullmatch(self.task)):
            raise ValueError(f"task = {self.task!r} is invalid: give a registered task name (e.g. 'worm', 'cuba') or "
                             "'module:function'")
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
        for name, lo in (("samples", 0), ("seed", 0), ("retries", 0), ("max_points", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} = {v!r} is invalid: must be an integer >= {lo}")
        if self.random and self.samples < 1:
            raise ValueError("random parameters need samples >= 1")
        t = self.timeout
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0):
            raise ValueError(f"timeout = {t!r} is invalid: give seconds > 0 (or leave it out for no limit)")
        if self.n_points > self.max_points:
            raise ValueError(f"the spec gives {self.n_points:,} points, more than max_points = {self.max_points:,}; "
                             "set max_points in the spec to run that many")

    @property
    def n_points(self) -> int:
        """How many points the spec gives, counted without building them."""
        n = math.prod(len(v) for v in self.grid.values())
        return n * (self.samples if self.random else 1)

    @classmethod
    def load(cls, path) -> "SweepSpec":
        """A spec from a ``.toml`` or ``.json`` file with the fields above. Raises
        ``ValueError`` naming the file for unreadable files and missing, unknown or bad
        fields."""
        path = Path(path)
        try:
            text = path.read_text()
            raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except FileNotFoundError:
            raise ValueError(f"{path}: no such sweep spec") from None
        except IsADirectoryError:
            raise ValueError(f"{path}: a folder, not a sweep spec file") from None
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a valid {'TOML' if path.suffix == '.toml' else 'JSON'} sweep spec: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: a sweep spec is a table of fields")
        unknown = set(raw) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"{path}: unknown fields {sorted(unknown)}; allowed: {sorted(cls.__dataclass_fields__)}")
        if "task" not in raw:
            raise ValueError(f"{path}: no 'task' field (the task to run at every point, e.g. task = \"worm\")")
        try:
            return cls(**raw)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def iter_points(self):
        """Every point's parameters (base merged), grid-major, in a fixed order, one at a
        time (the random draws come from ``seed``, so iterating again gives the same
        points)."""
        names = list(self.grid)
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
        for combo in itertools.product(*(self.grid[k] for k in names)):
            for d in draws:
                yield {**self.base, **dict(zip(names, combo)), **d}

    def points(self) -> list[dict]:
        """``iter_points`` as a list."""
        return list(self.iter_points())


def point_key(task: str, params: dict) -> str:
    """A stable name for a point: the hash of its task and parameters (resume matches
    points by it, not by position)."""
    blob = json.dumps({"task": task, "params": params}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _call_task(fn, name: str, params: dict) -> dict:
    """Run the task and check what it returns: a dict of scalar metrics, and optionally
    ``"traces"``: a dict of numeric arrays."""
    out = fn(dict(params))
    if not isinstance(out, dict):
        raise TypeError(f"task {name!r} returned a {type(out).__name__}; a task returns a dict of scalar metrics")
    out = dict(out)
    traces = out.pop("traces", None)
    for k, v in out.items():
        if not isinstance(v, (int, float, str, bool, np.integer, np.floating, np.bool_)):
            raise TypeError(f"task {name!r} returned {k!r} = {type(v).__name__}; metrics must be scalars (arrays go under 'traces')")
    if traces is not None:
        if not isinstance(traces, dict):
            raise TypeError(f"task {name!r} returned traces as a {type(traces).__name__}; give a dict of arrays")
        checked = {}
        for k, v in traces.items():
            try:
                arr = np.asarray(v)
            except ValueError as exc:
                raise TypeError(f"task {name!r}: trace {k!r} is not one array ({exc})") from None
            if arr.dtype.hasobject:
                raise TypeError(f"task {name!r}: trace {k!r} holds Python objects (dtype object); traces are saved without "
                                "pickle, so give numeric arrays")
            checked[str(k)] = arr
        traces = checked
    return {"metrics": {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}, "traces": traces}


def _child_main() -> None:
    """In a point's own process (``timeout``): read (task, name, params) from stdin, run it,
    write the outcome to stdout. Anything the task prints goes to stderr."""
    import os
    import sys

    import cloudpickle

    result_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the task's prints must not mix with the result
    fn, name, params = cloudpickle.loads(sys.stdin.buffer.read())
    try:
        outcome = ("ok", _call_task(fn, name, params))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as the point's error
        outcome = ("error", type(exc).__name__, str(exc))
    result_out.write(cloudpickle.dumps(outcome))
    result_out.close()


def _run_in_process(fn, name: str, params: dict, timeout: float) -> dict:
    """Run the task in a new Python process and stop it (and its children) after
    ``timeout`` s. The payload is our own, pickled by this process, never a user's file."""
    import os
    import signal
    import subprocess
    import sys

    import cloudpickle

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-c", "from neurosim.sweep import _child_main; _child_main()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(cloudpickle.dumps((fn, name, params)), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise TimeoutError(f"task {name!r} ran longer than timeout = {timeout:g} s and was stopped") from None
    if proc.returncode != 0 or not out:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"task {name!r}: its process ended with exit code {proc.returncode}: {' | '.join(tail)}")
    outcome = cloudpickle.loads(out)
    if outcome[0] == "error":
        raise RuntimeError(f"{outcome[1]}: {outcome[2]}")
    return outcome[1]


def _run_point(fn, name: str, params: dict, timeout: float | None = None) -> dict:
    """What a worker runs: the task (in a process of its own when there is a
    ``timeout``), timed; metrics and traces checked."""
    t0 = time.perf_counter()
    out = _run_in_process(fn, name, params, timeout) if timeout is not None else _call_task(fn, name, params)
    return {**out, "seconds": time.perf_counter() - t0}


def read_points(out_dir) -> list[dict]:
    """The point records written so far under ``out_dir/points``; a record that is not
    readable or fails its checksum is skipped with a warning (its point runs again)."""
    records = []
    for f in sorted((Path(out_dir) / "points").glob("*.json")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # records written before checksums
                records.append(read_checked_json(f, "sweep point record"))
        except (OSError, CorruptFileError) as exc:
            warnings.warn(f"{exc}; that point runs again", UserWarning, stacklevel=2)
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


@locks_folder("out_dir")
def run_sweep(spec: SweepSpec, out_dir, scheduler: str | None = None, n_workers: int = 2, resume: bool = False,
              progress: bool = True, allow_module_tasks: bool = False):
    """Run every point of ``spec`` on Dask and return the table (``pandas.DataFrame``, one
    row per point, also written to ``out_dir/results.parquet``). ``scheduler``: the address
    of a running cluster (default: a ``LocalCluster`` of ``n_workers`` single-threaded
    processes). ``resume``: keep the points ``out_dir`` already holds as done and run only
    the rest (failed points run again). ``allow_module_tasks``: let ``spec.task`` be a
    ``"module:function"`` path (``resolve_task``; it runs code the spec names). Without
    ``resume`` an ``out_dir`` that already holds points raises ``ValueError`` (nothing is
    overwritten); another process writing to ``out_dir`` raises
    ``neurosim.runlock.OutputLockedError``. ``KeyboardInterrupt`` writes the table of what
    finished, then propagates."""
    import pandas as pd
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    fn = resolve_task(spec.task, allow_module_tasks)  # fail here, not on every worker
    keys, param_names, seen = [], set(), set()
    for p in spec.iter_points():  # keys only: the points themselves are generated again when submitted
        k = point_key(spec.task, p)
        if k in seen:
            raise ValueError("the spec gives the same point more than once (repeat a run with a 'seed' parameter instead)")
        seen.add(k)
        keys.append(k)
        param_names.update(p)
    param_names = sorted(param_names)
    done = {r["key"]: r for r in read_points(out_dir) if r.get("status") == "ok" and "key" in r}
    if done and not resume:
        raise ValueError(f"{out_dir} already holds {len(done)} finished points; pass resume=True (--resume) to continue it, "
                         "or choose another folder")
    atomic_write_json(out_dir / "spec.json", {k: getattr(spec, k) for k in spec.__dataclass_fields__})
    records = [dict(done[k], point=i) for i, k in enumerate(keys) if k in done]
    n_todo = len(keys) - len(records)
    if n_todo:
        client, cluster = _client(scheduler, n_workers)
        try:
            todo = ((i, p, k) for i, (p, k) in enumerate(zip(spec.iter_points(), keys)) if k not in done)
            window = 2 * max(1, sum(client.ncores().values()))  # points queued on the cluster at a time
            futures = {}
            pending = as_completed()

            def submit_next() -> None:
                nxt = next(todo, None)
                if nxt is not None:
                    f = client.submit(_run_point, fn, spec.task, nxt[1], spec.timeout, key=f"point-{nxt[2]}",
                                      retries=spec.retries, pure=False)
                    futures[f] = nxt
                    pending.add(f)

            for _ in range(window):
                submit_next()
            bar = tqdm(total=len(keys), initial=len(records), desc="sweep", unit="point", disable=not progress)
            try:
                for f in pending:
                    i, p, k = futures[f]
                    rec = {"point": i, "key": k, "params": p}
                    res = _outcome(f)
                    if res is None:  # its result died with a worker before it reached us: the scheduler recomputes it
                        pending.add(f)
                        continue
                    del futures[f]
                    submit_next()
                    if isinstance(res, BaseException):
                        rec.update(status="failed", error=f"{type(res).__name__}: {res}")
                    else:
                        rec.update(status="ok", metrics=res["metrics"], seconds=res["seconds"])
                        if spec.traces and res["traces"]:
                            atomic_savez(out_dir / "traces" / f"{k}.npz", res["traces"])
                    write_checked_json(out_dir / "points" / f"{k}.json", rec)
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
