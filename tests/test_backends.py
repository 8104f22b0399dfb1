"""The one backend interface (neurosim.backend): every shipped target is found by name, says
every reason it cannot run a network (naming the element), and compiles and runs a network it
can into the core's Results, close to the float simulator."""
import numpy as np
import pytest

from neurosim import (CubaLIF, CurrentInjection, GapJunctions, GradedNeuron, Izhikevich, Network, PoissonSource, Population,
                      Projection, Simulator, SpikeMonitor, SpikeSource, TripartiteSynapse)
from neurosim.backend import Backend, Capabilities, Deployment, UnsupportedNetwork, backends, get_backend, register_backend

SHIPPED = {"loihi", "nir", "pynn", "spinnaker"}
DT = 1e-3


def test_every_shipped_backend_is_found_by_name():
    found = backends()
    assert SHIPPED <= set(found)
    for name in SHIPPED:
        cls = get_backend(name)
        assert issubclass(cls, Backend) and cls.name == name
        assert isinstance(cls.capabilities, Capabilities)
        assert "cuba_lif" in cls.neurons  # each has its own registry, keyed by kind
    assert len({id(get_backend(n).neurons) for n in SHIPPED}) == len(SHIPPED)
    with pytest.raises(KeyError, match=r"no backend named 'truenorth'; registered: \[.*'loihi'"):
        get_backend("truenorth")


def hostile_network() -> Network:
    """One of everything the hardware targets lack."""
    lif = CubaLIF(v_reset=-65e-3)  # and by default t_ref = 2 ms, tau_syn_i != tau_syn_e
    pops = [Population("izh", Izhikevich(), 3), Population("lif", lif, 4),
            Population("worm", GradedNeuron(), 2, params={"v_half": np.array([-20e-3, -25e-3])})]
    sources = [SpikeSource("spk", 2, [0.0101, 0.0102], [1, 1]), PoissonSource("noise", 2, rate=20.0)]
    projections = [
        Projection.from_dense("spk", "lif", np.full((2, 4), 1e-10), delays=100 * DT, name="slow"),
        Projection.from_dense("noise", "izh", np.full((2, 3), 1e-10), name="noisy"),
        Projection.from_pairs("lif", "lif", [0, 1], [1, 2], 1e-10, 4, target="inh", name="tri", synapse=TripartiteSynapse()),
        Projection.from_dense("worm", "worm", np.full((2, 2), 1e-10), target="graded", e_rev=0.0, name="chem"),
        Projection.from_pairs("spk", "lif", [0, 0], [3, 3], 1e-10, 2, name="twice"),
    ]
    return Network(pops, sources, projections, gap_junctions=[GapJunctions("worm", "worm", [0], [1], 1e-9)],
                   inputs=[CurrentInjection("lif", 1e-10, start=0.05), CurrentInjection("izh", 5e-12)])


@pytest.mark.parametrize("name, settings, expected", [
    ("loihi", {}, ["'izh' is Izhikevich (kind 'izhikevich'); Loihi 2 maps homogeneous CubaLIF populations (as Lava LIF process)",
                   "'worm' is GradedNeuron", "'lif': Loihi's LIF resets the voltage to rest", "no refractory period",
                   "projection 'tri': Loihi's LIF has one synaptic current", "gap junctions", "source 'noise' is a PoissonSource",
                   "current injection into 'lif': only constant currents", "projection 'slow'", "0..63 steps",
                   "projection 'tri': dynamic synapses (TripartiteSynapse)", "projection 'chem': graded synapses",
                   "projection 'twice': more than one synapse between the same pre and post neuron",
                   "source 'spk': neuron 1 spikes 2 times in step 10"]),
    ("spinnaker", {}, ["'izh' is Izhikevich", "'worm' is GradedNeuron", "gap junctions", "source 'noise' is a PoissonSource",
                       "current injection into 'lif'", "'tri': dynamic synapses", "'chem': graded synapses"]),
    ("pynn", {"dt": DT}, ["'izh' is Izhikevich", "as IF_curr_exp", "'worm' is GradedNeuron", "gap junctions",
                          "current injection into 'lif'", "'tri': dynamic synapses", "'chem': graded synapses",
                          "projection 'noisy': its shortest synapse takes 1 step (a delay of 0 s at dt = 0.001 s); shifted by -1 for "
                          "pyNN.brian2 it is under one step"]),
    ("nir", {"dt": DT}, ["'izh' is Izhikevich", "'worm' is GradedNeuron", "gap junctions", "current injection into 'lif': NIR "
                         "takes no current injections", "current injection into 'izh'", "'tri': dynamic synapses",
                         "'chem': graded synapses"]),
])
def test_every_backend_lists_every_reason_naming_the_element(name, settings, expected):
    net = hostile_network()
    backend = get_backend(name)(**settings)
    reasons = backend.unsupported(net)
    text = "\n".join(reasons)
    for phrase in expected:
        assert phrase in text, f"{name}: {phrase!r} missing from\n{text}"
    assert len(reasons) >= len(expected) - 1
    with pytest.raises(ValueError) as err:  # compile refuses with all of them at once
        backend.compile(net, 0.1)
    assert isinstance(err.value, backend.error) and err.value.reasons == reasons
    assert f"({len(reasons)} reasons)" in str(err.value) and all(r in str(err.value) for r in reasons)


