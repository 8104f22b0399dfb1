"""CUBA benchmark: neurosim vs Brian2 on the Brette et al. (2007) CUBA network.

The network is Brian2's ``examples/CUBA.py`` (4000 neurons, 3200 exc / 800 inh, p = 0.02,
dt = 0.1 ms); ``--sizes 32000`` keeps ~80 inputs per neuron. For each size and duration,
every simulator runs ``--repeats`` times with different seeds (connectivity and initial
state); medians are printed. Brian2 runs in subprocesses (runtime mode = Cython; with
``--standalone`` also C++ standalone). Loop times are the simulation loop alone: neurosim's
``Results.wall_time`` and Brian2's ``device._last_run_time``; JIT/compile/build time is
reported separately.

    python benchmarks/cuba.py                       # 4000 neurons, 1 s and 10 s
    python benchmarks/cuba.py --standalone --sizes 4000 32000 --json runs/bench/cuba.json
    python benchmarks/cuba.py --threads 2 --openmp 2 --annarchy 1 2 --dtypes float32 --durations 10 \
        --sizes 4000 32000 --json runs/bench/cuba_threads.json     # the multi-threaded comparison

Peers: Brian2 runtime (Cython) and C++ standalone, standalone with OpenMP (``--openmp K``),
and ANNarchy 5 (``--annarchy K``, ``circuits.reference.cuba_annarchy``), each in its own
process. The summary lines compare neurosim on K threads with each peer at its best.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from circuits.reference.cuba import cuba_network  # noqa: E402
from neurosim import Simulator, SpikeMonitor  # noqa: E402


def run_neurosim(n, duration, seed, dtype, threads=1):
    t0 = time.perf_counter()
    net = cuba_network(n, seed=seed, n_inputs=80 if n != 4000 else None)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = Simulator(net, dt=1e-4, dtype=dtype, threads=threads)
    res = sim.run(duration, [SpikeMonitor("cuba")])
    end_to_end = time.perf_counter() - t0
    st = res.spikes["cuba"]
    return {"loop_time": res.wall_time, "compile_time": res.compile_time, "build_time": build, "end_to_end": end_to_end,
            "n_spikes": len(st), "rate": st.mean_rate(), "n_synapses": net.n_synapses}


def _peer(cmd, tag):
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    for line in out.stdout.splitlines():
        if line.startswith(tag + " "):
            return json.loads(line.split(" ", 1)[1])
    raise RuntimeError(f"{cmd[3:]} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def run_brian2(mode, n, duration, seed):
    """``mode``: runtime, standalone, or standalone_omp<k> (C++ standalone on k OpenMP threads)."""
    threads = int(mode.split("omp")[1]) if "omp" in mode else 1
    cmd = [sys.executable, "-W", "ignore", "-m", "circuits.reference.cuba_brian2", "--mode", mode.split("_omp")[0], "--n", str(n),
           "--duration", str(duration), "--seed", str(seed), "--threads", str(threads)]
    return _peer(cmd, "BRIAN2_RESULT")


def run_annarchy(threads, n, duration, seed):
    """ANNarchy 5 on ``threads`` OpenMP threads; its C++ build is kept per size and thread
    count under runs/bench/ (a rebuild takes ~12 s, a cached one ~0.2 s: reported as set-up)."""
    build = os.path.join(ROOT, "runs", "bench", f"annarchy_cuba_{n}_{threads}t")
    cmd = [sys.executable, "-W", "ignore", "-m", "circuits.reference.cuba_annarchy", "--n", str(n), "--duration", str(duration),
           "--seed", str(seed), "--threads", str(threads), "--build-dir", build]
    return _peer(cmd, "ANNARCHY_RESULT")


def cold_neurosim(dtype):
    """A fresh process with an empty Numba cache: import + build + JIT + 1 s of CUBA 4000
    (``benchmarks/cold_start.py``)."""
    from cold_start import BUILD, cold_run

    c = cold_run(BUILD["cuba"], dtype)
    return {"total": c["total"], "compile_time": c["jit"], "loop_time": c["loop"]}


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def print_row(row, dtypes, repeats):
    n, duration = row["n"], row["duration"]
    print(f"\n## CUBA, {n} neurons, {duration:g} s biological time (medians of {repeats} seeds)", flush=True)
    ours = {dt: med(row[f"neurosim_{dt}"], "loop_time") for dt in dtypes}
    head = " / ".join(f"neurosim {dt}" for dt in dtypes)
    print(f"| simulator | loop time (s) | compile/build (s) | spikes | mean rate (Hz) | syn. events/s | speed-up of {head} |")
    print("|---|---|---|---|---|---|---|")
    for key in [k for k in row if k not in ("n", "duration")]:
        rows = row[key]
        loop = med(rows, "loop_time")
        setup = med(rows, "compile_time") if key.startswith("neurosim") else med(rows, "setup_time")
        spikes = med(rows, "n_spikes")
        events = spikes * med(rows, "n_synapses") / n / loop
        ratio = "" if key.startswith("neurosim") else " / ".join(f"{loop / ours[dt]:.1f}x" for dt in dtypes)
        print(f"| {key} | {loop:.3f} | {setup:.2f} | {spikes:.0f} | {med(rows, 'rate'):.2f} | {events:.3g} | {ratio} |")
    if "brian2_runtime" in row:
        rb = med(row["brian2_runtime"], "rate")
        ro = med(row[f"neurosim_{dtypes[-1]}"], "rate")
        print(f"rate agreement: neurosim {ro:.2f} Hz vs Brian2 {rb:.2f} Hz: {100 * abs(ro - rb) / rb:.1f}% "
              f"({'within' if abs(ro - rb) <= 0.1 * rb else 'OUTSIDE'} 10%)")
    for peer, keys in (("Brian2 C++ standalone", [k for k in row if k.startswith("brian2_standalone")]),
                       ("ANNarchy 5", [k for k in row if k.startswith("annarchy_")])):
        if not keys:
            continue
        best = min(keys, key=lambda k: med(row[k], "loop_time"))
        t_peer = med(row[best], "loop_time")
        rp = med(row[best], "rate")
        for key in [k for k in row if k.startswith("neurosim_") and k.endswith("t")]:
            t = med(row[key], "loop_time")
            ro = med(row[key], "rate")
            print(f"{key} vs {peer} at its best ({best}): {t:.3f} s vs {t_peer:.3f} s: {t_peer / t:.1f}x; "
                  f"rates {ro:.2f} / {rp:.2f} Hz ({100 * abs(ro - rp) / rp:.1f}% apart)")
    if n == 4000 and duration == 1.0:
        print(f"warm end-to-end 1 s run (Simulator() + run): {med(row[f'neurosim_{dtypes[0]}'], 'end_to_end'):.3f} s")


def report(path):
    with open(path) as f:
        results = json.load(f)
    a = results["args"]
    for row in results["rows"]:
        print_row(row, a["dtypes"], a["repeats"])
    for dt in a["dtypes"]:
        c = results.get(f"cold_{dt}")
        if c:
            print(f"cold neurosim {dt} (new process, empty JIT cache, 1 s): total {c['total']:.2f} s "
                  f"(JIT {c['compile_time']:.2f} s, loop {c['loop_time']:.3f} s)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000])
    ap.add_argument("--durations", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--standalone", action="store_true", help="also run Brian2 C++ standalone")
    ap.add_argument("--openmp", type=int, nargs="*", default=[], metavar="K",
                    help="also Brian2 C++ standalone on K OpenMP threads (implies --standalone)")
    ap.add_argument("--annarchy", type=int, nargs="*", default=[], metavar="K",
                    help="also ANNarchy 5 on K threads (e.g. --annarchy 1 2)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1], metavar="K",
                    help="neurosim thread counts (1 always runs; the others as neurosim_<dtype>_<K>t)")
    ap.add_argument("--no-brian2", action="store_true", help="neurosim only")
    ap.add_argument("--json", default=None, help="write all measurements here")
    ap.add_argument("--report", default=None, metavar="JSON", help="only print the tables of a saved --json file")
    a = ap.parse_args(argv)
    if a.report:
        return report(a.report)

    results = {"args": vars(a), "rows": []}
    # JIT once per dtype, timed (cached kernels load from disk after the first ever run)
    for dt in a.dtypes:
        r = run_neurosim(400, 0.01, 0, getattr(np, dt))
        print(f"neurosim {dt}: first call in this process (JIT or cache load) {r['compile_time']:.2f} s", flush=True)
    modes = [] if a.no_brian2 else ["runtime"] + (["standalone"] if a.standalone or a.openmp else []) + [
        f"standalone_omp{k}" for k in a.openmp if k > 1]
    for n in a.sizes:
        for duration in a.durations:
            row = {"n": n, "duration": duration}
            for dt in a.dtypes:
                for k in sorted({1, *a.threads}):
                    runs = [run_neurosim(n, duration, s, getattr(np, dt), k) for s in range(a.repeats)]
                    row[f"neurosim_{dt}" + (f"_{k}t" if k > 1 else "")] = runs
            for mode in modes:
                row[f"brian2_{mode}"] = [run_brian2(mode, n, duration, s) for s in range(a.repeats)]
            for k in a.annarchy:
                row[f"annarchy_{k}"] = [run_annarchy(k, n, duration, s) for s in range(a.repeats)]
            results["rows"].append(row)
            print_row(row, a.dtypes, a.repeats)
    if 4000 in a.sizes:
        for dt in a.dtypes:
            c = cold_neurosim(dt)
            results[f"cold_{dt}"] = c
            print(f"cold neurosim {dt} (new process, empty JIT cache, 1 s): total {c['total']:.2f} s "
                  f"(JIT {c['compile_time']:.2f} s, loop {c['loop_time']:.3f} s)")
    if a.json:
        from neurosim.atomic import atomic_write_json

        atomic_write_json(a.json, results)


if __name__ == "__main__":
    main()
