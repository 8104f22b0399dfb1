r"""Astrocyte-modulated spiking units (AM-SU) for PyTorch, after Shen et al. (2023),
"Astrocyte-Enabled Advancements in Spiking Neural Networks for Large Language Modeling"
(arXiv 2312.07625), with the equations written down here (the paper's are not in our
sources) and the astrocyte part taken from the tripartite-synapse literature that
``neurosim.models.GChIAstrocyte`` / ``TripartiteSynapse`` implement.

A recurrent layer of ``H`` CuBa-LIF neurons, each with one astrocyte covering the synapses
onto it (the domain rule of Stimberg et al. 2019, Fig. 6: a synapse is covered by the
astrocyte of its postsynaptic neuron). Per step ``t`` (input ``x_t`` (B, N_in), spikes
``s_{t-1}`` (B, H); normalised units, threshold 1, coefficients from
``neurosim.models.CubaLIF.discretize(dt)`` as in ``neurosim.nn``)::

    astrocyte (slow state Gamma in [0, 1], one per neuron)
      g_t      = gain * sigmoid(W_ax x_t + W_as s_{t-1} + kappa * s_{t-1} + b_a)    (1)
      Gamma_t  = a_astro Gamma_{t-1} + (1 - a_astro Gamma_{t-1}) g_t                (2)
    tripartite synapse (release modulated by gliotransmission)
      eff_t    = (1 - Gamma_t) + alpha * Gamma_t                                     (3)
      theta_t  = 1 + beta * Gamma_t            (only with threshold_modulation)      (4)
    CuBa-LIF neuron
      i_t      = a_syn i_{t-1} + eff_t * (W_in x_t + W_rec s_{t-1} + b)              (5)
      m_t      = a_mem u_{t-1} + k i_t                                              (6)
      s_t      = H(m_t - theta_t)   (surrogate gradient),  u_t = m_t (1 - s_t) + u_reset s_t

Where each part comes from:

* (1) the astrocyte senses the neurotransmitter released by the synapses of its domain
  (presynaptic activity: input ``x`` and recurrent spikes, weighted by the learnt ``W_ax``,
  ``W_as``) and postsynaptic activity (``kappa``: its own neuron's spikes); the sigmoid
  stands for the Ca2+-threshold of gliotransmitter release in the G-ChI model
  (``C > C_Theta``, De Pitta et al. 2009/2011), made graded so that it can be trained.
* (2) is the presynaptic-receptor activation of De Pitta et al. 2011 (eq. 6;
  ``dGamma_S/dt = O_G G_A (1 - Gamma_S) - Omega_G Gamma_S``) per step: saturating
  activation by released gliotransmitter, slow decay ``a_astro = exp(-dt/tau_astro)``.
* (3) is De Pitta et al. 2011's release probability ``U_0 = (1 - Gamma) U_0* + alpha Gamma``
  relative to its baseline ``U_0*`` (so here ``alpha`` is the paper's ``alpha / U_0*``):
  ``alpha > 1`` facilitates, ``alpha < 1`` depresses the synapses of the domain.
* (4) is an optional extension (the issue's "optionally threshold"), not from the paper.
* (5, 6) are ``neurosim.models.CubaLIF`` with exact per-step coefficients.

Explicit parameters: ``tau_astro`` (s), ``gain`` (maximal activation per step, the role of
``O_G G_A dt``) and the initial gliotransmission coupling ``alpha_init``; ``alpha``,
``beta``, ``kappa`` and all weights are trained. ``astrocytes=False`` gives the plain
recurrent LIF layer (eff = 1, theta = 1), the baseline of the tasks.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from neurosim.models import CubaLIF as CubaLIFModel
from neurosim.models.base import check_dt, check_nonnegative, check_positive
from neurosim.nn.functional import check_finite, coefficients
from neurosim.nn.surrogate import SURROGATES, spike

__all__ = ["AMSUState", "amsu_step", "AMSU", "SequenceModel", "count_parameters", "hidden_for_budget"]


class AMSUState(NamedTuple):
    """Synaptic current ``i``, membrane ``u``, spikes ``s`` and astrocyte activation
    ``gamma``, each (B, H)."""

    i: torch.Tensor
    u: torch.Tensor
    s: torch.Tensor
    gamma: torch.Tensor


def amsu_step(x_in: torch.Tensor, x_astro: torch.Tensor | None, state: AMSUState, w_rec: torch.Tensor,
              w_as: torch.Tensor | None, kappa, alpha, beta, a_syn: float, a_mem: float, k: float, u_reset: float,
              a_astro: float, gain: float, surrogate: str = "superspike", slope: float = 5.0):
    """One step of equations (1)-(6) of the module docstring; a pure function.

    ``x_in`` (B, H): ``W_in x_t + b``; ``x_astro`` (B, H): ``W_ax x_t + b_a``, or ``None``
    for the plain LIF layer (then ``w_as``, ``kappa``, ``alpha``, ``beta`` are unused);
    ``w_rec``, ``w_as`` (H, H); ``kappa``, ``alpha`` (H,); ``beta`` (H,) or ``None``.
    Returns (spikes (B, H), new state)."""
    s_prev = state.s
    drive = x_in + s_prev @ w_rec.t()
    if x_astro is None:
        gamma = state.gamma
        i = a_syn * state.i + drive
        theta = 1.0
    else:
        g = gain * torch.sigmoid(x_astro + s_prev @ w_as.t() + kappa * s_prev)
        decayed = a_astro * state.gamma
        gamma = decayed + (1.0 - decayed) * g
        i = a_syn * state.i + (1.0 + (alpha - 1.0) * gamma) * drive
        theta = 1.0 if beta is None else 1.0 + beta * gamma
    m = a_mem * state.u + k * i
    s = spike(m - theta, surrogate, slope)
    u = m * (1.0 - s) + u_reset * s
    return s, AMSUState(i, u, s, gamma)


class AMSU(torch.nn.Module):
    """Recurrent layer of astrocyte-modulated spiking units (module docstring, eqs. 1-6).

    ``n_in`` inputs, ``n_hidden`` neurons (and as many astrocytes); ``neuron``: a
    ``neurosim.models.CubaLIF`` whose ``discretize(dt)`` gives the neuron's coefficients
    (default: tau_mem 20 ms, tau_syn 5 ms, no refractory period, reset to rest); ``dt`` (s);
    ``tau_astro`` (s) the astrocyte's time constant; ``gain`` in (0, 1]; ``alpha_init`` >= 0
    the initial coupling; ``threshold_modulation`` adds eq. (4); ``astrocytes=False`` gives
    the plain recurrent LIF layer; ``input_scale`` sets the initial input weights (up to
    ``input_scale (1 - a_syn)``: a held input of that weight settles the membrane at
    ``input_scale`` thresholds). Input (T, B, n_in) -> spikes (T, B, n_hidden) and the
    final ``AMSUState``; pass ``state`` to continue a sequence. Gradients flow through the
    whole sequence (BPTT with the surrogate ``surrogate``/``slope``).

    Raises ``ValueError`` for non-positive sizes, ``dt``, ``tau_astro``, ``input_scale``, a
    ``gain`` outside (0, 1], a negative ``alpha_init``, a neuron with a refractory period of
    a step or more, an unknown surrogate, an input of the wrong shape and NaN or infinite
    input."""

    def __init__(self, n_in: int, n_hidden: int, neuron: CubaLIFModel | None = None, dt: float = 1e-3,
                 tau_astro: float = 1.0, gain: float = 1.0, alpha_init: float = 2.0, threshold_modulation: bool = False,
                 astrocytes: bool = True, surrogate: str = "superspike", slope: float = 5.0, input_scale: float = 6.0):
        super().__init__()
        for name, value in (("n_in", n_in), ("n_hidden", n_hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"AMSU.{name} = {value!r} is invalid: must be an integer >= 1")
        self.dt = check_dt(dt)
        check_positive("AMSU", "tau_astro", tau_astro)
        check_positive("AMSU", "gain", gain)
        if gain > 1:
            raise ValueError(f"AMSU.gain = {gain!r} is invalid: must be in (0, 1] (a fraction of receptors activated per step)")
        check_nonnegative("AMSU", "alpha_init", alpha_init)
        check_positive("AMSU", "input_scale", input_scale)
        if surrogate not in SURROGATES:
            raise ValueError(f"unknown surrogate {surrogate!r}; choose one of {sorted(SURROGATES)}")
        self.neuron = neuron if neuron is not None else CubaLIFModel(tau_syn_e=5e-3, t_ref=0.0, v_reset=CubaLIFModel().v_rest)
        self.coef = coefficients(self.neuron, self.dt)
        if self.coef.subtract:
            raise ValueError("neuron.reset = 'subtract': the AM-SU layer resets to v_reset; use CubaLIF(reset='hard')")
        if self.coef.ref_steps > 0:
            raise ValueError(f"neuron.t_ref = {self.neuron.t_ref!r} s is {self.coef.ref_steps} steps of dt; the AM-SU layer has no "
                             "refractory period: use CubaLIF(t_ref=0.0)")
        self.n_in, self.n_hidden = n_in, n_hidden
        self.tau_astro, self.gain, self.astrocytes = float(tau_astro), float(gain), bool(astrocytes)
        self.a_astro = math.exp(-self.dt / self.tau_astro)
        self.surrogate, self.slope = surrogate, float(slope)
        self.w_in = torch.nn.Linear(n_in, n_hidden)
        self.w_rec = torch.nn.Parameter(torch.empty(n_hidden, n_hidden))
        # a held input weight w settles the membrane at w / (1 - a_syn) thresholds: scale
        # PyTorch's U(-1/sqrt(n_in), 1/sqrt(n_in)) to weights of up to input_scale (1 - a_syn), and
        # recurrent rows to norm (1 - a_syn), so that some neurons fire from the start
        with torch.no_grad():
            self.w_in.weight.mul_(input_scale * math.sqrt(n_in) * (1 - self.coef.a_e))
            torch.nn.init.orthogonal_(self.w_rec, gain=1 - self.coef.a_e)
        if self.astrocytes:
            self.w_ax = torch.nn.Linear(n_in, n_hidden)
            self.w_as = torch.nn.Parameter(torch.zeros(n_hidden, n_hidden))
            self.kappa = torch.nn.Parameter(torch.zeros(n_hidden))
            self.alpha = torch.nn.Parameter(torch.full((n_hidden,), float(alpha_init)))
            # astrocytes rest quiet: the bias b puts the resting Gamma of eq. (2) at 0.05. Like
            # gliotransmitter release they react to strong input only: a channel's weight onto
            # an astrocyte is drawn from N(0, b^2), so each channel drives ~16% of them past
            # the sigmoid's midpoint (with small weights, the sigmoid's slope at b, ~1e-5 for
            # slow astrocytes, would leave them untrainable)
            rest = 0.05
            g0 = rest * (1 - self.a_astro) / (1 - self.a_astro * rest) / self.gain
            bias = math.log(g0 / (1 - g0))
            with torch.no_grad():
                self.w_ax.bias.fill_(bias)
                self.w_ax.weight.normal_(0.0, abs(bias))
            self.beta = torch.nn.Parameter(torch.zeros(n_hidden)) if threshold_modulation else None
        else:
            self.w_ax = self.w_as = self.kappa = self.alpha = self.beta = None

    def extra_repr(self):
        astro = f", tau_astro={self.tau_astro}, gain={self.gain}" if self.astrocytes else ", astrocytes=False"
        return f"{self.n_in}, {self.n_hidden}, dt={self.dt}, a_mem={self.coef.a_m:.4f}, a_syn={self.coef.a_e:.4f}{astro}"

    def initial_state(self, batch: int, like: torch.Tensor) -> AMSUState:
        """Rest: no current, membrane at rest, no spikes, astrocytes inactive."""
        z = like.new_zeros(batch, self.n_hidden)
        return AMSUState(z, z.clone(), z.clone(), z.clone())

    def forward(self, x: torch.Tensor, state: AMSUState | None = None):
        """``x`` (T, B, n_in) -> (spikes (T, B, n_hidden), final state, astrocyte
        activation Gamma (T, B, n_hidden))."""
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise ValueError(f"AMSU input must be (T, B, {self.n_in}), got {tuple(x.shape)}")
        check_finite(x)
        if state is None:
            state = self.initial_state(x.shape[1], x)
        # unbind, not x_in[t]: the backward of T selects would build T full-size gradients
        x_in = self.w_in(x).unbind(0)
        x_astro = self.w_ax(x).unbind(0) if self.astrocytes else [None] * len(x_in)
        co = self.coef
        spikes, gammas = [], []
        for t in range(x.shape[0]):
            s, state = amsu_step(x_in[t], x_astro[t], state, self.w_rec, self.w_as,
                                 self.kappa, self.alpha, self.beta, co.a_e, co.a_m, co.k, co.u_reset, self.a_astro,
                                 self.gain, self.surrogate, self.slope)
            spikes.append(s)
            gammas.append(state.gamma)
        return torch.stack(spikes), state, torch.stack(gammas)


class SequenceModel(torch.nn.Module):
    """A recurrent core and a linear readout, for the memory and language tasks.

    ``kind``: ``"amsu"`` (AM-SU layer), ``"lif"`` (the same layer without astrocytes) or
    ``"lstm"`` (``torch.nn.LSTM``); ``n_in`` inputs, ``n_hidden`` units, ``n_out`` outputs;
    ``layer_options`` go to ``AMSU``. Input (T, B, n_in) -> logits (T, B, n_out) read from
    the spikes (or the LSTM's hidden state) at every step, and the final state.

    The LSTM gets the usual initialisations for long dependencies: forget-gate bias 1
    (Jozefowicz et al. 2015), or with ``lstm_chrono=T_max`` the chrono initialisation of
    Tallec & Ollivier (2018, eq. 16): forget bias ``log(U(1, T_max - 1))``, input bias its
    negative. Raises ``ValueError`` for an unknown kind or ``lstm_chrono < 3``."""

    KINDS = ("amsu", "lif", "lstm")

    def __init__(self, kind: str, n_in: int, n_hidden: int, n_out: int, lstm_chrono: int | None = None, **layer_options):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"unknown model {kind!r}; choose one of {list(self.KINDS)}")
        self.kind = kind
        if kind == "lstm":
            self.core = torch.nn.LSTM(n_in, n_hidden)
            H = n_hidden
            with torch.no_grad():  # PyTorch's gate order: input, forget, cell, output
                self.core.bias_hh_l0.zero_()
                b = self.core.bias_ih_l0
                if lstm_chrono is None:
                    b[H : 2 * H] = 1.0
                else:
                    if lstm_chrono < 3:
                        raise ValueError(f"lstm_chrono = {lstm_chrono!r} is invalid: the longest dependency must be >= 3 steps")
                    b[H : 2 * H] = torch.log(torch.empty(H).uniform_(1.0, float(lstm_chrono) - 1.0))
                    b[:H] = -b[H : 2 * H]
        else:
            self.core = AMSU(n_in, n_hidden, astrocytes=kind == "amsu", **layer_options)
        self.readout = torch.nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor, state=None):
        if self.kind == "lstm":
            check_finite(x)
            h, state = self.core(x, state)
        else:
            h, state, _ = self.core(x, state)
        return self.readout(h), state


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def hidden_for_budget(kind: str, n_in: int, n_out: int, budget: int, **layer_options) -> int:
    """The largest ``n_hidden`` whose ``SequenceModel(kind, ...)`` has at most ``budget``
    trainable parameters (how the tasks give every model the same parameter count)."""
    def size(h):
        return count_parameters(SequenceModel(kind, n_in, h, n_out, **layer_options))
    lo, hi = 1, 1
    while size(hi) <= budget:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if size(mid) <= budget else (lo, mid)
    if size(lo) > budget:
        raise ValueError(f"a parameter budget of {budget} is too small for any {kind} model with {n_in} inputs and {n_out} outputs")
    return lo
