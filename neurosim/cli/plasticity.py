"""``neurosim stdp song|triplet|conditioning``: the plasticity experiments of the core's
learning rules (``circuits.reference``: ``song2000``, ``pairing``, ``izhikevich2007``)."""
from __future__ import annotations

import os

from .args import INT0, INT1, NONNEG, POSITIVE, add_group

CHOICES = {
    "song": "additive STDP of 1000 Poisson inputs onto one neuron (Song, Miller & Abbott 2000), checked against Brian2",
    "triplet": "triplet STDP under the pairing protocol: weight change vs pairing frequency (Pfister & Gerstner 2006)",
    "conditioning": "reward-modulated STDP: instrumental conditioning of one synapse (Izhikevich 2007, Fig. 1)",
}


def add(sub) -> None:
    """Add ``neurosim stdp song|triplet|conditioning`` to the subcommands ``sub``."""
    p = add_group(sub, "stdp", help="spike-timing-dependent plasticity experiments (figures in --out)",
                  description="Plasticity experiments of neurosim's learning rules.", dest="experiment", choices=CHOICES)
    s = p["song"]
    s.add_argument("--inputs", type=INT1, default=1000, help="Poisson inputs (default 1000)")
    s.add_argument("--duration", type=POSITIVE, default=100.0, help="simulated time in s (default 100)")
    s.add_argument("--compare", type=NONNEG, default=10.0, help="first s run in Brian2 too and compared (default 10; 0: none)")
    s.add_argument("--seed", type=INT0, default=0)
    s.add_argument("--out", default="runs/stdp-song")
    t = p["triplet"]
    t.add_argument("--pairs", type=INT1, default=60, help="pairings per frequency (default 60)")
    t.add_argument("--out", default="runs/stdp-triplet")
    c = p["conditioning"]
    c.add_argument("--duration", type=POSITIVE, default=1800.0, help="simulated time in s (default 1800)")
    c.add_argument("--reward", type=POSITIVE, default=20.0, help="dopamine one reward adds, 1/s (default 20)")
    c.add_argument("--seed", type=INT0, default=0)
    c.add_argument("--out", default="runs/stdp-conditioning")
    for q in p.values():
        q.add_argument("--no-progress", action="store_true")
        q.set_defaults(func=run, parser=q)


def run(a) -> int:
    """Run the plasticity experiment ``neurosim stdp`` names and print its figures; returns the exit status."""
    return {"song": _song, "triplet": _triplet, "conditioning": _conditioning}[a.experiment](a)


def _song(a) -> int:
    from circuits.reference.song2000 import song_experiment

    s = song_experiment(a.inputs, a.duration, min(a.compare, a.duration), seed=a.seed, out=a.out, progress=not a.no_progress)
    print(f"Song et al. (2000): {a.inputs} inputs, {a.duration:g} s: {s['output_spikes']} output spikes "
          f"({s['output_rate_hz']:.1f} Hz), loop {s['loop_time_s']:.2f} s")
    print(f"  final weights: {100 * s['fraction_below_0_1']:.0f}% below 0.1 g_max, {100 * s['fraction_above_0_9']:.0f}% "
          "above 0.9 g_max (bimodal)")
    if "compared_s" in s:
        print(f"  against Brian2 over the first {s['compared_s']:g} s: spikes identical: {s['spikes_identical']} "
              f"({s['brian2_spikes']} in Brian2); largest weight difference over {s['samples_compared']:,} samples: "
              f"{s['max_weight_difference_rel_gmax']:.2g} g_max")
    print(f"  wrote {os.path.join(a.out, 'song_stdp.png')}, song_stdp.json")
    return 0


def _triplet(a) -> int:
    import numpy as np

    from circuits.reference.pairing import frequency_dependence, plot_frequency_dependence
    from neurosim.atomic import atomic_write_json
    from neurosim.models import TripletSTDP

    freqs = [0.1, 1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    res = frequency_dependence(TripletSTDP(w_min=-1e3, w_max=1e3), freqs, n_pairs=a.pairs)
    os.makedirs(a.out, exist_ok=True)
    plot_frequency_dependence(res, os.path.join(a.out, "triplet_frequency.png"), a.pairs)
    atomic_write_json(os.path.join(a.out, "triplet_frequency.json"),
                      {k: np.asarray(v).tolist() for k, v in res.items()})
    print(f"Triplet STDP (visual cortex, minimal all-to-all), {a.pairs} pairings, weight change (% of a unit weight):")
    print("  frequency (Hz) " + " ".join(f"{f:>7g}" for f in freqs))
    for k, lag in enumerate(res["lags"]):
        print(f"  {lag * 1e3:+5.0f} ms      " + " ".join(f"{100 * v:7.1f}" for v in res["engine"][k]))
    print(f"  largest difference from the equations: {np.abs(res['engine'] - res['expected']).max():.2g}")
    print(f"  wrote {os.path.join(a.out, 'triplet_frequency.png')}")
    return 0


def _conditioning(a) -> int:
    from circuits.reference.izhikevich2007 import plot_conditioning, run_conditioning
    from neurosim.atomic import atomic_write_json

    r = run_conditioning(a.duration, reward=a.reward, seed=a.seed, progress=not a.no_progress)
    os.makedirs(a.out, exist_ok=True)
    plot_conditioning(r, os.path.join(a.out, "conditioning.png"))
    others = r["w_others"][-1] / r["w_max"]
    summary = dict(duration_s=a.duration, rewards=int(r["rewards"].size), chosen_final=float(r["w_chosen"][-1] / r["w_max"]),
                   others_mean_final=float(others.mean()), others_above_0_9=float((others > 0.9).mean()),
                   loop_time_s=r["wall_time"])
    atomic_write_json(os.path.join(a.out, "conditioning.json"), summary)
    print(f"Izhikevich (2007) conditioning, {a.duration:g} s: {summary['rewards']} rewards; reinforced synapse "
          f"{r['n1']}->{r['n2']} ends at {summary['chosen_final']:.2f} w_max, the others at {summary['others_mean_final']:.2f} "
          f"on average ({100 * summary['others_above_0_9']:.1f}% above 0.9 w_max); loop {r['wall_time']:.1f} s")
    print(f"  wrote {os.path.join(a.out, 'conditioning.png')}")
    return 0
