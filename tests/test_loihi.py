"""Loihi 2 through Lava (issue #10): the import hook, quantisation, the mapping of a core
Network to Lava processes, and the Numba fixed-point engine against Lava's bit-accurate
models (criterion 1) and Lava's floating-point models against the core simulator
(criterion 2)."""
import importlib
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import match_fraction
from hardware.loihi import map_network, one_spike_per_step, quantize, run_fixed, run_lava
from hardware.loihi import lava_compat
from neurosim import CubaLIF, CurrentInjection, Network, Population, Projection, Simulator, SpikeMonitor, SpikeSource
from neurosim.network import GapJunctions

DT = 1e-3


# ------------------------------------------------------------------ the import hook
def test_hook_rewrites_only_the_mutable_defaults():
    src = ("from dataclasses import dataclass\n@dataclass\nclass A:\n    x: ByteEncoder = ByteEncoder()\n"
           "    y: int = 0\n    hi: ByteEncoder = ByteEncoder()\n")
    patched, n = lava_compat.patch_source(src)
    assert n == 2
    assert patched.count("field(default_factory=ByteEncoder)") == 2
    assert patched.splitlines()[4] == "    y: int = 0"  # other lines and line numbers unchanged
    assert len(patched.splitlines()) == len(src.splitlines())
    fixed = "class A:\n    x: ByteEncoder = field(default_factory=ByteEncoder)\n"
    assert lava_compat.patch_source(fixed) == (fixed, 0)  # a no-op once Lava fixes it


def test_hook_loads_lava_var_model_and_touches_nothing_else(tmp_path):
    lava_compat.import_lava()
    mod = sys.modules[lava_compat.TARGET]
    assert lava_compat._PatchingLoader.lines_rewritten == 8  # the 8 ByteEncoder fields of lava-nc 0.10.0
    assert isinstance(mod.__spec__.loader, lava_compat._PatchingLoader)
    assert mod.NcSpikeIOVarModel.__dataclass_fields__  # the dataclasses were created
    # the file on disk still has the original lines: nothing was written to site-packages
    with open(mod.__file__) as f:
        assert "x: ByteEncoder = ByteEncoder()" in f.read()
    # any other module goes through the normal import system
    assert lava_compat._FINDER.find_spec("lava.proc.lif.process", None) is None
    assert importlib.import_module("lava.proc.lif.process").__spec__.loader.__class__.__name__ == "SourceFileLoader"


# ------------------------------------------------------------------ random CuBa-LIF networks
def random_network(seed, n_in, sizes, tau_mem, tau_syn, v_gap, w_scale, density, max_delay, bias_frac, rate, steps):
    rng = np.random.default_rng(seed)
    pops, projs, inputs = [], [], []
    for k, n in enumerate(sizes):
        m = CubaLIF(tau_mem=tau_mem[k], tau_syn_e=tau_syn[k], tau_syn_i=tau_syn[k], t_ref=0.0, v_rest=-70e-3,
                    v_reset=-70e-3, v_th=-70e-3 + v_gap[k])
        pops.append(Population(f"p{k}", m, n))
        # a constant current that brings some neurons near threshold on its own
        amp = rng.uniform(-0.5, 1.0, n) * bias_frac * v_gap[k] / (m.tau_mem / m.c_mem)
        inputs.append(CurrentInjection(f"p{k}", amp))
    n_spikes = rng.poisson(rate * n_in * steps)
    # Loihi's inputs carry one spike per neuron and step: thin the source for both engines
    src = one_spike_per_step(SpikeSource("in", n_in, rng.uniform(0, steps * DT, n_spikes), rng.integers(0, n_in, n_spikes)), DT)
    nodes = [("in", n_in)] + [(p.name, p.size) for p in pops]
    for k, pop in enumerate(pops):
        for pre, n_pre in nodes[: k + 2]:  # feed-forward from all earlier nodes, and recurrent
            mask = rng.random((n_pre, pop.size)) < density
            # weights in amperes that move the membrane by ~w_scale thresholds
            r = pop.model.tau_mem / pop.model.c_mem
            w = rng.normal(0.2, 1.0, (n_pre, pop.size)) * w_scale * v_gap[k] / r * mask
            sign = rng.integers(0, 3)  # mixed, excitatory only, inhibitory only
            w = np.abs(w) if sign == 1 else -np.abs(w) if sign == 2 else w
            d = rng.integers(1, max_delay + 1, (n_pre, pop.size))  # steps: a delay of (d - 1) dt
            projs.append(Projection.from_dense(pre, pop.name, w, delays=(d - 1) * DT, name=f"{pre}->{pop.name}"))
    return Network(pops, [src], projs, inputs=inputs)


