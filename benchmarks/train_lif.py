"""Training-step speed of a spiking layer: Linear(n, n) + LIF, batch 16, T = 100 steps,
forward and backward, float32, 2 threads, for n in {512, 2048, 8192}: neurosim vs snnTorch
(``Leaky``) vs Norse (``LIFBoxCell`` stepped, and ``LIF`` on a whole sequence).

Each peer runs as its documentation shows: snnTorch and Norse's cell step through time
calling the Linear layer each step; Norse's ``LIF`` module and neurosim take the Linear
output for the whole sequence at once (one matrix product) and run the recurrence over it.
neurosim uses ``neurosim.nn.LIF`` (no synaptic filter, like the peers' neurons), with the
same decay. Implementations alternate within each round (drift on a noisy machine hits
all alike); medians of ``--repeats`` timed rounds after ``--warmup`` rounds.

    python benchmarks/train_lif.py [--sizes 512 2048 8192] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import neurosim.nn as nsnn  # noqa: E402
from neurosim import CubaLIF  # noqa: E402

T, B = 100, 16
DT = 1e-3
NEURON = CubaLIF(tau_mem=10e-3, t_ref=0.0, v_reset=CubaLIF().v_rest)


BETA = float(torch.exp(torch.tensor(-DT / NEURON.tau_mem)))


def make_input(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, B, n, generator=g) < 0.1).float()


def make_linear(n, gain):
    """The same weights for every implementation (normal, std 3/sqrt(n)), times ``gain``:
    snnTorch's Leaky adds its input to the membrane (gain 1); Norse's and neurosim's LIF
    scale it by (1 - beta), so they get 1/(1 - beta) and see the same drive."""
    g = torch.Generator().manual_seed(1)
    fc = torch.nn.Linear(n, n)
    with torch.no_grad():
        fc.weight.copy_(torch.randn(n, n, generator=g) * 3.0 / n**0.5 * gain)
        fc.bias.zero_()
    return fc


def neurosim_model(n):
    fc = make_linear(n, 1 / (1 - BETA))
    lif = nsnn.LIF(NEURON, dt=DT)

    def fwd(x):
        s, _ = lif(fc(x))
        return s
    return fc, fwd


def stepped(fc, cell, initial_state):
    """The documented step-by-step use: ``out_t, state = cell(fc(x_t), state)``."""

    def fwd(x):
        state = initial_state()
        out = []
        for t in range(T):
            z, state = cell(fc(x[t]), state)
            out.append(z)
        return torch.stack(out)
    return fwd


def snntorch_model(n):
    import snntorch as snt

    fc = make_linear(n, 1.0)
    lif = snt.Leaky(beta=BETA)
    return fc, stepped(fc, lif, lif.init_leaky)


def norse_cell_model(n):
    from norse.torch import LIFBoxCell, LIFBoxParameters

    fc = make_linear(n, 1 / (1 - BETA))
    cell = LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.tensor(1 / NEURON.tau_mem)), dt=DT)
    return fc, stepped(fc, cell, lambda: None)


def norse_sequence_model(n):
    from norse.torch import LIF, LIFParameters

    fc = make_linear(n, 1 / (1 - BETA))
    lif = LIF(LIFParameters(tau_mem_inv=torch.tensor(1 / NEURON.tau_mem)), dt=DT)

    def fwd(x):
        z, _ = lif(fc(x))
        return z
    return fc, fwd


def run_once(fc, fwd, x):
    fc.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    out = fwd(x)
    loss = out.sum() + 1e-3 * (out * torch.linspace(0, 1, out.shape[-1])).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    assert fc.weight.grad is not None and torch.isfinite(fc.weight.grad).all()
    return t1 - t0, t2 - t1, float(out.detach().mean())


def time_models(peers, n, warmup, repeats):
    """Interleaved rounds (every implementation once per round), so that slow drifts of a
    noisy machine hit all of them alike; medians over the timed rounds."""
    x = make_input(n)
    built = {name: build(n) for name, build in peers}
    times = {name: [] for name in built}
    for k in range(warmup + repeats):
        for name, (fc, fwd) in built.items():
            f, b, rate = run_once(fc, fwd, x)
            if k >= warmup:
                times[name].append((f, b, rate))
    return {name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts), ts[-1][2]) for name, ts in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 2048, 8192])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(a.threads))
    peers = [("neurosim LIF", neurosim_model), ("snnTorch Leaky", snntorch_model), ("Norse LIFBoxCell (stepped)", norse_cell_model),
             ("Norse LIF (sequence)", norse_sequence_model)]
    print(f"Linear(n, n) + LIF, batch {B}, T = {T}, float32, {a.threads} threads; medians of {a.repeats} after {a.warmup} warm-up runs")
    for n in a.sizes:
        rows = time_models(peers, n, a.warmup, a.repeats)
        ours = sum(rows["neurosim LIF"][:2])
        print(f"\n## n = {n}")
        print("| implementation | forward (s) | backward (s) | forward + backward (s) | neurosim speed-up | mean spike rate |")
        print("|---|---|---|---|---|---|")
        for name, (f, b, rate) in rows.items():
            print(f"| {name} | {f:.4f} | {b:.4f} | {f + b:.4f} | {'' if name.startswith('neurosim') else f'{(f + b) / ours:.2f}x'} | {rate:.3f} |")


if __name__ == "__main__":
    main()
