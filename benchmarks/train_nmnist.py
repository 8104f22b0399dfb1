"""End-to-end training speed on N-MNIST: the same convolutional CuBa-LIF classifier trained
for whole epochs in neurosim, snnTorch and Norse on the same data, same initial weights,
same batches, same optimiser; time per epoch and held-out accuracy.

The network is ``circuits.nmnist.classifier.NMNISTNet`` (Conv 2->16 5x5, CuBa-LIF, avg-pool
2, Conv 16->32, CuBa-LIF, avg-pool 2, Linear 2048->10, leaky-integrator readout whose
maximum over time is the logit), 20 time bins of 15.5 ms, on the 800 training samples of
``../shared/data/nmnist_small`` (the stratified split of ``neurosim train nmnist``), batch
25, random shifts of up to 2 pixels, Adam lr 2e-3, float32, 2 threads. Each peer runs in
its documented form:

- neurosim: ``neurosim.nn`` layers on whole sequences (T, B, ...): one convolution over all
  time steps, then the Numba recurrence kernels;
- snnTorch: ``snn.Synaptic`` (its CuBa-LIF: ``syn = alpha syn + x``, ``mem = beta mem +
  syn``, reset to zero), stepped through time with the layers called at every step, as its
  convolutional tutorials do; readout ``snn.Synaptic`` without reset;
- Norse: ``SequentialState`` of ``Lift(conv)``, ``LIF`` (sequence module) ..., ``LI``
  readout.

The same dynamics in all three: the synaptic and membrane decays are neurosim's exact
per-step coefficients (``a_e``, ``a_m``; for Norse ``tau_syn_inv = (1 - a_e)/dt``,
``tau_mem_inv = (1 - a_m)/dt``, whose forward-Euler step is then the same recurrence), and
each layer's weights are neurosim's initial weights times the input gain that makes the
drive equal (snnTorch adds its input to the membrane: ``k``; Norse scales it by
``1 - a_m``: ``k / (1 - a_m)``). Surrogate: SuperSpike / fast sigmoid with slope 5 in all
(snnTorch ``fast_sigmoid(slope=5)``, Norse ``method="super", alpha=5``). What still
differs: snnTorch resets a neuron one step after its spike and drops that step's input.

    python benchmarks/train_nmnist.py --epochs 3 --repeats 3 [--json runs/bench/train_nmnist.json]

Prints per implementation the median over repeats of the training time of each epoch (the
training loop alone: forward, backward and optimiser step; evaluation timed apart) and the
held-out accuracy after the last epoch; implementations alternate within each repeat.
Every implementation runs with freed memory kept for the next batch
(``neurosim.nn.keep_freed_memory``, process-wide; ``--default-malloc`` turns it off).
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circuits.nmnist.classifier import SAMPLE_DURATION, NMNISTNet, _Loader, load_frames  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "nmnist_small"
TIME_BINS = 20
DT = SAMPLE_DURATION / TIME_BINS
SLOPE = 5.0  # the hidden layers' surrogate slope in NMNISTNet


def _scaled(layer: torch.nn.Module, gain: float) -> torch.nn.Module:
    out = copy.deepcopy(layer)
    with torch.no_grad():
        out.weight.mul_(gain)
        out.bias.mul_(gain)
    return out


class SnnTorchNet(torch.nn.Module):
    """NMNISTNet in snnTorch, stepped through time."""

    def __init__(self, ref: NMNISTNet):
        import snntorch as snn
        from snntorch import surrogate

        super().__init__()
        co, ro = ref.features[1].coef, ref.readout.coef
        self.conv1 = _scaled(ref.features[0].module, co.k)
        self.conv2 = _scaled(ref.features[3].module, co.k)
        self.fc = _scaled(ref.fc.module, ro.k)
        self.pool = torch.nn.AvgPool2d(2)
        grad = surrogate.fast_sigmoid(slope=SLOPE)
        self.lif1 = snn.Synaptic(alpha=co.a_e, beta=co.a_m, spike_grad=grad, reset_mechanism="zero")
        self.lif2 = snn.Synaptic(alpha=co.a_e, beta=co.a_m, spike_grad=grad, reset_mechanism="zero")
        self.out = snn.Synaptic(alpha=ro.a_e, beta=ro.a_m, reset_mechanism="none")

    def forward(self, x):
        syn1, mem1 = self.lif1.init_synaptic()
        syn2, mem2 = self.lif2.init_synaptic()
        syn3, mem3 = self.out.init_synaptic()
        mems = []
        for t in range(x.shape[0]):
            s1, syn1, mem1 = self.lif1(self.conv1(x[t]), syn1, mem1)
            s2, syn2, mem2 = self.lif2(self.conv2(self.pool(s1)), syn2, mem2)
            _, syn3, mem3 = self.out(self.fc(self.pool(s2).flatten(1)), syn3, mem3)
            mems.append(mem3)
        return torch.stack(mems).max(0).values


class NorseNet(torch.nn.Module):
    """NMNISTNet in Norse: sequence modules over (T, B, ...)."""

    def __init__(self, ref: NMNISTNet):
        import norse.torch as norse

        super().__init__()
        co, ro = ref.features[1].coef, ref.readout.coef
        p = norse.LIFParameters(tau_syn_inv=torch.tensor((1 - co.a_e) / DT), tau_mem_inv=torch.tensor((1 - co.a_m) / DT),
                                v_leak=torch.tensor(0.0), v_th=torch.tensor(1.0), v_reset=torch.tensor(0.0), method="super",
                                alpha=torch.tensor(SLOPE))
        pli = norse.LIParameters(tau_syn_inv=torch.tensor((1 - ro.a_e) / DT), tau_mem_inv=torch.tensor((1 - ro.a_m) / DT),
                                 v_leak=torch.tensor(0.0))
        self.model = norse.SequentialState(
            norse.Lift(_scaled(ref.features[0].module, co.k / (1 - co.a_m))), norse.LIF(p, dt=DT),
            norse.Lift(torch.nn.AvgPool2d(2)),
            norse.Lift(_scaled(ref.features[3].module, co.k / (1 - co.a_m))), norse.LIF(p, dt=DT),
            norse.Lift(torch.nn.AvgPool2d(2)), norse.Lift(torch.nn.Flatten(1)),
            norse.Lift(_scaled(ref.fc.module, ro.k / (1 - ro.a_m))), norse.LI(pli, dt=DT),
        )

    def forward(self, x):
        u, _ = self.model(x)
        return u.max(0).values


def build(name: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    ref = NMNISTNet(DT)  # the initial weights every implementation starts from
    return {"neurosim": lambda: ref, "snntorch": lambda: SnnTorchNet(ref), "norse": lambda: NorseNet(ref)}[name]()


def accuracy(model, frames, labels, idx) -> float:
    model.eval()
    with torch.no_grad():
        hits = sum(int((model(x).argmax(1) == y).sum()) for x, y in _Loader(frames, labels, idx, 100))
    model.train()
    return hits / len(idx)


def train(name: str, data, epochs: int, seed: int) -> dict:
    """``epochs`` epochs from the same start; returns seconds per epoch and final accuracies."""
    frames, labels, train_idx, test_idx = data
    model = build(name, seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    seconds, losses = [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        batch_losses = []
        for x, y in _Loader(frames, labels, train_idx, 25, gen, max_shift=2):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            batch_losses.append(float(loss))
        seconds.append(time.perf_counter() - t0)
        losses.append(sum(batch_losses) / len(batch_losses))
    t0 = time.perf_counter()
    acc = accuracy(model, frames, labels, test_idx)
    return {"epoch_seconds": seconds, "eval_seconds": time.perf_counter() - t0, "test_accuracy": acc, "train_loss": losses}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="rounds; each trains every implementation from the same start")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="+", default=["neurosim", "snntorch", "norse"], choices=["neurosim", "snntorch", "norse"])
    ap.add_argument("--default-malloc", action="store_true",
                    help="leave glibc's allocator as it is (by default every implementation runs with "
                         "neurosim.nn.keep_freed_memory, as neurosim's training loop does)")
    ap.add_argument("--json", help="write the results here as well")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.default_malloc:
        from neurosim.nn import keep_freed_memory

        keep_freed_memory()  # process-wide: the peers get it too
    frames, labels, ds = load_frames(DATA, TIME_BINS)
    train_ds, test_ds = ds.split(0.2, seed=args.seed)
    data = (frames, labels, train_ds.indices, test_ds.indices)
    # warm-up: JIT compilation and first-touch allocations stay out of the timed rounds
    for name in args.only:
        train(name, (frames, labels, train_ds.indices[:25], test_ds.indices[:10]), 1, args.seed)
    runs = {name: [] for name in args.only}
    for r in range(args.repeats):
        for name in args.only:
            runs[name].append(train(name, data, args.epochs, args.seed))
            last = runs[name][-1]
            print(f"round {r + 1} {name}: epochs {', '.join(f'{s:.2f}' for s in last['epoch_seconds'])} s, "
                  f"held-out {last['test_accuracy']:.3f}", flush=True)
    print(f"\nN-MNIST, {len(train_ds.indices)} training samples, batch 25, T = {TIME_BINS}, {args.epochs} epoch(s), "
          f"{args.threads} threads, {'default malloc' if args.default_malloc else 'freed memory kept'}; "
          f"medians of {args.repeats}")
    print("| implementation | s per epoch | held-out accuracy | neurosim speed-up |")
    print("|---|---|---|---|")
    med = {name: statistics.median(s for run in rs for s in run["epoch_seconds"]) for name, rs in runs.items()}
    for name, rs in runs.items():
        acc = statistics.median(run["test_accuracy"] for run in rs)
        ratio = f"{med[name] / med['neurosim']:.2f}x" if "neurosim" in med and name != "neurosim" else ""
        print(f"| {name} | {med[name]:.2f} | {acc:.3f} | {ratio} |")
    if args.json:
        from neurosim.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps({"args": vars(args), "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