net_params = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "n_in": st.integers(1, 12),
    "sizes": st.lists(st.integers(1, 16), min_size=1, max_size=2),
    "tau_mem": st.lists(st.floats(1.5e-3, 100e-3), min_size=2, max_size=2),
    "tau_syn": st.lists(st.floats(0.5e-3, 50e-3), min_size=2, max_size=2),
    "v_gap": st.lists(st.floats(2e-3, 40e-3), min_size=2, max_size=2),
    "w_scale": st.floats(0.02, 3.0),
    "density": st.floats(0.1, 1.0),
    "max_delay": st.integers(1, 6),
    "bias_frac": st.floats(0.0, 1.5),
    "rate": st.floats(0.01, 0.4),
})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=net_params, threshold_bits=st.integers(6, 16))
def test_fixed_point_engine_is_bit_exact_with_lava(params, threshold_bits):
    """Criterion 1: identical spike trains and identical integer u and v over 200 steps."""
    net = random_network(**params, steps=200)
    try:
        q, _ = quantize(map_network(net, DT, 200), threshold_bits=threshold_bits)
    except ValueError as exc:  # a bias the 13-bit mantissa x 2**7 cannot hold at this scale is refused, not clipped
        assume("beyond Loihi's 13-bit bias mantissa" not in str(exc))
        raise
    _, ours = run_fixed(q)
    _, lava = run_lava(q, "fixed_pt")
    for p in q.populations:
        np.testing.assert_array_equal(ours[p.name]["spikes"], lava[p.name]["spikes"], err_msg=f"spikes of {p.name}")
        np.testing.assert_array_equal(ours[p.name]["v"], lava[p.name]["v"], err_msg=f"v of {p.name}")
        np.testing.assert_array_equal(ours[p.name]["u"], lava[p.name]["u"], err_msg=f"u of {p.name}")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=net_params)
def test_lava_floating_point_agrees_with_the_core_simulator(params):
    """Criterion 2: Lava floating_pt and the Numba simulator, spikes within one step for >= 99%.

    The two sum in a different order (volts above rest in Lava, absolute volts in the core),
    so a membrane within rounding of the threshold could cross one step apart; a network
    passes with >= 99% matched or at most one unmatched spike. (The earlier failures put
    down to such flips were two spikes of an input neuron in one step, which the mapping
    silently merged and the core added: the mapping now refuses them, see below.)"""
    net = random_network(**params, steps=200)
    res, _ = run_lava(map_network(net, DT, 200), "floating_pt", record_v=[])
    core = Simulator(net, dt=DT).run(200 * DT, [SpikeMonitor(p.name) for p in net.populations])
    matched = total = 0.0
    for p in net.populations:
        a, b = res.spikes[p.name], core.spikes[p.name]
        n = max(len(a), len(b))
        matched += match_fraction(a.times, a.ids, b.times, b.ids, 1.01 * DT) * n
        total += n
    assert matched >= 0.99 * total or total - matched <= 1 + 1e-9, (matched, total)


def test_an_example_network_spikes_and_matches_on_every_engine():
    """A fixed example with activity in every population (the random tests may draw quiet
    ones): fixed-point engine == Lava fixed_pt, bit for bit; Lava floating_pt == core; the
    quantised run stays close to the float run; traces come back in volts."""
    net = random_network(3, 10, [12, 8], [20e-3, 10e-3], [5e-3, 2e-3], [20e-3, 15e-3], 0.8, 0.5, 4, 0.5, 0.1, 300)
    ln = map_network(net, DT, 300)
    q, report = quantize(ln)
    ours, ours_int = run_fixed(q)
    lava, lava_int = run_lava(q, "fixed_pt")
    flt, _ = run_lava(ln, "floating_pt")
    core = Simulator(net, dt=DT).run(300 * DT, [SpikeMonitor("p0"), SpikeMonitor("p1")])
    for name in ("p0", "p1"):
        assert len(core.spikes[name]) > 20
        np.testing.assert_array_equal(ours_int[name]["v"], lava_int[name]["v"])
        np.testing.assert_array_equal(ours.spikes[name].times, lava.spikes[name].times)
        f, c = flt.spikes[name], core.spikes[name]
        assert match_fraction(f.times, f.ids, c.times, c.ids, 1.01 * DT) >= 0.99
        # 8-bit weights: the quantised network still fires like the float one
        assert abs(len(ours.spikes[name]) - len(c)) <= 0.1 * len(c)
        # the integer voltage over its scale is the float voltage up to quantisation
        np.testing.assert_allclose(ours.traces[name]["v"][:5], flt.traces[name]["v"][:5], atol=2e-4)
    assert ours.synaptic_events > 0
    for r in report.projections.values():
        assert r["max_abs_error"] <= 1 / 127 + 1e-12  # half a mantissa step of the largest weight
    for r in report.populations.values():
        assert r["du_error"] <= 0.5 / 4096 + 1e-12 and r["dv_error"] <= 0.5 / 4096 + 1e-12


# ------------------------------------------------------------------ what Loihi cannot express
def _lif(**kw):
    return CubaLIF(**{"t_ref": 0.0, "v_reset": -70e-3, **kw})


