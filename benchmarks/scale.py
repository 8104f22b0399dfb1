"""Scale benchmark: a 100,000-neuron CUBA-style network with 100 synapses per neuron
(10 M synapses) and heterogeneous delays (1-16 steps), 1 s of biological time at
dt = 0.1 ms. Reports build time, JIT time, loop time, spikes, peak resident memory and the
engine's bytes per synapse (postsynaptic index + weight + delay). There is no peer here:
the figure of merit is memory per synapse (goal <= 12 bytes, delays included).

    python benchmarks/scale.py [--n 100000] [--k 100] [--duration 1] [--dtype float32]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from circuits.reference.cuba import W_E, W_I, cuba_connectivity, cuba_model  # noqa: E402
from neurosim import Network, Population, Projection, Simulator, SpikeMonitor  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


DT = 1e-4


def build(n, k, seed, max_delay):
    model = cuba_model()
    r = model.tau_mem / model.c_mem
    scale = 80.0 / k
    rng = np.random.default_rng(seed)
    n_exc = int(0.8 * n)
    pre, post = cuba_connectivity(n, k / n, seed + 1)
    delays = (rng.integers(1, max_delay + 1, pre.size) - 1) * DT  # 1..max_delay steps: 0..max_delay - 1 steps in transit
    exc = pre < n_exc
    pop = Population("net", model, n, {"v": model.v_reset + rng.random(n) * (model.v_th - model.v_reset)})
    projs = [Projection.from_pairs("net", "net", pre[sel], post[sel], np.float32(w / r * scale), n, delays[sel], target, name=target)
             for sel, w, target in ((exc, W_E, "exc"), (~exc, W_I, "inh"))]
    del pre, post, delays, exc
    return Network([pop], projections=projs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=100, help="synapses per neuron (expected)")
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--max-delay", type=int, default=16, help="delays drawn uniformly in 1..max (steps)")
    a = ap.parse_args(argv)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    net = build(a.n, a.k, 0, a.max_delay)
    t_build = time.perf_counter() - t0
    n_syn = net.n_synapses
    t0 = time.perf_counter()
    sim = Simulator(net, dt=1e-4, dtype=getattr(np, a.dtype))
    t_layout = time.perf_counter() - t0
    res = sim.run(a.duration, [SpikeMonitor("net")], progress=True)
    st = res.spikes["net"]
    lay = sim.layout
    engine_bytes = lay.synapse_bytes()
    desc_bytes = sum(p.indices.nbytes + p.weights.nbytes + p.delays.nbytes for p in net.projections)
    print(f"scale: {a.n:,} neurons, {n_syn:,} synapses, delays 1-{a.max_delay} steps, {a.duration:g} s at dt 0.1 ms ({a.dtype})")
    print(f"  build network {t_build:.1f} s, engine layout {t_layout:.1f} s, JIT/cache load {res.compile_time:.2f} s")
    print(f"  simulation loop {res.wall_time:.2f} s: {len(st):,} spikes, mean rate {st.mean_rate():.2f} Hz, "
          f"{len(st) * n_syn / a.n / res.wall_time:.3g} synaptic events/s")
    print(f"  engine synapse storage: {engine_bytes / n_syn:.2f} bytes/synapse "
          f"(index {lay.indices.itemsize} + weight {lay.weights.itemsize} + delay {lay.delays.itemsize if lay.delays.size else 0}), "
          f"plus {lay.indptr.nbytes / n_syn:.2f} bytes/synapse of row pointers and a {lay.ring_len} x {2 * a.n} ring buffer "
          f"({sim.ring.nbytes / 1e6:.1f} MB)")
    print(f"  Network description: {desc_bytes / n_syn:.2f} bytes/synapse")
    print(f"  peak resident memory {peak_rss_mb():.0f} MB (interpreter and libraries before building: {rss0:.0f} MB)")


if __name__ == "__main__":
    main()
