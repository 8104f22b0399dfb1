"""HLOP: Hebbian learning based orthogonal projection for continual learning of spiking
networks (Xiao et al., ICLR 2024): the layers.

Each layer with weights W (out, N) gets lateral subspace neurons H (M, N) that learn the
principal subspace of the layer's input activity x with the core's Hebbian subspace rule
(``neurosim.plasticity.HebbianSubspace``: Oja's subspace rule with momentum and clipping).
After each task the neurons are merged and frozen; the next task adds new ones (orthogonal
initialisation) that learn what is new. While learning task k, every
weight gradient is computed with the input's component in the frozen subspace removed
(Xiao et al.'s orthogonal projection; reference code ``modules/proj_linear.py``)::

    dL/dW = g^T (x - Q^T Q x)         g: gradient at the layer's output (B, out)

with Q an orthonormal basis of the frozen rows of H (``neurosim.plasticity.orthonormal_basis``;
the rule drives H to orthonormal rows, Q makes the projector exact before convergence). The
forward pass is unchanged. With plain SGD (momentum included) every update ΔW then
satisfies ΔW u = 0 for u in the protected subspace, so the layer's response to earlier tasks'
inputs, as far as they lie in that subspace, does not change.

``ProjectedLinear`` and ``ProjectedConv2d`` (patches x of C_in·k·k values, as in the
reference's ``proj_conv``) implement the projected gradient; ``SpikingMLP`` is the paper's
permuted-MNIST network (784-800-800-10, shared head, LIF neurons of the core's torch layers,
pixel intensities as a constant input current for ``steps`` steps, class scores = the head
applied to the second layer's firing rate). Lateral neurons are added as in the reference
code (``spiking_train_pmnist.py``): a first block per layer, then 70 per layer and task, 20
fewer every third task (``subspace_sizes``); ``ContinualConfig`` says where our defaults
differ from the reference's and why.

``fisher_diagonal`` gives EWC's diagonal empirical Fisher; the training
(``circuits.hlop.train``) puts them together.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

import neurosim.nn as snn
from neurosim.models import CubaLIF as CubaLIFModel
from neurosim.plasticity import HebbianSubspace, orthonormal_basis, project_out, subspace_step

__all__ = ["ProjectedLinear", "ProjectedConv2d", "HLOPLayer", "subspace_sizes", "SpikingMLP", "fisher_diagonal",
           "ewc_proximal_step"]


# ------------------------------------------------------------------ projected layers
class _ProjectedGrad(torch.autograd.Function):
    """y = x W^T; dL/dW = g^T x_orth (x_orth: x with the protected component removed)."""

    @staticmethod
    def forward(ctx, x, x_orth, weight):
        ctx.save_for_backward(x_orth, weight)
        return x @ weight.T

    @staticmethod
    def backward(ctx, g):
        x_orth, weight = ctx.saved_tensors
        grad_x = g @ weight if ctx.needs_input_grad[0] else None
        grad_w = g.reshape(-1, g.shape[-1]).T @ x_orth.reshape(-1, x_orth.shape[-1]) if ctx.needs_input_grad[2] else None
        return grad_x, None, grad_w


class ProjectedLinear(torch.nn.Linear):
    """``torch.nn.Linear`` without bias (a bias would move every task's outputs) whose
    weight gradient can be computed from inputs projected out of a protected subspace:
    ``forward(x, basis)`` with ``x`` (..., in_features) and ``basis`` Q (K, in_features)
    orthonormal rows (or None: the plain layer)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x, basis: torch.Tensor | None = None):
        if basis is None or basis.shape[0] == 0:
            return F.linear(x, self.weight)
        with torch.no_grad():
            x_orth = project_out(x, basis)
        return _ProjectedGrad.apply(x, x_orth, self.weight)


class _ProjectedConvGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, patches_orth, weight, stride, padding):
        ctx.save_for_backward(patches_orth, weight)
        ctx.conf = (x.shape, stride, padding)
        return F.conv2d(x, weight, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, g):
        patches_orth, weight = ctx.saved_tensors
        shape, stride, padding = ctx.conf
        grad_x = torch.nn.grad.conv2d_input(shape, weight, g, stride=stride, padding=padding) if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[2]:
            # (B, C_out, L) x (B, L, C_in k k), summed over the batch
            gw = torch.einsum("bol,blp->op", g.flatten(2), patches_orth)
            grad_w = gw.reshape(weight.shape)
        return grad_x, None, grad_w, None, None