def test_the_cuba_network_on_loihi_names_what_its_lif_lacks():
    from circuits.reference.cuba import cuba_network

    reasons = get_backend("loihi")(DT).unsupported(cuba_network(200, seed=0))
    assert len(reasons) == 3, reasons
    assert "v_reset = -0.06 V differs from v_rest = -0.049 V" in reasons[0]
    assert "t_ref = 0.005 s clamps the membrane for 4 steps" in reasons[1]
    assert "tau_syn_i = 0.01 s != tau_syn_e = 0.005 s" in reasons[2] and "projection 'inh'" in reasons[2]
    assert get_backend("spinnaker")().unsupported(cuba_network(200, seed=0)) == []
    assert get_backend("nir")(DT).unsupported(cuba_network(200, seed=0)) == []


def compatible_network(seed: int = 1, duration: float = 0.3) -> Network:
    """A CuBa-LIF network every shipped backend runs: no refractory period, reset to rest, one
    synaptic time constant, one spike per source neuron and step, delays in whole steps."""
    from hardware.loihi.quantize import one_spike_per_step

    rng = np.random.default_rng(seed)
    m = CubaLIF(tau_mem=20e-3, tau_syn_e=5e-3, tau_syn_i=5e-3, t_ref=0.0, v_rest=-70e-3, v_reset=-70e-3, v_th=-55e-3)
    r = m.tau_mem / m.c_mem
    n_in, n, n_spikes = 20, 30, 1500
    src = one_spike_per_step(SpikeSource("inp", n_in, rng.uniform(0, duration, n_spikes), rng.integers(0, n_in, n_spikes)), DT)
    w_in = (rng.random((n_in, n)) < 0.3) * rng.uniform(0.5, 1.5, (n_in, n)) * 4e-3 / r
    w_rec = (rng.random((n, n)) < 0.1) * -3e-3 / r
    return Network([Population("p", m, n)], [src],
                   [Projection.from_dense("inp", "p", w_in, delays=2 * DT, name="in"),
                    Projection.from_dense("p", "p", w_rec, delays=DT, target="inh", name="inh")])


@pytest.fixture(scope="module")
def compatible():
    net, duration = compatible_network(), 0.3
    core = Simulator(net, dt=DT).run(duration, [SpikeMonitor("p")]).spikes["p"]
    assert len(core) > 200
    return net, duration, core


def test_nir_runs_the_compatible_network_exactly_as_the_simulator(compatible):
    net, duration, core = compatible
    backend = get_backend("nir")(DT)
    assert backend.unsupported(net) == []
    deployment = backend.compile(net, duration)
    assert isinstance(deployment, Deployment) and deployment.backend == "nir" and "p" in deployment.target.nodes
    got = backend.run(deployment).spikes["p"]
    np.testing.assert_array_equal(got.times, core.times)
    np.testing.assert_array_equal(got.ids, core.ids)


