"""Pure functions of the spiking layers: one step (torch operations, any device) and a
whole sequence (Numba kernels forward and backward on the CPU, the step function in a loop
elsewhere). Both compute the same update (see ``neurosim.nn.kernels``)."""
from __future__ import annotations

from typing import NamedTuple

import torch

from . import kernels
from .surrogate import SURROGATES, spike

__all__ = ["LIFCoefficients", "LIFState", "lif_step", "lif_sequence", "coefficients", "check_finite", "COEFFICIENTS",
           "TORCH_KINDS"]


class LIFCoefficients(NamedTuple):
    """Per-step coefficients in normalised units (threshold 1): synaptic decay ``a_e``,
    membrane decay ``a_m``, input gain ``k``, reset level ``u_reset``, refractory steps, and
    ``subtract``: the reset lowers the membrane by ``1 - u_reset`` instead of setting it to
    ``u_reset``."""

    a_e: float
    a_m: float
    k: float
    u_reset: float
    ref_steps: int
    subtract: bool = False


class LIFState(NamedTuple):
    """Synaptic current ``e``, membrane ``u`` (normalised), refractory counter ``r``; each
    shaped like one time step of the input (B, ...)."""

    e: torch.Tensor
    u: torch.Tensor
    r: torch.Tensor


def _cuba_lif(neuron, dt: float, synaptic: bool) -> LIFCoefficients:
    """CuBa-LIF in units of (v_th - v_rest): the input of a layer is ``R I / (v_th - v_rest)``
    with R = tau_mem / c_mem; without synapse, gain (1 - a_m) and no synaptic filter."""
    c = neuron.discretize(dt)
    r = neuron.tau_mem / neuron.c_mem
    u_reset = (neuron.v_reset - neuron.v_rest) / (neuron.v_th - neuron.v_rest)
    sub = neuron.reset == "subtract"
    if synaptic:
        return LIFCoefficients(c["a_e"], c["a_m"], c["k_e"] / r, u_reset, int(c["ref_steps"]), sub)
    return LIFCoefficients(0.0, c["a_m"], c["k_ext"] / r, u_reset, int(c["ref_steps"]), sub)


def _integrate_fire(neuron, dt: float, synaptic: bool) -> LIFCoefficients:
    """IF without leak (``a_m = 1``) and without synaptic filter: the input of a step is the
    membrane's jump in units of (v_th - v_rest), ``I dt / (c_mem (v_th - v_rest))`` for a
    current I held over the step (Norse's ``IAFCell``, Sinabs's ``IAF``)."""
    if synaptic:
        raise ValueError("the torch IF layer has no synaptic filter (as NIR's IF node): use synaptic=False, or CubaLIF")
    c = neuron.discretize(dt)
    u_reset = (neuron.v_reset - neuron.v_rest) / (neuron.v_th - neuron.v_rest)
    return LIFCoefficients(0.0, 1.0, 1.0, u_reset, int(c["ref_steps"]), neuron.reset == "subtract")


COEFFICIENTS = {"cuba_lif": _cuba_lif, "if": _integrate_fire}
"""How the torch layers' per-step coefficients come from a neuron model, by its ``kind``."""
TORCH_KINDS = frozenset(COEFFICIENTS)
"""Neuron model kinds whose dynamics the torch layers compute."""


def coefficients(neuron, dt: float, synaptic: bool = True) -> LIFCoefficients:
    """Coefficients of a neuron model at step ``dt`` (s), taken from its ``discretize(dt)``
    and expressed in units of its threshold above rest (``COEFFICIENTS``: ``CubaLIF``, the
    input of a layer is ``R I / (v_th - v_rest)`` with R = tau_mem / c_mem, and
    ``synaptic=False`` gives the plain LIF: gain (1 - a_m), no synaptic filter; ``IF``, no
    leak, the input is the step's jump of the membrane). Raises ``ValueError`` for a model of
    a kind not in ``TORCH_KINDS``."""
    convert = COEFFICIENTS.get(getattr(neuron, "kind", None))
    if convert is None:
        raise ValueError(f"neuron must be a neurosim.models.CubaLIF or IF (kinds {sorted(TORCH_KINDS)}: the dynamics the torch "
                         f"layers run), got {type(neuron).__name__}")
    return convert(neuron, dt, synaptic)


def check_finite(x: torch.Tensor) -> None:
    """``ValueError`` naming the first time step (axis 0) where ``x`` has NaN or inf."""
    bad = ~torch.isfinite(x.detach())
    if bool(bad.any()):
        steps = bad.reshape(x.shape[0], -1).any(1) if x.ndim > 1 else bad
        t = int(torch.nonzero(steps)[0, 0])
        raise ValueError(f"input has {int(bad.sum())} NaN or infinite values (first at time step {t} of {x.shape[0]}); "
                         "spiking layers need finite input currents")


def initial_state(like: torch.Tensor, u0: float = 0.0) -> LIFState:
    """Zero synaptic current, membrane ``u0`` (normalised), no refractoriness; shaped like
    ``like`` (one time step, (B, ...))."""
    return LIFState(torch.zeros_like(like), torch.full_like(like, u0), torch.zeros_like(like, dtype=torch.int32))


