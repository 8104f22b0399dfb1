"""Streaming monitors: a long CUBA run (Brette et al. 2007, 4000 neurons, dt = 0.1 ms,
float32) recording every spike into an HDF5 file while it runs
(``SpikeMonitor(..., file=...)``), against the same run recording nothing, and optionally
against the in-memory ``SpikeMonitor``. Each variant runs in its own process, so that its
peak resident memory (``ru_maxrss``) is its own; reported against the interpreter's
resident memory after the imports (before the network is built). Times: the whole
``Simulator.run`` call (the loop, collecting the spikes, waiting for the writer), JIT
excluded (a warm-up run of one step first); medians over ``--repeats`` runs, variants
alternating.

    python benchmarks/streaming.py [--duration 3600] [--repeats 3] [--memory] [--out runs/streaming]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(variant: str, duration: float, path: str) -> dict:
    import numpy as np

    import h5py  # noqa: F401 - counted in the interpreter's memory, as numpy is
    from neurosim import Simulator, SpikeMonitor, read_recording

    from circuits.reference.cuba import cuba_network

    base = rss_mb()
    sim = Simulator(cuba_network(4000), dt=1e-4, dtype=np.float32)
    sim.run(1e-4)  # JIT (or cache load) out of the timing
    sim.reset()
    monitors = {"none": [], "stream": [SpikeMonitor("cuba", file=path)], "memory": [SpikeMonitor("cuba")]}[variant]
    t0 = time.perf_counter()
    res = sim.run(duration, monitors)
    total = time.perf_counter() - t0
    out = {"variant": variant, "run_s": total, "loop_s": res.wall_time, "rss_interpreter_mb": base,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if variant == "stream":
        with __import__("h5py").File(path, "r") as f:
            out["spikes"] = int(f["spikes/cuba/step"].shape[0])
        out["file_mb"] = os.path.getsize(path) / 2**20
        last = read_recording(path, duration - 1.0)  # the last second, read back by bisection
        out["last_second_rate_hz"] = last.spikes["cuba"].mean_rate()
    elif variant == "memory":
        out["spikes"] = len(res.spikes["cuba"])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=3600.0, help="biological time in s (default 3600)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also the in-memory SpikeMonitor (needs ~16 bytes per spike)")
    ap.add_argument("--out", default="runs/streaming", help="folder of the HDF5 file (default runs/streaming)")
    ap.add_argument("--child", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child[0], a.duration, a.child[1])))
        return 0
    import numpy as np

    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "cuba_spikes.h5")
    variants = ["none", "stream"] + (["memory"] if a.memory else [])
    rows = {v: [] for v in variants}
    for r in range(a.repeats):
        for v in variants:
            cmd = [sys.executable, os.path.abspath(__file__), "--duration", str(a.duration), "--child", v, path]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            rows[v].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"repeat {r + 1}/{a.repeats} {v}: {rows[v][-1]}", flush=True)
    med = {v: {k: float(np.median([x[k] for x in rows[v]])) for k in rows[v][0] if k != "variant"} for v in variants}
    print(f"\nCUBA 4000 neurons, {a.duration:g} s biological time, dt 0.1 ms, float32; medians of {a.repeats}")
    print("| variant | run time (s) | of which loop (s) | spikes | peak RSS above the interpreter's (MB) | file (MB) |")
    print("|---|---|---|---|---|---|")
    for v in variants:
        m = med[v]
        print(f"| {v} | {m['run_s']:.2f} | {m['loop_s']:.2f} | {int(m.get('spikes', 0)):,} | "
              f"{m['peak_rss_mb'] - m['rss_interpreter_mb']:.0f} | {m.get('file_mb', 0):.0f} |")
    print(f"streaming slowdown vs recording nothing: {med['stream']['run_s'] / med['none']['run_s'] - 1:+.1%} (whole run call); "
          f"interpreter after imports {med['none']['rss_interpreter_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
