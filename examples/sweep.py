"""A parameter sweep of the whole worm on Dask: gap-junction and synaptic conductances on a
grid, every point a simulation of the worm (with the shipped fitted parameters) whose
anterior touch receptors are stimulated; results as a Parquet table and a heatmap.

    python examples/sweep.py [--workers 2] [--quick]               # a LocalCluster on this machine
    python examples/sweep.py --scheduler tcp://HOST:8786            # a cluster started by hand:
        dask scheduler --port 8786                                  #   on one machine
        dask worker tcp://HOST:8786 --nworkers 4 --nthreads 1       #   on each machine
"""
import argparse
from pathlib import Path

import matplotlib
import numpy as np

import circuits.worm.sweep  # noqa: F401  (registers the sweep task "worm")
from neurosim.sweep import SweepSpec, run_sweep

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (default: a LocalCluster)")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    ap.add_argument("--out", default="runs/examples/sweep")
    ap.add_argument("--quick", action="store_true", help="2 x 2 points of 0.3 s instead of 4 x 5 of 1 s")
    a = ap.parse_args()

    n_syn, n_gap, duration = (2, 2, 0.3) if a.quick else (4, 5, 1.0)
    spec = SweepSpec("worm", base={"params": "fitted", "duration": duration, "stop": min(0.7, duration)},
                     grid={"g_syn": np.linspace(50e-12, 200e-12, n_syn).tolist(),
                           "g_gap": np.geomspace(20e-12, 300e-12, n_gap).tolist()})
    print(f"{spec.n_points} points on {a.scheduler or f'a LocalCluster of {a.workers} workers'}")
    # resume=True: a rerun (or a run after an interruption) computes only the points not yet done
    df = run_sweep(spec, a.out, scheduler=a.scheduler, n_workers=a.workers, resume=True, progress=False)
    print(df[["g_syn", "g_gap", "stim_peak_mV", "n_responding", "status"]].to_string(index=False))

    table = df.pivot(index="g_syn", columns="g_gap", values="n_responding")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    im = ax.imshow(table.values, origin="lower", aspect="auto")
    ax.set(xticks=range(n_gap), xticklabels=[f"{g * 1e12:.0f}" for g in table.columns], xlabel="g_gap (pS)",
           yticks=range(n_syn), yticklabels=[f"{g * 1e12:.0f}" for g in table.index], ylabel="g_syn (pS)",
           title="neurons moved by > 1 mV")
    fig.colorbar(im)
    fig.savefig(Path(a.out) / "n_responding.png", dpi=120, bbox_inches="tight")
    print(f"wrote {a.out}/results.parquet and {a.out}/n_responding.png")


if __name__ == "__main__":  # Dask starts its worker processes by importing this file anew
    main()