@pytest.mark.parametrize("build, match", [
    (lambda: Network([Population("a", _lif(v_reset=-65e-3), 2)]), "resets the voltage to rest"),
    (lambda: Network([Population("a", _lif(t_ref=3e-3), 2)]), "no refractory period"),
    (lambda: Network([Population("a", _lif(), 2)], gap_junctions=[GapJunctions("a", "a", [0], [1], [1e-9])]), "gap junctions"),
    (lambda: Network([Population("a", _lif(), 2)], inputs=[CurrentInjection("a", 1e-10, start=0.01)]), "constant currents"),
    (lambda: Network([Population("a", _lif(tau_syn_i=3e-3), 2)], [SpikeSource("s", 1, [0.0], [0])],
                     [Projection.from_dense("s", "a", -np.ones((1, 2)) * 1e-10, target="inh")]), "one synaptic current"),
    (lambda: Network([Population("a", _lif(), 2)], [SpikeSource("s", 1, [0.0], [0])],
                     [Projection.from_dense("s", "a", np.ones((1, 2)) * 1e-10, delays=69 * DT)]), "Loihi 2's delays are 0..63"),
    (lambda: Network([Population("a", _lif(), 2)], [SpikeSource("s", 2, [0.0021, 0.003, 0.0029], [1, 0, 1])],
                     [Projection.from_dense("s", "a", np.ones((2, 2)) * 1e-10)]), r"neuron 1 spikes 2 times in step 2"),
])
def test_unmappable_networks_raise_clear_errors(build, match):
    with pytest.raises(ValueError, match=match):
        map_network(build(), DT, 10)


def test_one_spike_per_step_keeps_the_first_spike_of_each_step():
    src = SpikeSource("s", 3, [0.0021, 0.0029, 0.003, 0.0001, 0.0021], [1, 1, 1, 0, 2])
    thin = one_spike_per_step(src, DT)
    assert sorted(zip(np.round(thin.times, 6), thin.ids)) == [(0.0001, 0), (0.0021, 1), (0.0021, 2), (0.003, 1)]
    map_network(Network([Population("a", _lif(), 2)], [thin], [Projection.from_dense("s", "a", np.ones((3, 2)) * 1e-10)]), DT, 5)


def test_fixed_point_runs_need_a_quantised_network():
    ln = map_network(Network([Population("a", _lif(), 2)]), DT, 5)
    with pytest.raises(ValueError, match="quantised"):
        run_fixed(ln)
    with pytest.raises(ValueError, match="quantised"):
        run_lava(ln, "fixed_pt")
    with pytest.raises(ValueError, match="select_tag"):
        run_lava(ln, "float")
    with pytest.raises(ValueError, match="threshold_bits"):
        quantize(ln, threshold_bits=20)
    q, _ = quantize(ln)
    with pytest.raises(ValueError, match="cannot record 'b'"):
        run_fixed(q, record_v=["b"])
    with pytest.raises(ValueError, match="cannot record 'b'"):
        run_lava(q, "fixed_pt", record_spikes=["b"])


# ------------------------------------------------------------------ resources
def test_resources_pack_cores_within_every_limit():
    from hardware.loihi.resources import LoihiLimits, estimate_resources

    m = _lif()
    # 10 neurons; neuron j has inputs j, j+1, j+2 (mod 6) of a 6-neuron source
    pairs_j = np.repeat(np.arange(10), 3)
    pairs_i = (np.tile([0, 1, 2], 10) + pairs_j) % 6
    proj = Projection.from_pairs("s", "a", pairs_i, pairs_j, 1e-10, 6)
    fanout = Projection.from_dense("a", "b", np.full((10, 4), 1e-10))
    net = Network([Population("a", m, 10), Population("b", m, 4)], [SpikeSource("s", 6, [0.0], [0])], [proj, fanout])
    ln = map_network(net, DT, 5)
    # neurons per core
    r = estimate_resources(ln, LoihiLimits(neurons_per_core=4, cores_per_chip=2))
    assert r.cores == {"a": 3, "b": 1} and r.total_cores == 4 and r.chips == 2 and not r.violations
    # synapses per core: 3 per neuron in a, so 7 allow two neurons
    assert estimate_resources(ln, LoihiLimits(synapses_per_core=7)).cores["a"] == 5
    # fan-in: consecutive neurons share inputs; 4 distinct inputs allow neurons k, k+1
    r = estimate_resources(ln, LoihiLimits(fan_in_per_core=4))
    assert r.cores["a"] == 5
    assert r.violations == ["b: 4 neuron(s) each need more than one core: up to 10 synapses from 10 inputs "
                            "(limits 937500 synapses, 4 input axons per core)"]
    # fan-out: every neuron of a sends to b's one core; b is packed first, so a packs 2 per core
    r = estimate_resources(ln, LoihiLimits(fan_out_per_core=2))
    assert r.cores["a"] == 5 and r.max_fan_out == 2 and not r.violations
    # a neuron with more inputs than a core takes is reported, not hidden
    r = estimate_resources(ln, LoihiLimits(fan_in_per_core=2))
    assert any(v.startswith("a: 10 neuron(s)") for v in r.violations)
