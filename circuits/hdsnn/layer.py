"""Heterogeneous synaptic delays: the HD-SNN motion-detection layer of Grimaldi & Perrinet,
"Learning heterogeneous delays in a layer of spiking neurons for fast motion detection",
Biological Cybernetics 117:373 (2023), on event streams from moving natural photographs.

**The layer.** Input events ``A[p, t, y, x]`` (polarity, 1 ms time bin, row, column) reach
output neuron (class ``c``, position ``y, x``) through one synapse per kernel entry, with
weight ``K[c, p, d, a, b]`` and delay ``d`` in 1..D steps (paper eq. 2; our kernel axes are
``(c, p, d, row a, column b)``, image order)::

    C_c(y, x, t) = sum_{p, d, a, b} K[c, p, d, a, b] A[p, t - d, y + a, x + b]
    Pr(c | y, x, t) = sigmoid(C_c(y, x, t) + beta_c)

a causal 3-D convolution followed by a sigmoid: a time-invariant logistic regression,
trained with binary cross-entropy against the one-hot current motion at every position
(paper, "Supervised learning"). The motion at time ``t`` is decided by averaging the
evidence ``C_c + beta_c`` over positions (the paper's mean logit: independent observations
of one rigid motion) and taking the argmax. Three parts of the paper's model turn out to
be what makes it learn at all, and are kept:

* the *complex cell*: ``C_c`` is the maximum of the kernel's response to the events and to
  the events with ON and OFF swapped (whitened images look the same with inverted
  contrast). Without it the evidence is linear in the events, and a linear evidence
  cannot learn motion from textures: by translation invariance the mean event patch is
  the same for every motion, so the gradient of the logistic loss has no class-specific
  part, and the average over positions only sees the total event rate. ``max(a, b)``
  contains ``|a - b|``, an energy term that depends on the correlations along a
  trajectory;
* the circular spatial mask whose radius grows with the delay (events seen longer ago may
  have come from further away);
* kernels that ignore uniform activity (zero spatial sum per class, polarity and delay,
  the centre-surround of the paper's learned kernels) and start from small random weights.

Beyond the paper, ``subunits`` S > 1 gives each class S kernels and the complex cell takes
the maximum over all of them (and their ON/OFF swaps): a max-out of S logistic regressions,
more capacity for the same delays (``neurosim train hdsnn`` uses S = 2; see its DEFAULTS).

**Pruning** keeps the k largest ``|K|`` (the paper's "Accuracy efficiency trade-off"; or,
``per_class``, the same number of largest ``|K|`` in every class), and the surviving
synapses of each (class, polarity, delay) are re-centred to sum to zero, as the whole
kernel does (``HDSNN.kernel``); ``finetune`` then optionally retrains the surviving
weights (beyond the paper). A pruned layer exports to a core ``Network``
(``circuits.hdsnn.core.to_network``) with one synapse per (active kernel entry, input
pixel) and heterogeneous integer delays; the Numba simulator then runs it event-driven.
The movies come from ``circuits.hdsnn.movies``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .movies import SPEEDS

__all__ = ["delay_mask", "HDSNN", "motion_loss", "training_loss", "decide", "decide_movie", "prune", "FINETUNE_LR", "finetune",
           "synaptic_operations"]


def delay_mask(n_delays: int, kernel_size: int, max_speed: float, r0: float = 1.5) -> np.ndarray:
    """The paper's circular spatial mask, wider for longer delays: entry (d, a, b) is kept
    when its distance from the kernel centre is at most ``min(R, r0 + d * max_speed)``
    (R = kernel_size // 2): an event d steps old can have come from at most ~d x speed
    pixels away. Returns (n_delays, kernel_size, kernel_size) float32."""
    r = kernel_size // 2
    a, b = np.mgrid[-r : r + 1, -r : r + 1]
    dist = np.sqrt(a**2 + b**2)
    d = np.arange(1, n_delays + 1)[:, None, None]
    return (dist[None] <= np.minimum(r, r0 + d * max_speed)).astype(np.float32)


class HDSNN(torch.nn.Module):
    """The heterogeneous-delay layer (see the module docstring).

    ``weight`` K (S C, P, D, ks, ks) [subunit s and class c at s C + c, polarity,
    delay d - 1, row, column], ``bias`` beta (C,). ``forward(x)``: x (B, P, T, H, W) event
    raster -> logits C + beta (B, C, T, H - ks + 1, W - ks + 1) ('valid' positions). In
    training mode the output is taken on a ``train_stride`` spatial grid with a random
    offset (the positions share one kernel, so this samples the loss; it divides the cost
    by ``train_stride``^2). ``polarity_invariant``: the complex-cell maximum over
    ON/OFF-swapped inputs; ``subunits`` S: the complex cell's maximum also runs over S
    kernels per class (S = 1 is the paper's single kernel). ``max_speed`` (pixels per
    step) sets how fast the delay mask widens; ``init_std`` the initial weights. Defaults
    after the paper: 21 delays, 17 x 17 pixels, 2 polarities. Raises ``ValueError`` for an
    even kernel size or non-positive counts, and for inputs that are not (B, P, T, H, W).
    """

    def __init__(self, n_classes: int = 36, n_delays: int = 21, kernel_size: int = 17, polarities: int = 2,
                 max_speed: float = max(SPEEDS), train_stride: int = 4, init_std: float = 0.02, polarity_invariant: bool = True,
                 subunits: int = 1):
        super().__init__()
        if kernel_size % 2 != 1 or n_delays < 1 or n_classes < 1 or subunits < 1:
            raise ValueError(f"kernel_size must be odd and n_delays, n_classes, subunits >= 1; "
                             f"got {kernel_size}, {n_delays}, {n_classes}, {subunits}")
        self.n_classes, self.subunits = int(n_classes), int(subunits)
        self.n_delays, self.kernel_size, self.train_stride = n_delays, kernel_size, int(train_stride)
        self.polarity_invariant = bool(polarity_invariant)
        shape = (self.subunits * n_classes, polarities, n_delays, kernel_size, kernel_size)
        # small random weights, not zeros: by translation invariance the mean patch is the
        # same for every motion, so from zero weights the gradient of the logistic loss
        # vanishes; motion lives in the correlations along a trajectory, which the loss
        # reaches through the sigmoid only once the weights are nonzero
        self.weight = torch.nn.Parameter(torch.randn(shape) * init_std)
        self.bias = torch.nn.Parameter(torch.full((n_classes,), -math.log(n_classes - 1) if n_classes > 1 else 0.0))
        self.register_buffer("delay_mask", torch.from_numpy(delay_mask(n_delays, kernel_size, max_speed))[None, None])
        self.register_buffer("mask", torch.ones(shape))  # pruning

    def kernel(self) -> torch.Tensor:
        """The effective kernel K (S C, P, D, ks, ks): the weights on the synapses that exist
        (delay mask times pruning mask), made zero-sum over space for every (class,
        polarity, delay). A zero-sum kernel ignores uniform activity: otherwise the easiest
        thing to learn is the overall event rate, which says nothing about the direction.
        The sum is taken over the surviving synapses, so a pruned layer stays blind to the
        event rate too: keeping the largest ``|K|`` alone leaves each slice's sum nonzero, and
        the pruned layer then loses much more accuracy (docs/guide/delays.md, pruning). A slice
        left with one synapse is zero."""
        present = self.delay_mask * self.mask
        k = self.weight * present
        support = present.sum((-2, -1), keepdim=True).clamp(min=1)
        return k - k.sum((-2, -1), keepdim=True) / support * present

    def evidence(self, x: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
        """C (B, C, T, H', W') without the bias: output step t sees input steps t-1 ... t-D
        (the input is padded with D empty steps in front; the kernel is flipped in time
        because conv3d correlates); the maximum over subunits (and polarity swaps).
        ``padding`` pads space (ks - 1 gives the 'full' grid)."""
        if x.ndim != 5 or x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"input must be (B, {self.weight.shape[1]}, T, H, W), got {tuple(x.shape)}")
        x = torch.nn.functional.pad(x.to(self.weight.dtype), (padding, padding, padding, padding, self.n_delays, 0))
        k = self.kernel().flip(2)
        out = torch.nn.functional.conv3d(x, k, stride=(1, stride, stride))
        if self.polarity_invariant:
            out = torch.maximum(out, torch.nn.functional.conv3d(x, k.flip(1), stride=(1, stride, stride)))
        if self.subunits > 1:
            out = out.unflatten(1, (self.subunits, self.n_classes)).amax(1)
        return out[:, :, :-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.train_stride > 1:
            oy, ox = (int(v) for v in torch.randint(self.train_stride, (2,)))
            x = x[..., oy:, ox:]
            return self.evidence(x, self.train_stride) + self.bias[:, None, None, None]
        return self.evidence(x) + self.bias[:, None, None, None]


def motion_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of every (class, step, position) logit (B, C, T, H', W') against
    the one-hot motion ``y`` (B, T) of its step; steps with y = -1 are ignored."""
    keep = y >= 0
    target = torch.nn.functional.one_hot(y.clamp(min=0), logits.shape[1]).permute(0, 2, 1).to(logits.dtype)  # (B, C, T)
    target = target[..., None, None].expand_as(logits)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    w = keep[:, None, :, None, None].to(logits.dtype).expand_as(logits)
    return (loss * w).sum() / w.sum().clamp(min=1)


def training_loss(model: HDSNN, l1: float = 0.0):
    """The loss (logits (B, C, T, H', W'), y (B, T)) -> scalar that training minimises:
    ``motion_loss`` plus, when ``l1`` > 0, ``l1`` x sum ``|K|`` over the layer's effective
    kernel (dimensionless; L1 regularization, Han et al. 2015, section 3.1: more weights
    near zero before pruning; not in the paper). ``l1`` is not checked here: ``finetune``
    and ``train_hdsnn`` refuse a negative one with ``ValueError``."""
    def loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = motion_loss(logits, y)
        return out + l1 * model.kernel().abs().sum() if l1 else out

    return loss


def decide(logits: torch.Tensor) -> torch.Tensor:
    """Class scores per (movie, step): the evidence averaged over positions, (B * T, C),
    rows in (movie, step) order; their argmax is the decision."""
    mean = logits.mean((-2, -1))  # (B, C, T)
    return mean.permute(0, 2, 1).reshape(-1, mean.shape[1])


def decide_movie(logits: torch.Tensor, y: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Class scores per movie (B, C) for movies of one motion: the logits (B, C, T, H', W')
    averaged over positions and over the steps with a target (``y`` (B, T) >= 0, i.e.
    after the first D steps, whose window is incomplete); their argmax is the movie's
    decision. This is how the paper measures accuracy and its pruning curve (reference
    code, ``test_model``: test movies with ``block_length=np.inf``, logits averaged "over
    space and time" after the first kernel-length steps, one decision per movie).

    ``bias`` (C,), the layer's beta: when given, it is taken out of the average, which then
    scores the evidence C_c alone. Averaging N logits C_c + beta_c counts the prior
    log-odds beta_c once per observation; combining N independent observations as naive
    Bayes does (the sum of their evidence plus the prior once) gives sum C_c + beta_c, whose
    argmax is that of mean C_c + beta_c / N, and N (positions x steps) is ~10^5 here.
    Beyond the paper; it matters most for pruned layers, whose evidence shrinks while beta
    stays as trained (docs/guide/delays.md, pruning)."""
    keep = (y >= 0).to(logits.dtype)  # (B, T)
    per_step = logits.mean((-2, -1))  # (B, C, T)
    scores = (per_step * keep[:, None]).sum(-1) / keep.sum(-1, keepdim=True).clamp(min=1)
    return scores if bias is None else scores - bias


def prune(model: HDSNN, fraction: float, per_class: bool = False) -> HDSNN:
    """A copy of ``model`` keeping only the ``fraction`` (0 < fraction <= 1, of the dense
    kernel's S C x P x D x ks x ks entries) of largest ``|K|``; the rest is masked out, and
    ``kernel()`` re-centres the survivors of each slice to zero sum.

    ``per_class`` False (the paper's pruning): the largest ``|K|`` of the whole layer.
    ``per_class`` True: every class keeps the same number of synapses, the largest ``|K|``
    among its own S x P x D x ks x ks entries (a fan-in budget per output neuron; beyond
    the paper). On the trained layer the whole-layer ranking keeps 2-6 times more
    synapses for some classes than for others, and balancing them loses much less
    accuracy (docs/guide/delays.md, pruning). Raises ``ValueError`` for a fraction outside (0, 1]."""
    import copy

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction = {fraction!r} must be in (0, 1]")
    out = copy.deepcopy(model)
    k = out.kernel().detach()
    s, c = out.subunits, out.n_classes
    # one row per ranking group: the whole layer, or one class (its S subunit kernels)
    groups = k.reshape(s, c, -1).transpose(0, 1).reshape(c, -1) if per_class else k.reshape(1, -1)
    keep = torch.zeros(groups.shape, dtype=torch.bool)
    for row, values in enumerate(groups):
        n_keep = min(int(round(fraction * values.numel())), int((values != 0).sum()))
        if n_keep > 0:
            keep[row, torch.topk(values.abs(), n_keep).indices] = True
    if per_class:
        keep = keep.reshape(c, s, -1).transpose(0, 1)
    out.mask = out.mask * keep.reshape(k.shape).to(out.mask.dtype)
    return out


FINETUNE_LR = 3e-4
"""Default retraining rate of ``finetune``: in a check on an early training checkpoint,
one epoch at 1e-3 lowered the held-out accuracy of the layer pruned to 3%, 3e-4 raised it;
on the trained layer 1e-4 was no better overall (docs/guide/delays.md, pruning)."""


def finetune(model: HDSNN, batches, epochs: int = 1, lr: float = FINETUNE_LR, progress: bool = False,
             l1: float = 0.0) -> HDSNN:
    """Retrain a pruned layer in place with its pruning mask fixed: prune, then retrain the
    surviving synapses (Han et al. 2015, "Learning both weights and connections for
    efficient neural networks", NeurIPS, section 3.1; repeated at falling fractions it is
    their iterative pruning). Not in Grimaldi & Perrinet, who prune once, without
    retraining (``prune``). ``batches``: an iterable of (x (B, P, T, H, W) float events,
    y (B, T) int64 targets, -1 ignored), iterated once per epoch; the loss is
    ``motion_loss`` (the training loss), Adam with a learning rate decaying from ``lr`` to
    0 over the epochs (cosine). Masked-out weights stay out of ``kernel()`` whatever their
    raw values, so the active weights never grow. ``l1`` > 0 adds ``l1`` x sum ``|K|`` over the
    effective kernel to the loss: L1 regularization, which Han et al. (2015, section 3.1)
    found to leave more weights near zero and so to lose less accuracy when pruned without
    retraining; on the trained dense layer it does concentrate the weight mass, at a cost
    in accuracy (docs/guide/delays.md, pruning). Returns ``model`` in eval mode; raises
    ``ValueError`` for ``epochs`` < 1, ``lr`` <= 0 or ``l1`` < 0 (or NaN)."""
    from tqdm.auto import tqdm

    if epochs < 1 or not lr > 0 or not l1 >= 0:
        raise ValueError(f"epochs must be >= 1, lr > 0 and l1 >= 0; got {epochs!r}, {lr!r}, {l1!r}")
    batches = list(batches) if not hasattr(batches, "__len__") else batches
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * max(len(batches), 1))
    loss_fn = training_loss(model, l1)
    model.train()
    for _ in range(epochs):
        for x, y in tqdm(batches, desc="fine-tuning", disable=not progress, leave=False):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
            sched.step()
    return model.eval()


def synaptic_operations(model: HDSNN, x: torch.Tensor) -> int:
    """Synaptic operations of the event-driven layer on rasters ``x`` (B, P, T, H, W): each
    input event of polarity p meets every active weight of K[:, p] once (on the 'full'
    output grid, where no synapse falls off the edge), and, when the layer is polarity
    invariant, every active weight of the flipped kernel K[:, 1 - p] too: then the count
    is simply (active weights) x (input events)."""
    k = model.kernel().detach()
    active = (k != 0).sum((0, 2, 3, 4))  # per polarity
    if model.polarity_invariant:
        active = active + active.flip(0)
    return int((x.sum((0, 2, 3, 4)).to(torch.int64) * active).sum())