@pytest.mark.parametrize("name, settings, rate_tolerance", [
    ("spinnaker", {"neurons_per_core": 16}, 0.05),  # s16.15: rounding flips a spike now and then
    ("loihi", {"engine": "fixed"}, 0.15),  # 8-bit weight mantissas, 12-bit du/dv
])
def test_fixed_point_backends_run_the_compatible_network_close_to_the_simulator(compatible, name, settings, rate_tolerance):
    from conftest import match_fraction

    net, duration, core = compatible
    backend = get_backend(name)(dt=DT, **settings)
    assert backend.unsupported(net) == []
    res = backend.simulate(net, duration)
    got = res.spikes["p"]
    assert abs(len(got) - len(core)) <= rate_tolerance * len(core), (len(got), len(core))
    assert match_fraction(got.times, got.ids, core.times, core.ids, 1.01 * DT) >= 1 - 2 * rate_tolerance
    assert res.info  # what the target measured beyond spikes
    if name == "spinnaker":
        assert res.info["traffic"]["dropped_packets"] == 0
    else:
        assert res.info["integer_state"]["p"]["v"].dtype.kind == "i"


def test_every_shipped_backend_names_a_reset_by_subtraction():
    net = Network([Population("soft", CubaLIF(reset="subtract", t_ref=0.0), 3)])
    for name in sorted(SHIPPED):
        reasons = get_backend(name)(dt=DT).unsupported(net)
        assert any("population 'soft': reset = 'subtract'" in r and "resets neurons to v_reset" in r for r in reasons), reasons


def test_capabilities_are_validated():
    with pytest.raises(ValueError, match="resets = \\['soft'\\] is invalid"):
        Capabilities(resets=frozenset({"soft"}))
    with pytest.raises(ValueError, match="current_injections = 'sometimes' is invalid"):
        Capabilities(current_injections="sometimes")
    with pytest.raises(ValueError, match=r"unknown kinds \['rates'\]"):
        Capabilities(sources=frozenset({"rates"}))
    with pytest.raises(ValueError, match="max_delay_steps = 0 is invalid"):
        Capabilities(max_delay_steps=0)


def test_a_backend_defined_here_gets_the_shared_checks_and_its_own_registry():
    """A new target is one class: capabilities, its neuron mappings by kind, compile and run."""

    class TinyChip(Backend):
        name = "tiny_chip_test"
        title = "TinyChip"
        capabilities = Capabilities(sources=frozenset({"spikes"}), current_injections="none", max_fan_in=3,
                                    max_delay_steps=4)

        def compile(self, network, duration):
            self.check(network)
            return Deployment(self.name, network, self.dt, duration, target=None)

        def run(self, deployment):
            return Simulator(deployment.network, dt=self.dt).run(deployment.duration, [SpikeMonitor("a")])

    @TinyChip.register_neuron("cuba_lif", as_="tiny LIF")
    def to_tiny(pop):
        return pop.size

    assert register_backend(TinyChip) is TinyChip and get_backend("tiny_chip_test") is TinyChip
    assert register_backend(TinyChip) is TinyChip  # registering the same class again is harmless
    assert "tiny LIF" not in {m.as_ for m in get_backend("loihi").neurons.values()}
    net = Network([Population("a", CubaLIF(), 2)], [SpikeSource("s", 4, [0.0], [0])],
                  [Projection.from_dense("s", "a", np.full((4, 2), 1e-10), delays=5 * DT, name="wide")])
    reasons = TinyChip(DT).unsupported(net)
    assert reasons == ["projection 'wide': a delay of 0.005 s is 5 steps at dt = 0.001 s, beyond the 3 steps this engine's delay "
                       "buffer holds (TinyChip's delays are 0..3 steps after the one-step transmission)",
                       "population 'a': neuron 0 receives 4 synapses, more than the 3 a neuron has on TinyChip"], reasons
    with pytest.raises(UnsupportedNetwork, match=r"TinyChip cannot run this network \(2 reasons\)"):
        TinyChip(DT).simulate(net, 0.01)
    ok = Network([Population("a", CubaLIF(), 2)], [SpikeSource("s", 3, [0.0], [0])],
                 [Projection.from_dense("s", "a", np.full((3, 2), 1e-10), delays=2 * DT)])
    assert set(TinyChip(DT).simulate(ok, 0.01).spikes) == {"a"}

    class Impostor(Backend):
        name = "tiny_chip_test"

        def compile(self, network, duration):
            raise NotImplementedError

        def run(self, deployment):
            raise NotImplementedError

    with pytest.raises(ValueError, match="backend name 'tiny_chip_test' is already taken"):
        register_backend(Impostor)
    with pytest.raises(ValueError, match="not a Backend subclass with a name"):
        register_backend(dict)
    with pytest.raises(ValueError, match="neuron kind 'cuba_lif' is already mapped"):
        TinyChip.register_neuron("cuba_lif", as_="other")(lambda pop: None)