class ProjectedConv2d(torch.nn.Conv2d):
    """``torch.nn.Conv2d`` without bias whose weight gradient uses input patches (each of
    C_in·k·k values, the layer's presynaptic vector x) projected out of a protected subspace:
    ``forward(x, basis)`` with ``x`` (B, C_in, H, W) and ``basis`` (K, C_in·k·k) or None.
    ``patches(x)`` gives the (B·L, C_in·k·k) vectors its lateral neurons learn from."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)

    def patches(self, x):
        p = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # (B, C k k, L)
        return p.transpose(1, 2)

    def forward(self, x, basis: torch.Tensor | None = None):
        if basis is None or basis.shape[0] == 0:
            return F.conv2d(x, self.weight, stride=self.stride, padding=self.padding)
        with torch.no_grad():
            p_orth = project_out(self.patches(x), basis)
        return _ProjectedConvGrad.apply(x, p_orth, self.weight, self.stride, self.padding)


# ------------------------------------------------------------------ lateral subspace neurons
class HLOPLayer(torch.nn.Module):
    """The lateral subspace neurons of one layer: H (M, n_inputs) (buffer ``weight``), its
    momentum ``velocity``, and ``n_frozen``: rows learned in earlier tasks (merged, frozen,
    protected). ``add_neurons(k)`` appends k rows with orthogonal initialisation;
    ``learn(x)`` applies the rule ``rule.iterations`` times to a batch x (B, n_inputs);
    ``merge()`` freezes every row; ``basis()`` is the orthonormal basis of the frozen rows
    (K, n_inputs) that gradients are projected out of."""

    def __init__(self, n_inputs: int, rule: HebbianSubspace):
        super().__init__()
        self.n_inputs, self.rule = int(n_inputs), rule
        self.register_buffer("weight", torch.zeros(0, n_inputs))
        self.register_buffer("velocity", torch.zeros(0, n_inputs))
        self.register_buffer("frozen", torch.zeros((), dtype=torch.int64))
        self._basis = None

    @property
    def n_frozen(self) -> int:
        return int(self.frozen)

    def add_neurons(self, k: int, generator: torch.Generator | None = None) -> None:
        k = min(int(k), self.n_inputs - self.weight.shape[0])
        if k <= 0:
            return
        new = torch.nn.init.orthogonal_(torch.empty(k, self.n_inputs), generator=generator)
        self.weight = torch.cat([self.weight, new.to(self.weight.dtype)])
        self.velocity = torch.cat([self.velocity, torch.zeros_like(new)])

    @torch.no_grad()
    def learn(self, x: torch.Tensor) -> None:
        if x.shape[-1] != self.n_inputs:
            raise ValueError(f"lateral neurons of a layer with {self.n_inputs} inputs got activity of shape "
                             f"{tuple(x.shape)} (want (..., {self.n_inputs}))")
        x = x.detach().reshape(-1, self.n_inputs).to(self.weight.dtype)
        for _ in range(self.rule.iterations):
            self.weight, self.velocity = subspace_step(self.weight, self.velocity, x, self.rule, self.n_frozen)

    def merge(self) -> None:
        self.frozen.fill_(self.weight.shape[0])
        self._basis = None

    def basis(self) -> torch.Tensor:
        if self._basis is None or self._basis[0] != self.n_frozen:
            self._basis = (self.n_frozen, orthonormal_basis(self.weight[: self.n_frozen]))
        return self._basis[1]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # the number of neurons grows task by task: take the saved shapes
        for name in ("weight", "velocity"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        self._basis = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def subspace_sizes(task: int, first=(80, 200, 100), step=(70, 70, 70), shrink: int = 20, every: int = 3) -> tuple:
    """Lateral neurons added per layer before ``task`` (0-based), after the reference code:
    ``first`` for task 0, then ``step`` reduced by ``shrink`` at every ``every``-th task."""
    if task == 0:
        return tuple(first)
    return tuple(max(s - shrink * (task // every), 0) for s in step)


# ------------------------------------------------------------------ the network
INPUT_BATCH_AXES = (0, 1, 0)
"""The batch axis of each of ``SpikingMLP.inputs``."""


class SpikingMLP(torch.nn.Module):
    """Spiking MLP (Xiao et al. 2024, permuted MNIST): ``sizes`` = (784, 800, 800, 10),
    two layers of LIF neurons (``neurosim.nn.LIF`` on ``neurosim.models.CubaLIF`` with
    ``tau_mem`` = 2 ms at ``dt`` = 1 ms, no refractory period, reset to rest; SuperSpike
    surrogate of ``slope``) and a shared linear head, all without biases. Trained by BPTT
    with surrogate gradients (the paper trains it with DSR, a rate-based method). The first
    two weight matrices start at ``init_gain`` times PyTorch's default scale.

    Input ``x`` (B, 784) pixel intensities in [0, 1], a constant input current for ``steps``
    steps; output logits (B, 10) = head(firing rate of layer 2). ``forward(x, bases)`` with
    ``bases`` (one orthonormal basis per layer, or None) projects the weight gradients;
    ``inputs`` (set when ``record``) holds each layer's presynaptic activity for the lateral
    neurons: pixels (B, 784), layer-1 spikes (steps, B, 800), layer-2 rates (B, 800)
    (``INPUT_BATCH_AXES``: their batch axes)."""

    def __init__(self, sizes=(784, 800, 800, 10), steps: int = 6, tau_mem: float = 2e-3, dt: float = 1e-3,
                 slope: float = 5.0, init_gain: float = 12.0):
        super().__init__()
        n_in, h1, h2, n_out = sizes
        self.sizes, self.steps = tuple(sizes), int(steps)
        neuron = CubaLIFModel(tau_mem=tau_mem, t_ref=0.0, v_reset=CubaLIFModel().v_rest)
        self.fc1, self.fc2, self.head = ProjectedLinear(n_in, h1), ProjectedLinear(h1, h2), ProjectedLinear(h2, n_out)
        self.lif1, self.lif2 = snn.LIF(neuron, dt=dt, slope=slope), snn.LIF(neuron, dt=dt, slope=slope)
        with torch.no_grad():  # PyTorch's default scale leaves the LIF layers nearly silent
            self.fc1.weight.mul_(init_gain)
            self.fc2.weight.mul_(init_gain)
        self.inputs = None

    def layers(self):
        """The three projected layers, input to readout (one lateral layer each)."""
        return (self.fc1, self.fc2, self.head)

    def forward(self, x, bases=None, record: bool = False):
        b1, b2, b3 = bases if bases is not None else (None, None, None)
        i1 = self.fc1(x, b1)  # the same current every step
        s1, _ = self.lif1(i1.unsqueeze(0).expand(self.steps, *i1.shape))
        s2, _ = self.lif2(self.fc2(s1, b2))
        rate = s2.mean(0)
        if record:
            self.inputs = (x.detach(), s1.detach(), rate.detach())
        return self.head(rate, b3)


# ------------------------------------------------------------------ EWC
def fisher_diagonal(model, x, y, n_samples: int, generator: torch.Generator) -> list:
    """Diagonal empirical Fisher information of ``model``'s weights: mean over
    ``n_samples`` of the training samples ``x`` (N, 784), ``y`` (N,) (drawn with
    ``generator``) of the squared per-sample gradient of the log-likelihood. Returns one
    tensor per parameter, shaped like it (Kirkpatrick et al. 2017)."""
    idx = torch.randperm(len(x), generator=generator)[:n_samples]
    fisher = [torch.zeros_like(p) for p in model.parameters()]
    for i in idx:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i: i + 1]), y[i: i + 1]).backward()
        for f, p in zip(fisher, model.parameters()):
            f += p.grad.detach() ** 2
    model.zero_grad(set_to_none=True)
    return [f / len(idx) for f in fisher]


@torch.no_grad()
def ewc_proximal_step(model, ewc: dict, step: float) -> None:
    """The EWC penalty (λ/2) Σ F (θ − θ*)² as an implicit (proximal) step after each SGD
    step: θ ← (θ + a θ*) / (1 + a), a = lr λ F. It minimises the same objective; unlike an
    explicit gradient step it stays stable for the large λ the hidden layers need (their
    Fisher values are ~1e-6, the readout's ~1e-2)."""
    for p, f, p0 in zip(model.parameters(), ewc["fisher"], ewc["anchor"]):
        a = step * f
        p.add_(a * p0).div_(1.0 + a)
