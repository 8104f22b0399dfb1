"""A core ``Network`` of CuBa-LIF populations as Loihi 2 sees it: Lava's LIF and Dense
arithmetic, in floating point and quantised to Loihi's integer formats.

Lava's LIF (``lava.proc.lif``; Davies et al. 2018, IEEE Micro 38:82, "Loihi" neuron model)::

    u[t] = u[t-1] (1 - du) + a_in[t]              current
    v[t] = v[t-1] (1 - dv) + u[t] + bias           voltage
    spike if v[t] > vth, then v[t] = 0

is the core's ``CubaLIF`` update (``neurosim.models.CubaLIF``, exact propagator) written in
volts above rest: with ``u = k_e i_e`` (the voltage the synaptic current adds per step),
``1 - du = a_e``, ``1 - dv = a_m``, ``vth = v_th - v_rest``, ``bias = k_ext I_ext`` and a
synaptic weight ``w`` (A) becoming ``k_e w`` (V). Both engines let a spike act one step after
it is sent, so a delay of d seconds (d/dt steps beyond that one) is a Lava delay of d/dt. The
mapping is exact when the reset is to rest (``v_reset == v_rest``) and there is no refractory
clamp (``t_ref <= dt``); otherwise ``map_network`` raises.

Fixed point (Lava's ``PyLifModelBitAcc`` / ``PyDenseModelBitAcc``, the arithmetic of the
chip): ``u``, ``v`` are 24-bit integers; ``du``, ``dv`` 12-bit (the current decays by
``(4096 - du - 1) / 4096``, the voltage by ``(4096 - dv) / 4096``, products truncated toward
zero); the threshold is a 17-bit mantissa shifted left by 6; the bias a 13-bit signed
mantissa times ``2**bias_exp`` (``bias_exp`` 0..7); weights 8-bit mantissas with one exponent
per projection: the activation is ``sum(w) << weight_exp`` (or ``>>`` for negative exponents,
rounding toward minus infinity), shifted left by 6 into ``u``. Lava keeps mixed-sign weights
on even values (a signed 8-bit mantissa times 2), which ``quantize`` respects so that Lava's
own clipping and truncation leave them unchanged.

Each population gets its own integer scale (units per volt): ``scale = vth_mant * 64 / vth``
with ``vth_mant = 2**threshold_bits``; ``threshold_bits`` (default 14) leaves the voltage
and current 8x the threshold of head room below the 24-bit limit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neurosim.network import Network, SpikeSource, delay_steps, spike_steps

from .learning import STDPMapping

__all__ = ["LoihiPopulation", "LoihiProjection", "LoihiSource", "LoihiNetwork", "map_network", "quantize",
           "one_spike_per_step", "QuantizationReport", "DECAY_UNITY", "MAX_DELAY", "WEIGHT_EXP_RANGE"]

#: Loihi's 12-bit decays: ``du``/``dv`` = 4096 clears the state in one step.
DECAY_UNITY = 4096          # 12-bit decays
ACT_SHIFT = 6               # activation and threshold are MSB-aligned by 6 bits
UV_LIMIT = 2**23            # u and v are 24-bit signed
VTH_MAX = 2**17 - 1         # 17-bit threshold mantissa
BIAS_MANT_LIMIT = 4095      # 13-bit signed bias mantissa
BIAS_EXP_MAX = 7
#: Loihi 2's weight exponents (smallest, largest).
WEIGHT_EXP_RANGE = (-8, 7)  # Loihi 2 weight exponents
#: Longest synaptic delay in steps (6 bits; Lava's DelayDense/DelaySparse).
MAX_DELAY = 63              # 6-bit synaptic delays (Lava's DelayDense/DelaySparse)
MAX_INPUT_ENTRIES = 2**28   # spike-input table (neurons x steps) of one source: 1 GiB of int32


@dataclass(frozen=True, eq=False)
class LoihiPopulation:
    """One Lava ``LIF`` process: ``size`` neurons. Floating point: ``du``, ``dv``, ``vth`` (V),
    ``bias`` (V per step, (size,)), initial ``v0`` (V above rest, (size,)). Fixed point
    (filled by ``quantize``): ``du_int``, ``dv_int`` (12-bit), ``vth_mant`` (17-bit),
    ``bias_mant`` (13-bit signed, (size,)), ``bias_exp`` (0..7, (size,)), ``v0_int`` and
    ``scale`` (integer units per volt of ``u`` and ``v``)."""

    name: str
    size: int
    du: float
    dv: float
    vth: float
    bias: np.ndarray
    v0: np.ndarray
    du_int: int = 0
    dv_int: int = 0
    vth_mant: int = 0
    bias_mant: np.ndarray | None = None
    bias_exp: np.ndarray | None = None
    v0_int: np.ndarray | None = None
    scale: float = 0.0


@dataclass(frozen=True, eq=False)
class LoihiSource:
    """Spike input (a Lava ``RingBuffer`` source): ``counts`` (size, n_steps), 1 where a
    neuron spikes in a step (several spike times in one step are one spike, as in the core's
    engine)."""

    name: str
    size: int
    counts: np.ndarray


@dataclass(frozen=True, eq=False)
class LoihiProjection:
    """One Lava ``Dense``/``Sparse`` process (``DelayDense``/``DelaySparse`` when ``delays``
    vary): ``weights`` (n_post, n_pre) CSR in V (floating point), ``delays`` (n_post, n_pre)
    CSR of Lava delays (core delay - 1, 0..63) with the same sparsity, and after ``quantize``
    ``weights_int`` (same sparsity, Lava's 8-bit grid) and ``weight_exp``."""

    name: str
    pre: str
    post: str
    weights: sp.csr_matrix
    delays: sp.csr_matrix
    weights_int: sp.csr_matrix | None = None
    weight_exp: int = 0
    learning: object = None  # plastic: hardware.loihi.learning.STDPMapping, LoihiSTDP once quantised (LearningDense)

    @property
    def max_delay(self) -> int:
        """Largest Lava delay (0 = the next step)."""
        return int(self.delays.data.max()) if self.delays.nnz else 0


@dataclass(frozen=True, eq=False)
class LoihiNetwork:
    """Populations, sources and projections in Lava's terms, for ``n_steps`` steps of ``dt``
    (s). ``quantized`` tells that the fixed-point fields are filled."""

    populations: tuple
    sources: tuple
    projections: tuple
    dt: float
    n_steps: int
    quantized: bool = False

    def recorded(self, record_spikes=None, record_v=None) -> tuple[list, list]:
        """The populations to record spikes of and ``v``/``u`` of (default: all). Raises
        ``ValueError`` for a name that is not a population."""
        names = [p.name for p in self.populations]
        rec_s = names if record_spikes is None else list(record_spikes)
        rec_v = names if record_v is None else list(record_v)
        for name in (*rec_s, *rec_v):
            if name not in names:
                raise ValueError(f"cannot record {name!r}: not a population of the network ({names})")
        return rec_s, rec_v

    def node(self, name: str):
        """The population or source called ``name``."""
        for n in (*self.populations, *self.sources):
            if n.name == name:
                return n
        raise KeyError(f"no population or source named {name!r}")


@dataclass
class QuantizationReport:
    """Quantisation error of every projection (``projections``: name -> dict with
    ``weight_exp``, ``sign_mode``, ``n_weights``, ``max_abs_error`` and ``rms_error`` relative
    to the projection's largest ``|weight|``, ``n_zeroed``: nonzero weights that became 0,
    ``n_clipped``) and population (``populations``: name -> dict with the float and
    effective fixed-point ``du``, ``dv``, ``vth`` and their errors, and the largest bias
    error in V)."""

    projections: dict = field(default_factory=dict)
    populations: dict = field(default_factory=dict)

    def table(self) -> str:
        """The report as text (one line per projection and per population)."""
        lines = ["projection           exp  sign      weights  max err  rms err  zeroed  clipped"]
        for name, r in self.projections.items():
            lines.append(f"{name[:20]:20s} {r['weight_exp']:4d}  {r['sign_mode']:8s} {r['n_weights']:8d}  "
                         f"{r['max_abs_error']:.4f}   {r['rms_error']:.4f}  {r['n_zeroed']:6d}  {r['n_clipped']:7d}")
        lines.append("population           du (float -> fixed)      dv (float -> fixed)      vth err  bias err (V)")
        for name, r in self.populations.items():
            lines.append(f"{name[:20]:20s} {r['du']:.5f} -> {r['du_fixed']:.5f}   {r['dv']:.5f} -> {r['dv_fixed']:.5f}   "
                         f"{r['vth_rel_error']:.1e}  {r['bias_max_error']:.2e}")
        return "\n".join(lines)


def _source_steps(src, dt: float) -> np.ndarray:
    """The step of every spike of ``src``, as the core simulator bins it (``spike_steps``)."""
    return spike_steps(src.times, dt)


def one_spike_per_step(src: SpikeSource, dt: float) -> SpikeSource:
    """``src`` with at most one spike per neuron and step of ``dt`` (s): the first of each
    step's spikes is kept. Loihi's spike inputs carry one spike per neuron and step; the core
    simulator adds every spike, so a source mapped to Loihi must be thinned this way first
    (deliberately: it changes the input, which ``map_network`` will not do silently)."""
    steps = _source_steps(src, dt)
    _, first = np.unique(steps * src.size + src.ids, return_index=True)
    first = np.sort(first)
    return SpikeSource(src.name, src.size, src.times[first], src.ids[first])


def source_counts(src, dt: float, n_steps: int) -> np.ndarray:
    """(size, n_steps) 1 where a neuron of a checked source (one spike per neuron and step)
    spikes; raises ``ValueError`` for a table beyond ``MAX_INPUT_ENTRIES``."""
    if src.size * n_steps > MAX_INPUT_ENTRIES:
        raise ValueError(f"source {src.name!r}: its spike input over n_steps = {n_steps:,} steps would be a table of "
                         f"{src.size:,} x {n_steps:,} entries, more than MAX_INPUT_ENTRIES = {MAX_INPUT_ENTRIES:,}; map and run "
                         "fewer steps at a time")
    steps = _source_steps(src, dt)
    keep = steps < n_steps
    counts = np.zeros((src.size, n_steps), np.int32)
    counts[src.ids[keep], steps[keep]] = 1
    return counts


def map_network(network: Network, dt: float, n_steps: int) -> LoihiNetwork:
    """``network`` in Lava's floating-point terms, for a run of ``n_steps`` steps of ``dt``
    (s). What Loihi can express is ``hardware.loihi.backend.LoihiBackend``'s: populations of a
    model kind it maps (``CubaLIF`` with ``v_reset == v_rest`` and ``t_ref <= dt``);
    projections static, current-based, with delays of 0..63 steps at ``dt`` and at most one
    synapse per (pre, post) pair; sources ``SpikeSource`` with at most one spike per neuron
    and step (``one_spike_per_step``); current injections constant (they become the bias).
    Raises ``neurosim.backend.UnsupportedNetwork`` (a ``ValueError``) listing every element
    Loihi cannot express (gap junctions, astrocytes, graded or dynamic synapses, a separate
    inhibitory time constant for a population that receives inhibition, several spikes of a
    source neuron in one step, ...), and ``ValueError`` for a bad ``n_steps`` or a source
    whose spike table (neurons x ``n_steps``) would exceed ``MAX_INPUT_ENTRIES``."""
    from .backend import LoihiBackend  # the backend imports this module

    backend = LoihiBackend(dt)
    backend.check(network)  # every reason at once (neurosim.backend)
    if not (isinstance(n_steps, (int, np.integer)) and n_steps >= 1):
        raise ValueError(f"n_steps = {n_steps!r} is invalid: must be an integer >= 1")
    pops = {p.name: backend.neuron_mapping(p).convert(p, dt, [i for i in network.inputs if i.target == p.name])
            for p in network.populations}
    srcs = {s.name: LoihiSource(s.name, s.size, source_counts(s, dt, n_steps)) for s in network.sources}
    projs = []
    for pr in network.projections:
        c = network.population(pr.post).model.discretize(dt)
        k = c["k_i"] if pr.target == "inh" else c["k_e"]
        pre_idx = pr.pre_indices()
        steps = delay_steps(pr, dt, MAX_DELAY + 1)  # Lava's delay: the steps beyond the one-step transmission
        shape = (network.node(pr.post).size, pr.n_pre)
        w = sp.csr_matrix((k * pr.weights.astype(np.float64), (pr.indices, pre_idx)), shape=shape)
        d = sp.csr_matrix((steps - 1, (pr.indices, pre_idx)), shape=shape)
        w.sort_indices()
        d.sort_indices()
        rule = pr.plasticity
        learning = None if rule is None else STDPMapping(k * rule.a_plus, k * rule.a_minus, int(round(rule.tau_pre / dt)),
                                                         int(round(rule.tau_post / dt)), k * rule.w_max)
        projs.append(LoihiProjection(pr.name, pr.pre, pr.post, w, d, learning=learning))
    return LoihiNetwork(tuple(pops.values()), tuple(srcs.values()), tuple(projs), float(dt), int(n_steps))


def _sign_mode(values: np.ndarray) -> str:
    return "exc" if values.min(initial=0) >= 0 else "inh" if values.max(initial=0) <= 0 else "mixed"


def _quantize_weights(w: np.ndarray, scale: float) -> tuple[np.ndarray, int, str, int]:
    """Weights (V) -> (integers on Lava's grid, exponent, sign mode, number clipped)."""
    with np.errstate(over="ignore"):
        units = w * scale / 2**ACT_SHIFT  # activation units: sum(w_int) << exp, before the 6-bit shift
    if not np.all(np.isfinite(units)):
        k = int(np.flatnonzero(~np.isfinite(units))[0])
        raise ValueError(f"weight {w[k]:.3g} V is beyond any floating-point scale of Loihi's 8-bit weights")
    mode = _sign_mode(units)
    # mixed: signed 8-bit mantissa stored times 2 (Lava drops bit 0); one sign: 8 bits
    step, limit = (2, 254) if mode == "mixed" else (1, 255)
    peak = float(np.abs(units).max(initial=0.0))
    lo, hi = WEIGHT_EXP_RANGE
    exp = lo if peak == 0 else int(np.clip(math.ceil(math.log2(peak / limit)), lo, hi))
    q = np.round(units / (2.0**exp * step)) * step
    clipped = int(np.sum(np.abs(q) > limit))
    q = np.clip(q, -limit, limit)
    return q.astype(np.int64), exp, mode, clipped


def _quantize_bias(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mag = np.abs(b)
    exp = np.zeros(b.shape, np.int64)
    big = mag > BIAS_MANT_LIMIT
    exp[big] = np.minimum(np.ceil(np.log2(mag[big] / BIAS_MANT_LIMIT)), BIAS_EXP_MAX).astype(np.int64)
    mant = np.clip(np.round(b / 2.0**exp), -BIAS_MANT_LIMIT - 1, BIAS_MANT_LIMIT).astype(np.int64)
    return mant, exp


def quantize(net: LoihiNetwork, threshold_bits: int = 14) -> tuple[LoihiNetwork, QuantizationReport]:
    """Loihi 2's integer formats for ``net`` (from ``map_network``): returns the network with
    its fixed-point fields filled and the ``QuantizationReport``. ``threshold_bits`` sets
    each population's threshold mantissa to ``2**threshold_bits`` (1..16) and with it the
    integer scale of its ``u`` and ``v``. Raises ``ValueError`` for a bad ``threshold_bits``,
    a threshold <= 0, and values the chip cannot hold at that scale (a bias beyond the 13-bit
    mantissa x 2**7, an initial voltage beyond 24 bits, a weight too large for any
    exponent): they are refused, never clipped silently. Weights above the largest
    exponent's range are clipped and counted in the report (``n_clipped``)."""
    if not (isinstance(threshold_bits, (int, np.integer)) and 1 <= threshold_bits <= 16):
        raise ValueError(f"threshold_bits = {threshold_bits!r} is invalid: must be an integer in 1..16")
    report = QuantizationReport()
    pops = {}
    for p in net.populations:
        if not p.vth > 0:
            raise ValueError(f"population {p.name!r}: threshold {p.vth} V above rest must be > 0 for Loihi")
        vth_mant = 2**threshold_bits
        scale = vth_mant * 2**ACT_SHIFT / p.vth
        du_int = int(np.clip(round(DECAY_UNITY - 1 - (1.0 - p.du) * DECAY_UNITY), 0, DECAY_UNITY - 1))
        dv_int = int(np.clip(round(p.dv * DECAY_UNITY), 0, DECAY_UNITY - 1))
        where = f"population {p.name!r}"
        with np.errstate(over="ignore", invalid="ignore"):
            bias_units, v0_units = p.bias * scale, np.round(p.v0 * scale)
        # values the chip cannot hold are refused, never clipped (threshold_bits sets the scale)
        big = ~(np.abs(bias_units) <= (BIAS_MANT_LIMIT + 0.5) * 2**BIAS_EXP_MAX)
        if big.any():
            k = int(np.flatnonzero(big)[0])
            raise ValueError(f"{where}: neuron {k}'s bias {p.bias[k]:.3g} V per step is beyond Loihi's 13-bit bias mantissa "
                             f"x 2**{BIAS_EXP_MAX} at this scale (at most {BIAS_MANT_LIMIT * 2**BIAS_EXP_MAX / scale:.3g} V "
                             f"per step with threshold_bits = {threshold_bits}); lower the current or threshold_bits")
        big = ~(np.abs(v0_units) < UV_LIMIT)
        if big.any():
            k = int(np.flatnonzero(big)[0])
            raise ValueError(f"{where}: neuron {k}'s initial voltage {p.v0[k]:.3g} V above rest is beyond Loihi's 24-bit "
                             f"voltage (at most {(UV_LIMIT - 1) / scale:.3g} V with threshold_bits = {threshold_bits})")
        bias_mant, bias_exp = _quantize_bias(bias_units)
        v0_int = v0_units.astype(np.int64)
        pops[p.name] = LoihiPopulation(p.name, p.size, p.du, p.dv, p.vth, p.bias, p.v0, du_int, dv_int, vth_mant,
                                       bias_mant, bias_exp, v0_int, scale)
        report.populations[p.name] = {
            "du": p.du, "du_fixed": (du_int + 1) / DECAY_UNITY, "dv": p.dv, "dv_fixed": dv_int / DECAY_UNITY,
            "du_error": abs((du_int + 1) / DECAY_UNITY - p.du), "dv_error": abs(dv_int / DECAY_UNITY - p.dv),
            "vth_rel_error": abs(vth_mant * 2**ACT_SHIFT / scale - p.vth) / p.vth,
            "bias_max_error": float(np.abs(bias_mant * 2.0**bias_exp / scale - p.bias).max(initial=0.0)),
        }
    projs = []
    for pr in net.projections:
        scale = pops[pr.post].scale
        plastic = isinstance(pr.learning, STDPMapping)
        try:  # a plastic projection's scale puts w_max at the top of the 8-bit range, where Loihi clips
            values = np.append(pr.weights.data, pr.learning.w_max) if plastic else pr.weights.data
            q, exp, mode, clipped = _quantize_weights(values, scale)
            q = q[: pr.weights.nnz]
        except ValueError as exc:
            raise ValueError(f"projection {pr.name!r}: {exc}") from None
        learning, rule_errors = pr.learning, {}
        if plastic:
            learning, rule_errors = pr.learning.quantize(2.0**exp * 2**ACT_SHIFT / scale, f"projection {pr.name!r}")
        wq = sp.csr_matrix((q, pr.weights.indices.copy(), pr.weights.indptr.copy()), shape=pr.weights.shape)
        back = q * 2.0**exp * 2**ACT_SHIFT / scale
        peak = float(np.abs(pr.weights.data).max(initial=0.0)) or 1.0
        err = np.abs(back - pr.weights.data) / peak
        report.projections[pr.name] = {
            "weight_exp": exp, "sign_mode": mode, "n_weights": int(pr.weights.nnz),
            "max_abs_error": float(err.max(initial=0.0)), "rms_error": float(np.sqrt(np.mean(err**2))) if err.size else 0.0,
            "n_zeroed": int(np.sum((q == 0) & (pr.weights.data != 0))), "n_clipped": clipped, **rule_errors,
        }
        projs.append(LoihiProjection(pr.name, pr.pre, pr.post, pr.weights, pr.delays, wq, exp, learning))
    return LoihiNetwork(tuple(pops.values()), net.sources, tuple(projs), net.dt, net.n_steps, True), report
