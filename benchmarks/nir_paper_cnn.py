"""The NIR paper's N-MNIST CNN (``cnn_sinabs.nir``, Sinabs's IF neurons; Pedersen et al. 2024)
in neurosim's torch layers vs Norse's import of the same file, in one process.

Samples: the first ``--samples`` of ``../shared/data/nmnist_small``, binned as the paper's
platforms bin them (event counts in 1 ms frames), each run from rest at its own length, one
at a time in both (as the paper's ``norse_apply.ipynb`` does; neurosim also batched, as
``circuits.nmnist.nir_paper.classify_frames`` runs them). Prints each one's accuracy, how
many decisions and output spike trains are the same, and the time per sample (medians;
neurosim's first call apart).

    python benchmarks/nir_paper_cnn.py [--samples 100] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from circuits import SHARED_DATA  # noqa: E402
from circuits.nmnist.nir_paper import classify_frames, nmnist_frames  # noqa: E402
from hardware.nir import from_nir  # noqa: E402
from hardware.nir.peers import run_norse  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--data", default=str(SHARED_DATA))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    path = os.path.join(a.data, "nir_paper", "cnn_sinabs.nir")
    frames, labels = nmnist_frames(os.path.join(a.data, "nmnist_small"), indices=range(a.samples))
    model = from_nir(path, dt=1e-3)
    ours, theirs, t_ours, t_theirs, same_spikes = [], [], [], [], 0
    for k, x in enumerate(frames):
        t0 = time.perf_counter()
        with torch.no_grad():
            out = model(torch.from_numpy(x[:, None])).numpy()[:, 0]  # (T, 10)
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        norse = run_norse(path, x[None], 1e-3)["12"]["spikes"].reshape(out.shape)
        t_theirs.append(time.perf_counter() - t0)
        ours.append(out.sum(0).argmax())
        theirs.append(norse.sum(0).argmax())
        same_spikes += bool(np.array_equal(out > 0, norse > 0))
        print(f"\r{k + 1}/{len(frames)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    t0 = time.perf_counter()
    batched, _ = classify_frames(model, frames)
    t_batched = (time.perf_counter() - t0) / len(frames)
    ours, theirs = np.array(ours), np.array(theirs)
    med_ours, med_theirs = statistics.median(t_ours[1:] or t_ours), statistics.median(t_theirs)
    result = {"samples": len(frames), "accuracy_neurosim": float((ours == labels).mean()),
              "accuracy_norse": float((theirs == labels).mean()), "same_decisions": float((ours == theirs).mean()),
              "same_output_spikes": same_spikes / len(frames), "batched_equals_one_by_one": bool(np.array_equal(batched, ours)),
              "s_per_sample_neurosim": med_ours, "s_per_sample_neurosim_batched": t_batched, "s_per_sample_norse": med_theirs,
              "neurosim_first_call_s": t_ours[0]}
    print(f"| samples | accuracy neurosim | accuracy Norse | same decisions | same output spikes | s/sample neurosim "
          f"(batched) | s/sample Norse | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {len(frames)} | {100 * result['accuracy_neurosim']:.1f}% | {100 * result['accuracy_norse']:.1f}% | "
          f"{100 * result['same_decisions']:.1f}% | {100 * result['same_output_spikes']:.1f}% | {med_ours:.3f} ({t_batched:.3f}) | "
          f"{med_theirs:.2f} | {med_theirs / med_ours:.0f}x ({med_theirs / t_batched:.0f}x batched) |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
