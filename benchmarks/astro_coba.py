"""Neuron-glia benchmark: Stimberg et al. (2019) example 6 (COBA network with astrocytes,
Brian2's ``examples/frompapers/Stimberg_et_al_2018/example_6_COBA_with_astro.py``) in
neurosim and in Brian2's runtime mode (Cython), in one run.

4000 CobaLIF neurons (3200 exc / 800 inh), ~1.3 M tripartite synapses (p = 0.05 / 0.2),
3200 G-ChI astrocytes on a 10 ms clock with IP3 gap junctions, dt = 0.1 ms. Each repeat uses
a different seed (connectivity and initial state) in both simulators; medians are printed.
Loop times are the simulation loop alone (neurosim ``Results.wall_time``, Brian2
``device._last_run_time``); neurosim's JIT/cache load and Brian2's build are reported apart.

    python benchmarks/astro_coba.py --duration 1 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from circuits.astro.neuroglia import example6_network  # noqa: E402
from neurosim import Simulator, SpikeMonitor  # noqa: E402


def run_neurosim(duration: float, seed: int) -> dict:
    t0 = time.perf_counter()
    net = example6_network(seed=seed)
    build = time.perf_counter() - t0
    res = Simulator(net, dt=1e-4).run(duration, [SpikeMonitor("neurons"), SpikeMonitor("astrocytes")])
    return {"loop_s": res.wall_time, "build_s": build, "jit_s": res.compile_time,
            "rate_hz": res.spikes["neurons"].times.size / 4000 / duration,
            "astro_events": int(res.spikes["astrocytes"].times.size), "synapses": net.n_synapses}


def run_brian2(duration: float, seed: int) -> dict:
    cmd = [sys.executable, "-W", "ignore", "-m", "circuits.reference.neuroglia_brian2", "--duration", str(duration), "--seed", str(seed)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=7200)
    for line in out.stdout.splitlines():
        if line.startswith("BRIAN2_RESULT "):
            return json.loads(line.split(" ", 1)[1])
    raise RuntimeError(f"Brian2 failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds (the example runs 8)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rows = {"neurosim": [], "brian2": []}
    for seed in range(args.repeats):
        rows["neurosim"].append(run_neurosim(args.duration, seed))
        rows["brian2"].append(run_brian2(args.duration, seed))
        print(f"seed {seed}: neurosim {rows['neurosim'][-1]}\n        brian2   {rows['brian2'][-1]}", flush=True)
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("loop_s", "build_s", "rate_hz", "astro_events")}
           for k, v in rows.items()}
    print(f"\nexample 6, {args.duration:g} s simulated, medians of {args.repeats} seeds")
    print(f"{'':10s} {'loop (s)':>9s} {'build (s)':>10s} {'rate (Hz)':>10s} {'astro events':>13s}")
    for k, m in med.items():
        print(f"{k:10s} {m['loop_s']:9.2f} {m['build_s']:10.2f} {m['rate_hz']:10.2f} {m['astro_events']:13.0f}")
    print(f"speed-up (Brian2 runtime loop / neurosim loop): {med['brian2']['loop_s'] / med['neurosim']['loop_s']:.1f}x")
    print(f"firing-rate difference: {100 * (med['neurosim']['rate_hz'] / med['brian2']['rate_hz'] - 1):+.1f}%")


if __name__ == "__main__":
    main()
