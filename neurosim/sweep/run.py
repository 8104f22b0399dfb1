"""``run_sweep``: every point of a spec on a Dask cluster, each finished point recorded at
once, the table written at the end (``neurosim.sweep``'s docstring)."""
from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_savez, atomic_write, atomic_write_json
from ..integrity import write_checked_json
from ..runlock import locks_folder
from .points import read_points, run_point
from .spec import SweepSpec, point_key
from .tasks import resolve_task

__all__ = ["run_sweep"]


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
                    f = client.submit(run_point, fn, spec.task, nxt[1], spec.timeout, key=f"point-{nxt[2]}",
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
