"""Cold start: a new process with an empty Numba cache builds and runs a 1 s simulation.

Times, per network: the whole process (interpreter start excluded: from the first import
to the end of the run), the JIT part (``Results.compile_time``: the first kernel call) and
the loop. Each repeat gets a new, empty ``NUMBA_CACHE_DIR``; medians are printed. The
networks: CUBA 4000 (float32 and float64; the issue's reference case) and, to show what a
network's features cost, the graded C. elegans network (Kunert 2014 on Cook 2019) and Song et al.'s (2000) STDP
network (1000 Poisson inputs onto one neuron).

    python benchmarks/cold_start.py --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = {
    "cuba": "from circuits.reference.cuba import cuba_network; net = cuba_network(4000); mons = [SpikeMonitor('cuba')]",
    "worm (graded)": "from circuits.worm.model import build_worm; net = build_worm(); mons = []",
    "stdp": ("from circuits.reference.song2000 import song_inputs, song_network; net = song_network(*song_inputs(1000, 1.0)); "
             "mons = [SpikeMonitor('neuron')]"),
}


def cold_run(build: str, dtype: str, duration: float = 1.0) -> dict:
    """One fresh process with an empty Numba cache: import + build + JIT + run."""
    code = ("import time; t0 = time.perf_counter(); import numpy as np; from neurosim import Simulator, SpikeMonitor; "
            f"{build}; r = Simulator(net, dt=1e-4, dtype=np.{dtype}).run({duration!r}, mons); "
            "print('COLD', time.perf_counter() - t0, r.compile_time, r.wall_time)")
    with tempfile.TemporaryDirectory(prefix="numba_cold_") as cache:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                             env=dict(os.environ, NUMBA_CACHE_DIR=cache))
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("COLD")]
    if not line:
        raise RuntimeError(out.stderr[-3000:])
    total, jit, loop = map(float, line[0].split()[1:])
    return {"total": total, "jit": jit, "loop": loop}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--networks", nargs="+", default=list(BUILD), choices=list(BUILD))
    ap.add_argument("--json", help="write the results here as well")
    args = ap.parse_args(argv)
    rows = []
    print(f"| network | dtype | total (s) | JIT (s) | loop (s) |  (medians of {args.repeats}, each with an empty cache)")
    print("|---|---|---|---|---|")
    for name in args.networks:
        for dtype in ("float32", "float64") if name == "cuba" else ("float64",):
            runs = [cold_run(BUILD[name], dtype) for _ in range(args.repeats)]
            row = {"network": name, "dtype": dtype, **{k: statistics.median(r[k] for r in runs) for k in runs[0]},
                   "runs": runs}
            rows.append(row)
            print(f"| {name} | {dtype} | {row['total']:.2f} | {row['jit']:.2f} | {row['loop']:.3f} |", flush=True)
    if args.json:
        from neurosim.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
