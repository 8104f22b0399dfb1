"""Loihi 2 fixed-point arithmetic: neurosim's Numba engine vs Lava's bit-accurate simulator
(``Loihi2SimCfg(select_tag="fixed_pt")``, lava-nc 0.10.0) on the same quantised network,
in one process.

The network is a Loihi-compatible random E/I network in the spirit of the CUBA benchmark:
``n`` CuBa-LIF neurons (80% excitatory), connection probability ``80 / n`` (80 inputs per
neuron), tau_mem 20 ms, tau_syn 5 ms (one synaptic current, as Loihi has), reset to rest, no
refractory period, driven by 200 Poisson inputs at 20 Hz; dt = 1 ms. Every run checks that
both give identical spikes. Times are medians of ``--repeats`` runs: the engine's loop
(``Results.wall_time``; its first call, which compiles or loads the JIT cache, is reported
apart), Lava's ``run`` call (its loop; ``Results.wall_time`` of ``run_lava``) and Lava's
whole ``run_lava`` (building the processes, start-up, the run, reading the spikes back).

    python benchmarks/loihi_fixed_point.py [--sizes 1000 4000] [--steps 1000] [--repeats 3] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hardware.loihi import map_network, quantize, run_fixed, run_lava  # noqa: E402
from neurosim import CubaLIF, Network, Population, Projection, SpikeSource  # noqa: E402

DT = 1e-3
# weights as the membrane step (V) their current would give if held (R w); a spike moves the
# membrane by ~17% of that with these time constants
W_IN, W_EXC, W_INH = 20e-3, 5e-3, -40e-3


def build(n: int, steps: int, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    m = CubaLIF(tau_mem=20e-3, tau_syn_e=5e-3, tau_syn_i=5e-3, t_ref=0.0, v_reset=-70e-3, v_rest=-70e-3, v_th=-50e-3)
    r = m.tau_mem / m.c_mem
    n_exc = int(0.8 * n)
    p = min(1.0, 80 / n)
    mask = rng.random((n, n)) < p
    w = np.where(np.arange(n)[:, None] < n_exc, W_EXC, W_INH) / r * mask
    n_in = 200
    n_sp = rng.poisson(20 * n_in * steps * DT)
    src = SpikeSource("poisson", n_in, rng.uniform(0, steps * DT, n_sp), rng.integers(0, n_in, n_sp))
    w_in = (rng.random((n_in, n)) < 0.1) * W_IN / r
    return Network([Population("net", m, n)], [src],
                   [Projection.from_dense("poisson", "net", w_in, name="input"), Projection.from_dense("net", "net", w, name="recurrent")])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    rows = []
    for n in a.sizes:
        q, _ = quantize(map_network(build(n, a.steps), DT, a.steps))
        t0 = time.perf_counter()
        run_fixed(q, record_v=[])
        first_call = time.perf_counter() - t0
        eng, lava, lava_total, spikes = [], [], [], None
        for _ in range(a.repeats):
            res, ints = run_fixed(q, record_v=[])
            eng.append(res.wall_time)
            t0 = time.perf_counter()
            lava_res, lava_ints = run_lava(q, "fixed_pt", record_v=[])
            lava_total.append(time.perf_counter() - t0)
            lava.append(lava_res.wall_time)
            if not np.array_equal(ints["net"]["spikes"], lava_ints["net"]["spikes"]):
                print(f"n = {n}: spikes DIFFER between the engine and Lava", file=sys.stderr)
                return 1
            spikes = int(ints["net"]["spikes"].sum())
        row = {"n": n, "steps": a.steps, "synapses": int(sum(pr.weights.nnz for pr in q.projections)), "spikes": spikes,
               "rate_hz": spikes / (n * a.steps * DT), "engine_s": statistics.median(eng), "engine_first_call_s": first_call,
               "lava_s": statistics.median(lava), "lava_total_s": statistics.median(lava_total)}
        row["speedup"] = row["lava_s"] / row["engine_s"]
        rows.append(row)
        print(f"n = {n}: {row['synapses']} synapses, {spikes} spikes ({row['rate_hz']:.1f} Hz), identical in both; "
              f"Numba engine {row['engine_s']:.4f} s (first call {first_call:.2f} s), Lava fixed_pt run {row['lava_s']:.2f} s "
              f"(all in {row['lava_total_s']:.2f} s): {row['speedup']:.0f}x", flush=True)
    print("\n| neurons | synapses | steps | spikes | Numba engine (s) | engine first call (s) | Lava fixed_pt run (s) | "
          "Lava, all (s) | speed-up (run / run) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']} | {r['synapses']} | {r['steps']} | {r['spikes']} | {r['engine_s']:.4f} | {r['engine_first_call_s']:.2f} | "
              f"{r['lava_s']:.2f} | {r['lava_total_s']:.2f} | {r['speedup']:.0f}x |")
    if a.json:
        from neurosim.atomic import atomic_write_text

        atomic_write_text(a.json, json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
