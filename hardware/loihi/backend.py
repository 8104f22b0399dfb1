"""Loihi 2 as a ``neurosim.backend.Backend``: what Lava's LIF and Dense processes express, the
CuBa-LIF mapping (registered by kind), and compile/run through ``map_network``, ``quantize``
and either the bit-exact fixed-point engine (``engine="fixed"``) or Lava's own simulator
(``engine="lava"``, ``Loihi2SimCfg`` fixed_pt)."""
from __future__ import annotations

import numpy as np

from neurosim.backend import Backend, Capabilities, Deployment, register_backend
from neurosim.network import Network, Population, spike_steps
from neurosim.results import Results

from .learning import RULE_REASONS
from .quantize import MAX_DELAY, LoihiPopulation

__all__ = ["LoihiBackend"]


@register_backend
class LoihiBackend(Backend):
    """Loihi 2 through Lava. ``dt`` (s) the step; ``threshold_bits`` each population's
    threshold mantissa ``2**threshold_bits`` (``quantize``); ``engine``: ``"fixed"`` (the
    Numba twin of Lava's bit-accurate models) or ``"lava"`` (Lava's ``Loihi2SimCfg``,
    fixed_pt; slow)."""

    name = "loihi"
    title = "Loihi 2"
    capabilities = Capabilities(sources=frozenset({"spikes"}), current_injections="constant", max_delay_steps=MAX_DELAY + 1,
                                one_synapse_per_pair=True, weight_precision="8-bit mantissa, one exponent per projection",
                                state_precision="24-bit integer u and v", plasticity=frozenset(RULE_REASONS))

    def __init__(self, dt: float = 1e-3, threshold_bits: int = 14, engine: str = "fixed"):
        super().__init__(dt)
        if engine not in ("fixed", "lava"):
            raise ValueError(f"engine = {engine!r} is invalid: 'fixed' (the Numba fixed-point engine) or 'lava'")
        self.threshold_bits, self.engine = threshold_bits, engine

    def extra_reasons(self, network: Network) -> list[str]:
        out = []
        for pr in network.projections:
            reasons = RULE_REASONS.get(pr.plasticity.kind) if pr.plasticity is not None else None
            if reasons is not None:
                out += reasons(pr, network.node(pr.post).size, self.dt)
        for src in network.sources:
            if src.kind != "spikes" or not src.ids.size:
                continue
            key = spike_steps(src.times, self.dt) * src.size + src.ids
            uniq, counts = np.unique(key, return_counts=True)
            if counts.max() > 1:
                t, i = divmod(int(uniq[np.argmax(counts)]), src.size)
                out.append(f"source {src.name!r}: neuron {i} spikes {int(counts.max())} times in step {t} (dt = {self.dt} s); "
                           "Loihi's spike input carries one spike per neuron and step, where the core simulator adds every "
                           "spike. Thin the source first (hardware.loihi.quantize.one_spike_per_step) or use a smaller dt")
        return out

    def compile(self, network: Network, duration: float) -> Deployment:
        from .quantize import map_network, quantize
        from .resources import estimate_resources

        n_steps = int(round(duration / self.dt))  # map_network refuses fewer than one
        q, report = quantize(map_network(network, self.dt, n_steps), self.threshold_bits)
        return Deployment(self.name, network, self.dt, n_steps * self.dt, q,
                          {"quantization": report, "resources": estimate_resources(q)})

    def run(self, deployment: Deployment) -> Results:
        from .engine import run_fixed
        from .lava_backend import run_lava

        res, ints = run_fixed(deployment.target) if self.engine == "fixed" else run_lava(deployment.target, "fixed_pt")
        res.info = {"integer_state": ints, "learned_weights": ints.get("weights", {})}
        return res


def _cuba_lif_reasons(pop: Population, network: Network, dt: float) -> list[str]:
    """What keeps a ``CubaLIF`` (or ``IF``, ``ThresholdUnit``) population off Loihi's LIF (Lava's ``lava.proc.lif``)."""
    m, where, out = pop.model, f"population {pop.name!r}", []
    c = m.discretize(dt)
    v_rest, v_reset = _rest(m, c), getattr(m, "v_reset", c["v_reset"])
    if v_reset != v_rest:
        out.append(f"{where}: Loihi's LIF resets the voltage to rest (0); v_reset = {v_reset} V differs from v_rest = "
                   f"{v_rest} V")
    if c["ref_steps"] > 1:
        out.append(f"{where}: t_ref = {m.t_ref} s clamps the membrane for {_steps(int(c['ref_steps']) - 1)}; Lava's LIF has no "
                   f"refractory period (use t_ref <= dt = {dt} s)")
    init = pop.initial_state()
    if np.any(init["i_e"] != 0) or np.any(init["i_i"] != 0):
        out.append(f"{where}: initial synaptic currents must be 0 on Loihi")
    if c["a_i"] != c["a_e"]:
        for pr in network.projections:
            if pr.post == pop.name and pr.target == "inh":
                out.append(f"projection {pr.name!r}: Loihi's LIF has one synaptic current; {pop.name!r} has tau_syn_i = "
                           f"{m.tau_syn_i} s != tau_syn_e = {m.tau_syn_e} s (set them equal, inhibition as negative weights)")
    return out


def _rest(m, c) -> float:
    """The resting (and initial) voltage: the model's ``v_rest``, or its coefficients' for a
    model without one (``ThresholdUnit``)."""
    return getattr(m, "v_rest", c["v_rest"])


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


@LoihiBackend.register_neuron("threshold", as_="Lava LIF process with du = dv = 1 (no memory)", reasons=_cuba_lif_reasons)
@LoihiBackend.register_neuron("if", as_="Lava LIF process with dv = 0", reasons=_cuba_lif_reasons)
@LoihiBackend.register_neuron("cuba_lif", as_="Lava LIF process", reasons=_cuba_lif_reasons)
def cuba_lif_to_loihi(pop: Population, dt: float, inputs) -> LoihiPopulation:
    """A checked ``CubaLIF`` (or ``IF``: ``a_m = 1``, so ``dv = 0``) population as a Lava
    ``LIF`` (floating point): ``1 - du = a_e``, ``1 - dv = a_m``, ``vth = v_th - v_rest``, the
    constant currents ``inputs`` as the bias ``k_ext I`` (V per step), the initial voltage
    above rest (``hardware.loihi.quantize``)."""
    m = pop.model
    c = m.discretize(dt)
    bias = np.zeros(pop.size)
    for inj in inputs:
        idx = np.arange(pop.size) if inj.neurons is None else inj.neurons
        bias[idx] += c["k_ext"] * np.broadcast_to(inj.amplitude, idx.shape)
    v_rest = _rest(m, c)
    v0 = pop.initial_state()["v"] - v_rest
    return LoihiPopulation(pop.name, pop.size, 1.0 - c["a_e"], 1.0 - c["a_m"], m.v_th - v_rest, bias, v0)
