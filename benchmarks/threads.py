"""The multi-threaded engine (``Simulator(threads=N)``, ``neurosim.engine.threads``) against
one thread, same process, same networks: CUBA (Brette et al. 2007) with 4000 neurons and
with 32,000 neurons (80 inputs each), 10 s, and the 100,000-neuron scale network
(``benchmarks/scale.py``: 10 M synapses, delays of 1-16 steps), 1 s; and 256 unconnected
neurons for 10 s, whose step is almost all synchronisation; dt = 0.1 ms, float32.
Loop time only (``Results.wall_time``; JIT excluded by a warm-up run), medians of
``--repeats`` runs with the thread counts alternating; the spikes of every thread count are
checked to be identical to one thread's.

    python benchmarks/threads.py [--threads 1 2] [--repeats 3] [--cases cuba4000 cuba32000 scale100k sync256]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from circuits.reference.cuba import cuba_network  # noqa: E402
from neurosim import CubaLIF, Network, Population, Simulator, SpikeMonitor  # noqa: E402

CASES = {
    "cuba4000": ("CUBA 4000 neurons, 10 s", lambda: (cuba_network(4000), "cuba"), 10.0),
    "cuba32000": ("CUBA 32,000 neurons (80 inputs each), 10 s", lambda: (cuba_network(32000, n_inputs=80), "cuba"), 10.0),
    "scale100k": ("100,000 neurons, 10 M synapses, delays 1-16 steps, 1 s", None, 1.0),
    # no synapses, no spikes: what a step costs beyond the work, i.e. the threads' exchange
    "sync256": ("256 unconnected neurons, 10 s (the cost of synchronising)",
                lambda: (Network(populations=[Population("p", CubaLIF(), 256)]), "p"), 10.0),
}


def network(case):
    if case == "scale100k":
        from scale import build

        return build(100_000, 100, 0, 16), "net"
    return CASES[case][1]()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    a = ap.parse_args(argv)
    rows = []
    for case in a.cases:
        title, _, duration = CASES[case]
        net, pop = network(case)
        times = {t: [] for t in a.threads}
        spikes = {}
        for _ in range(a.repeats):
            for t in a.threads:
                sim = Simulator(net, dt=1e-4, dtype=np.float32, threads=t)
                sim.run(1e-3)  # JIT or cache load
                sim.reset()
                res = sim.run(duration, SpikeMonitor(pop))
                times[t].append(res.wall_time)
                st = res.spikes[pop]
                spikes.setdefault(t, (np.round(st.times / 1e-4).astype(np.int64), st.ids))
        base = spikes[a.threads[0]]
        same = all(np.array_equal(spikes[t][0], base[0]) and np.array_equal(spikes[t][1], base[1]) for t in a.threads)
        med = {t: float(np.median(v)) for t, v in times.items()}
        rows.append((title, med, len(base[0]), same))
        print(f"{title}: " + ", ".join(f"{t} thread(s) {med[t]:.3f} s" for t in a.threads)
              + f"; spikes {len(base[0]):,}, identical: {same}", flush=True)
    print(f"\nloop time, medians of {a.repeats}; ratio: 1 thread / N threads")
    print("| network | " + " | ".join(f"{t} thread(s)" for t in a.threads) + " | " +
          " | ".join(f"speed-up x{t}" for t in a.threads[1:]) + " | spikes identical |")
    print("|---|" + "---|" * (2 * len(a.threads)))
    for title, med, n, same in rows:
        one = med[a.threads[0]]
        print(f"| {title} | " + " | ".join(f"{med[t]:.3f} s" for t in a.threads) + " | "
              + " | ".join(f"{one / med[t]:.2f}x" for t in a.threads[1:]) + f" | {'yes' if same else 'NO'} ({n:,}) |")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
