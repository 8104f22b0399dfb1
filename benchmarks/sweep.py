"""Speed-up of a Dask sweep: the same 100-point worm sweep (``circuits.worm.sweep.worm_point``,
short runs) as a plain serial loop in this process, and with ``neurosim.sweep.run_sweep``
on a LocalCluster of 1 and of 2 single-threaded worker processes.

Worker start-up (imports, the connectome, Numba's cached machine code) is timed apart: each
cluster first runs one point per worker, then the timed sweeps run on the warm workers
(``--repeats`` times, median reported). The serial loop likewise runs one point first.

    python benchmarks/sweep.py [--points 100] [--duration 1.0] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spec_for(points: int, duration: float):
    import circuits.worm.sweep  # noqa: F401 - registers the worm task
    from neurosim.sweep import SweepSpec

    return SweepSpec("worm", base={"duration": duration, "stop": min(0.7, duration)},
                     random={"g_syn": {"low": 30e-12, "high": 300e-12, "log": True},
                             "g_gap": {"low": 30e-12, "high": 300e-12, "log": True}}, samples=points, seed=0)


def serial(spec, repeats: int) -> tuple[float, list]:
    from circuits.worm.sweep import worm_point

    t0 = time.perf_counter()
    worm_point(spec.points()[0])
    warm = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for p in spec.points():
            worm_point(p)
        times.append(time.perf_counter() - t0)
    return warm, times


def on_dask(spec, workers: int, repeats: int) -> tuple[float, list]:
    from dask.distributed import Client, LocalCluster

    from circuits.worm.sweep import worm_point
    from neurosim.sweep import run_sweep

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    client = Client(cluster)
    first = spec.points()[0]
    client.gather([client.submit(worm_point, first, pure=False, workers=[w]) for w in client.scheduler_info()["workers"]])
    warm = time.perf_counter() - t0
    times = []
    try:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as out:
                t0 = time.perf_counter()
                df = run_sweep(spec, out, scheduler=cluster.scheduler_address, progress=False)
                times.append(time.perf_counter() - t0)
                assert (df["status"] == "ok").all() and len(df) == len(spec.points())
    finally:
        client.close()
        cluster.close()
    return warm, times


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds per point")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    spec = spec_for(a.points, a.duration)
    rows = [("serial loop (no Dask)",) + serial(spec, a.repeats)]
    for w in (1, 2):
        rows.append((f"Dask LocalCluster, {w} worker(s)",) + on_dask(spec, w, a.repeats))
    base = statistics.median(rows[1][2])
    print(f"{a.points}-point worm sweep, {a.duration:g} s simulated per point, median of {a.repeats}")
    print("| runner | start-up + first point (s) | sweep (s) | points/s | speed-up vs 1 worker |")
    print("|---|---|---|---|---|")
    for name, warm, times in rows:
        med = statistics.median(times)
        print(f"| {name} | {warm:.1f} | {med:.2f} | {a.points / med:.1f} | {base / med:.2f}x |")


if __name__ == "__main__":
    main()