def lif_step(x: torch.Tensor, state: LIFState, co: LIFCoefficients, surrogate="superspike", slope=25.0,
             detach_reset=False, threshold_on=True):
    """One step: returns (spikes, membrane before reset, new state). Differentiable by
    autograd through the surrogate."""
    e = co.a_e * state.e + x
    r = state.r - (state.r > 0).to(state.r.dtype)
    held = r > 0
    m = torch.where(held, state.u, co.a_m * state.u + co.k * e)
    if threshold_on:
        s = spike(m - 1.0, surrogate, slope)
        s_reset = s.detach() if detach_reset else s
        u = m - (1.0 - co.u_reset) * s_reset if co.subtract else m * (1.0 - s_reset) + co.u_reset * s_reset
        r = torch.where(s.detach() > 0, torch.full_like(r, co.ref_steps), r)
    else:
        s = torch.zeros_like(m)
        u = m
    return s, m, LIFState(e, u, r)


class _LIFSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, e0, u0, r0, co, surrogate, slope, detach_reset, threshold_on):
        t_len = x.shape[0]
        shape = x.shape[1:]
        xn = x.detach().contiguous().reshape(t_len, -1).numpy()
        e = e0.detach().contiguous().reshape(-1).clone().numpy()
        u = u0.detach().contiguous().reshape(-1).clone().numpy()
        r = r0.detach().to(torch.int32).contiguous().reshape(-1).clone().numpy()
        spikes = torch.empty((t_len, xn.shape[1]), dtype=x.dtype)
        mem = torch.empty_like(spikes)
        held = torch.empty((t_len, xn.shape[1]), dtype=torch.bool)
        kernels.lif_forward(xn, e, u, r, co.a_e, co.a_m, co.k, co.u_reset, co.ref_steps, threshold_on,
                            spikes.numpy(), mem.numpy(), held.numpy(), co.subtract)
        ctx.set_materialize_grads(False)  # an unused output (often the membrane) gets no zero tensor
        ctx.save_for_backward(mem, held, spikes)
        ctx.co, ctx.kind, ctx.slope, ctx.detach_reset, ctx.threshold_on = co, SURROGATES[surrogate], slope, detach_reset, threshold_on
        ctx.in_shape = x.shape
        state = tuple(torch.from_numpy(a).reshape(shape) for a in (e, u, r))
        for s in state:
            ctx.mark_non_differentiable(s)
        return (spikes.reshape(t_len, *shape), mem.reshape(t_len, *shape)) + state

    @staticmethod
    def backward(ctx, grad_s, grad_m, *_):
        mem, held, spikes = ctx.saved_tensors
        t_len = mem.shape[0]

        def flat(g):  # no copy when the gradient is already a dense tensor of the right type
            return mem.new_zeros(mem.shape) if g is None else g.to(mem.dtype).contiguous().reshape(t_len, -1)
        gs, gm = flat(grad_s), flat(grad_m)
        grad_x = torch.empty_like(mem)
        co = ctx.co
        kernels.lif_backward(gs.numpy(), gm.numpy(), mem.numpy(), held.numpy(), spikes.numpy(), co.a_e, co.a_m, co.k,
                             co.u_reset, ctx.kind, ctx.slope, ctx.detach_reset, ctx.threshold_on, grad_x.numpy(), co.subtract)
        return grad_x.reshape(ctx.in_shape), None, None, None, None, None, None, None, None


def lif_sequence(x: torch.Tensor, state: LIFState, co: LIFCoefficients, surrogate="superspike", slope=25.0,
                 detach_reset=False, threshold_on=True):
    """Run the recurrence over ``x`` (T, B, ...): returns (spikes (T, B, ...), membrane
    before reset (T, B, ...), final state). Gradients flow to ``x`` (not to the initial
    state: carrying state across calls truncates backpropagation there).

    Raises ``ValueError`` for an unknown surrogate and for NaN or infinite inputs (a NaN
    membrane never crosses the threshold: it would silently give no spikes)."""
    if surrogate not in SURROGATES:
        raise ValueError(f"unknown surrogate {surrogate!r}; choose one of {sorted(SURROGATES)}")
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
        s, m, e, u, r = _LIFSequence.apply(x, state.e, state.u, state.r, co, surrogate, float(slope), bool(detach_reset),
                                           bool(threshold_on))
        # a NaN or inf input stays in the synaptic current to the end (e = a_e e + x, and
        # 0 * NaN = 0 * inf = NaN), so the final state tells, at the cost of one value per
        # neuron; only then is the whole input scanned to name the first bad step
        if not bool(torch.isfinite(e).all()):
            check_finite(x)
            raise ValueError("the synaptic current overflowed to infinity: input currents are far too large")
        return s, m, LIFState(e, u, r)
    check_finite(x)
    spikes, mems = [], []
    for t in range(x.shape[0]):
        s, m, state = lif_step(x[t], state, co, surrogate, slope, detach_reset, threshold_on)
        spikes.append(s)
        mems.append(m)
    return torch.stack(spikes), torch.stack(mems), LIFState(state.e.detach(), state.u.detach(), state.r)
