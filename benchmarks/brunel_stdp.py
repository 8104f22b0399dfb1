"""Brunel 10,000 neurons with STDP on the excitatory synapses: neurosim vs Brian2 C++
standalone on the same connectivity (``circuits.reference.brunel``: the network of the
SNNSimulatorComparison benchmark, which published single-thread CPU times per simulated
second of Auryn 8.1 s, Brian2 27.5 s, ANNarchy 61 s and NEST 62 s on its machine).

Each side runs ``--repeats`` times on the same connectivity (drawn once from ``--seed``);
medians are printed, loop time per simulated second (the simulation loop alone: neurosim's
``Results.wall_time``, Brian2's ``device._last_run_time``), with JIT / code generation and
compilation reported apart. Also: memory per plastic synapse in neurosim (weight, indices
and the per-neuron traces, divided by the plastic synapses), rates, and the mean learned
excitatory weight. ``--static`` runs the same network without plasticity as well.

    python benchmarks/brunel_stdp.py --duration 1 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from circuits.reference.brunel import BRUNEL, brunel_connectivity, brunel_network  # noqa: E402
from neurosim import Simulator, SpikeMonitor  # noqa: E402

AURYN_S_PER_S = 8.1  # SNNSimulatorComparison, Benchmarks/Brunel, plastic, one thread (their machine)


def run_neurosim(conn, duration, plastic, seed):
    net = brunel_network(conn, plastic)
    t0 = time.perf_counter()
    sim = Simulator(net, dt=1e-4, dtype=np.float32, seed=seed)
    layout = time.perf_counter() - t0
    res = sim.run(duration, [SpikeMonitor("exc"), SpikeMonitor("inh")])
    n = conn["n_exc"] + conn["n_inh"]
    out = dict(loop_time=res.wall_time, compile_time=res.compile_time, layout_time=layout,
               rate=(len(res.spikes["exc"]) + len(res.spikes["inh"])) / (n * duration), synaptic_events=res.synaptic_events)
    if plastic:
        pl, learn = sim.layout.plastic, sim.learning
        per_synapse = learn.W.nbytes + pl["syn_post"].nbytes + pl["col_syn"].nbytes + pl["col_pre"].nbytes
        shared = (pl["rowptr"].nbytes + pl["colptr"].nbytes + learn.Tpre.nbytes + learn.Tpost.nbytes + learn.last_pre.nbytes
                  + learn.last_post.nbytes + learn.S.nbytes)
        k = net.projections[0].weights[0] / BRUNEL["j_exc"]  # A per V of jump
        out.update(bytes_per_plastic_synapse=(per_synapse + shared) / learn.W.size, plastic_synapses=int(learn.W.size),
                   mean_w_ee_mv=float(sim.weights("ee").mean() / k * 1e3))
    return out


def run_brian2(path, duration, plastic, seed):
    cmd = [sys.executable, "-W", "ignore", "-m", "circuits.reference.brunel", "--connectivity", path, "--duration",
           str(duration), "--seed", str(seed)] + (["--plastic"] if plastic else [])
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=7200)
    for line in out.stdout.splitlines():
        if line.startswith("BRIAN2_RESULT "):
            return json.loads(line.split(" ", 1)[1])
    raise RuntimeError(f"Brian2 standalone failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=1.0, help="simulated s per run (default 1)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="network size factor (1: 10,000 neurons)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--static", action="store_true", help="also run without plasticity")
    ap.add_argument("--no-brian2", action="store_true")
    ap.add_argument("--json", help="write the medians here")
    a = ap.parse_args(argv)
    conn = brunel_connectivity(a.scale, a.seed)
    n = conn["n_exc"] + conn["n_inh"]
    results = {}
    with tempfile.TemporaryDirectory(prefix="brunel_") as tmp:
        path = os.path.join(tmp, "connectivity.npz")
        np.savez(path, n_exc=conn["n_exc"], n_inh=conn["n_inh"], n_noise=conn["n_noise"],
                 **{f"{k}_{end}": conn[k][e] for k in ("ee", "ei", "ie", "ii", "noise") for e, end in enumerate(("pre", "post"))})
        for plastic in ([True, False] if a.static else [True]):
            label = "plastic" if plastic else "static"
            print(f"\n## Brunel {n} neurons, {label}, {a.duration:g} s (medians of {a.repeats})", flush=True)
            ours = [run_neurosim(conn, a.duration, plastic, a.seed + r) for r in range(a.repeats)]
            row = {"neurosim_s_per_s": med(ours, "loop_time") / a.duration, "neurosim_jit_s": med(ours, "compile_time"),
                   "neurosim_rate_hz": med(ours, "rate")}
            if plastic:
                row.update(bytes_per_plastic_synapse=ours[0]["bytes_per_plastic_synapse"],
                           plastic_synapses=ours[0]["plastic_synapses"], neurosim_mean_w_ee_mv=med(ours, "mean_w_ee_mv"))
            print(f"  neurosim  {row['neurosim_s_per_s']:8.2f} s per simulated s (JIT/cache {row['neurosim_jit_s']:.2f} s), "
                  f"rate {row['neurosim_rate_hz']:.1f} Hz", flush=True)
            if plastic:
                print(f"            {row['plastic_synapses']:,} plastic synapses, {row['bytes_per_plastic_synapse']:.2f} bytes each "
                      f"(weight, indices, traces); mean learned E->E weight {row['neurosim_mean_w_ee_mv']:.4f} mV", flush=True)
            if not a.no_brian2:
                theirs = [run_brian2(path, a.duration, plastic, a.seed + r) for r in range(a.repeats)]
                row.update(brian2_s_per_s=med(theirs, "loop_time") / a.duration,
                           brian2_build_s=med(theirs, "total_time") - med(theirs, "loop_time"),
                           brian2_rate_hz=med(theirs, "rate"))
                if plastic:
                    row["brian2_mean_w_ee_mv"] = med(theirs, "mean_w_ee_mv")
                row["speedup"] = row["brian2_s_per_s"] / row["neurosim_s_per_s"]
                print(f"  Brian2 standalone {row['brian2_s_per_s']:8.2f} s per simulated s (code generation + build "
                      f"{row['brian2_build_s']:.0f} s), rate {row['brian2_rate_hz']:.1f} Hz"
                      + (f", mean E->E weight {row['brian2_mean_w_ee_mv']:.4f} mV" if plastic else ""), flush=True)
                print(f"  neurosim is {row['speedup']:.2f}x Brian2 standalone", flush=True)
            if plastic:
                print(f"  (Auryn, published, one thread, another machine: {AURYN_S_PER_S} s per simulated s)", flush=True)
            results[label] = row
    if a.json:
        from neurosim.atomic import atomic_write_json

        atomic_write_json(a.json, results)


if __name__ == "__main__":
    main()
