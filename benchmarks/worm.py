"""Whole-worm speed: 60 s of worm time (Kunert et al. 2014 on Cook 2019, anterior touch
stimulus 1-3 s) in neurosim (fixed-step BDF2 at dt = 1 and 2 ms, and the adaptive BDF2 at
several tolerances) and in scipy's solve_ivp on the same equations (``circuits.worm.reference``, sparse right-hand side and Jacobian
sparsity given to BDF) at matched accuracy.

Accuracy is measured against a tight BDF solution (rtol 1e-10). "Matched accuracy": the
loosest solve_ivp tolerance in the sweep whose maximum error is no larger than neurosim's.
Medians of ``--repeats`` runs; neurosim's JIT is reported apart.

    python benchmarks/worm.py [--duration 60] [--dt 1e-3] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import connectomes  # noqa: E402
from circuits.worm.model import KUNERT2014, TOUCH_NEURONS, build_worm, input_conductance, stimulate  # noqa: E402
from circuits.worm.reference import solve_reference  # noqa: E402
from neurosim import Simulator, StateMonitor  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--dt", type=float, nargs="+", default=[1e-3, 2e-3])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rtols", type=float, nargs="+", default=[1e-3, 1e-4, 1e-5, 1e-6, 1e-7])
    ap.add_argument("--atols", type=float, nargs="+", default=[3e-5, 1e-5, 3e-6, 1e-6], help="adaptive atol_v values (V)")
    a = ap.parse_args(argv)
    con = connectomes.load("cook2019_herm")
    p = dict(KUNERT2014)
    t_on, t_off, T = 1.0, 3.0, a.duration
    names = list(TOUCH_NEURONS["anterior"])
    idx = con.indices(names)
    base = build_worm(con)
    amp = 10e-3 * input_conductance(base)[idx]
    net = stimulate(base, names, start=t_on, stop=t_off, depolarization=10e-3)
    t_eval = np.arange(0, T, 0.01)

    t0 = time.perf_counter()
    ref, nfev = solve_reference(con, p, idx, amp, t_on, t_off, T, t_eval, rtol=1e-10, atol=1e-14)
    print(f"tight reference (BDF, rtol 1e-10): {time.perf_counter() - t0:.1f} s, {nfev} RHS evaluations; "
          f"largest response {np.abs(ref - ref[0]).max() * 1e3:.2f} mV")

    print(f"\n## neurosim, {T:g} s of worm time, V of all 302 neurons recorded every 10 ms (medians of {a.repeats})")
    print("| solver | loop (s) | JIT/cache (s) | x real time | steps | max error vs reference (mV) | CG iterations/step |")
    print("|---|---|---|---|---|---|---|")
    ours = {}
    configs = [(f"fixed dt {dt * 1e3:g} ms", dict(dt=dt), int(round(0.01 / dt))) for dt in a.dt]
    configs += [(f"adaptive atol_v {atol:g} V", dict(dt=1e-3, adaptive=True, atol_v=atol, atol_s=10 * atol), 10) for atol in a.atols]
    for label, kwargs, every in configs:
        walls, jit = [], 0.0
        for _ in range(a.repeats):
            sim = Simulator(net, **kwargs)
            res = sim.run(T, [StateMonitor("worm", ("v",), every=every)])
            walls.append(res.wall_time)
            jit = res.compile_time
        err = np.abs(res.traces["worm"]["v"] - ref).max()
        wall = statistics.median(walls)
        ours[label] = (wall, err)
        print(f"| {label} | {wall:.4f} | {jit:.2f} | {T / wall:.0f} | {sim.solver_stats[0]} | {err * 1e3:.4f} | "
              f"{sim.solver_stats[1] / sim.solver_stats[0]:.2f} |")

    print(f"\n## scipy solve_ivp (BDF, sparse Jacobian pattern), {T:g} s")
    print("| rtol | time (s) | RHS evaluations | max error vs reference (mV) |")
    print("|---|---|---|---|")
    sweep = []
    for rtol in a.rtols:
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            v, nfev = solve_reference(con, p, idx, amp, t_on, t_off, T, t_eval, rtol=rtol, atol=rtol * 1e-3)
            times.append(time.perf_counter() - t0)
        err = np.abs(v - ref).max()
        sweep.append((rtol, statistics.median(times), err))
        print(f"| {rtol:g} | {statistics.median(times):.2f} | {nfev} | {err * 1e3:.4f} |")

    print("\n## matched accuracy")
    print("| neurosim | its error (mV) | solve_ivp at least as accurate | its error (mV) | speed-up | x real time |")
    print("|---|---|---|---|---|---|")
    for label, (wall, err) in ours.items():
        ok = [(r, t, e) for r, t, e in sweep if e <= err]
        if not ok:
            print(f"| {label} | {err * 1e3:.4f} | none in the sweep | | | {T / wall:.0f} |")
            continue
        r, t, e = max(ok, key=lambda x: x[0])  # loosest tolerance that is at least as accurate
        print(f"| {label} | {err * 1e3:.4f} | rtol {r:g}: {t:.2f} s | {e * 1e3:.4f} | {t / wall:.1f}x | {T / wall:.0f} |")


if __name__ == "__main__":
    main()
