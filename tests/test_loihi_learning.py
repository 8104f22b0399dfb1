"""Learning on Loihi 2 (issue #32, criterion 5): pair STDP on Lava's learning engine
(``LearningDense`` with ``STDPLoihi``, fixed point) against the fixed-point engine, bit for
bit on random small plastic networks; ``PairSTDP`` projections of a core ``Network`` mapped to
it; what cannot be mapped, named."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.loihi import map_network, quantize, run_fixed, run_lava
from hardware.loihi.backend import LoihiBackend
from hardware.loihi.learning import LoihiSTDP
from hardware.loihi.quantize import LoihiNetwork, LoihiPopulation, LoihiProjection, LoihiSource
from neurosim import CubaLIF, Network, Population, Projection, Simulator, SpikeSource
from neurosim.plasticity import PairSTDP


def _population(name, size, rng):
    return LoihiPopulation(name, size, 0.1, 0.1, 1.0, np.zeros(size), np.zeros(size), du_int=int(rng.integers(0, 4096)),
                           dv_int=int(rng.integers(0, 4096)), vth_mant=int(rng.integers(20, 400)),
                           bias_mant=rng.integers(0, 40, size), bias_exp=np.zeros(size, np.int64),
                           v0_int=np.zeros(size, np.int64), scale=1.0)


def _dense(name, pre, post, W, rule, exp=0):
    w = sp.csr_matrix(np.ones(W.shape))
    return LoihiProjection(name, pre, post, w, sp.csr_matrix((np.zeros(W.size), w.indices, w.indptr), shape=W.shape),
                           sp.csr_matrix((W.ravel().astype(np.int64), w.indices, w.indptr), shape=W.shape), exp, rule)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_pre=st.integers(1, 4), n_post=st.integers(1, 3), steps=st.integers(10, 50),
       tau_plus=st.integers(1, 40), tau_minus=st.integers(1, 40), exp_plus=st.integers(-6, 0), exp_minus=st.integers(-6, 0),
       impulse=st.integers(1, 60), p=st.floats(0.05, 0.5), chain=st.booleans())
def test_learned_weights_are_bit_exact_with_lava(seed, n_pre, n_post, steps, tau_plus, tau_minus, exp_plus, exp_minus,
                                                 impulse, p, chain):
    rng = np.random.default_rng(seed)
    rule = LoihiSTDP(tau_plus, tau_minus, exp_plus, exp_minus, impulse, rng_seed=int(rng.integers(0, 1000)))
    src = LoihiSource("in", n_pre, (rng.random((n_pre, steps)) < p).astype(np.int32))
    pops = [_population("out", n_post, rng)]
    projs = [_dense("learn", "in", "out", rng.integers(0, 256, (n_post, n_pre)), rule, int(rng.integers(-2, 2)))]
    if chain:  # a second, plastic layer driven by the first one's spikes
        pops.append(_population("out2", 2, rng))
        projs.append(_dense("learn2", "out", "out2", rng.integers(0, 256, (2, n_post)),
                            LoihiSTDP(tau_minus, tau_plus, exp_minus, exp_plus, rng_seed=int(rng.integers(0, 1000)))))
    net = LoihiNetwork(tuple(pops), (src,), tuple(projs), 1e-3, steps, True)
    _, ours = run_fixed(net)
    _, lava = run_lava(net)
    for pop in pops:
        np.testing.assert_array_equal(ours[pop.name]["spikes"], lava[pop.name]["spikes"])
    for pr in projs:
        np.testing.assert_array_equal(ours["weights"][pr.name], lava["weights"][pr.name])


def _plastic_network(rule, n_pre=4, n_post=2, steps=200, seed=0):
    rng = np.random.default_rng(seed)
    t, i = np.nonzero(rng.random((steps, n_pre)) < 0.15)
    lif = CubaLIF(tau_mem=20e-3, tau_syn_e=5e-3, tau_syn_i=5e-3, v_rest=0.0, v_th=10e-3, v_reset=0.0, t_ref=0.0, c_mem=1e-9)
    w = rng.uniform(0.2, 0.6, (n_pre, n_post)) * 1e-9
    return Network(populations=[Population("out", lif, n_post)], sources=[SpikeSource("in", n_pre, t * 1e-3, i)],
                   projections=[Projection.from_dense("in", "out", w, plasticity=rule, name="learn")])


def test_pair_stdp_of_a_network_runs_on_loihi_like_lava():
    # a_minus = 2 a_plus: a ratio that the power-of-two amplitudes of Loihi keep
    rule = PairSTDP(tau_pre=20e-3, tau_post=20e-3, a_plus=0.04e-9, a_minus=0.08e-9, w_min=0.0, w_max=1e-9)
    net = _plastic_network(rule)
    fixed = LoihiBackend(1e-3, engine="fixed")
    dep = fixed.compile(net, 0.2)
    learned = dep.target.projections[0].learning
    assert isinstance(learned, LoihiSTDP) and (learned.tau_plus, learned.tau_minus) == (20, 20)
    report = dep.info["quantization"].projections["learn"]
    assert report["a_plus_rel_error"] < 0.42 and report["a_minus_rel_error"] < 0.42  # powers of two
    ours = fixed.run(dep)
    lava = LoihiBackend(1e-3, engine="lava").run(dep)
    np.testing.assert_array_equal(ours.info["learned_weights"]["learn"], lava.info["learned_weights"]["learn"])
    start = dep.target.projections[0].weights_int.toarray()
    assert not np.array_equal(ours.info["learned_weights"]["learn"], start)
    # the float simulator learns in the same direction, synapse by synapse, where the change is clear
    sim = Simulator(net, dt=1e-3)
    sim.run(0.2)
    core = (sim.weights("learn") - net.projections[0].weights).reshape(4, 2).T  # (post, pre)
    chip = ours.info["learned_weights"]["learn"] - start
    clear = np.abs(core) > 0.1e-9
    assert np.array_equal(np.sign(core[clear]), np.sign(chip[clear]))


def test_what_loihi_cannot_learn_is_named():
    backend = LoihiBackend(1e-3)
    reasons = backend.unsupported(_plastic_network(PairSTDP(weight_dependence="multiplicative", pairing="nearest", w_min=0.0,
                                                            w_max=1e-9, tau_pre=0.5)))
    text = " ".join(reasons)
    for words in ("is additive", "all-to-all pairing", "1..255 steps"):
        assert words in text, (words, reasons)
    sparse = Network(populations=[Population("out", CubaLIF(v_rest=0.0, v_th=10e-3, v_reset=0.0, t_ref=0.0), 2)],
                     sources=[SpikeSource("in", 2, [0.01], [0])],
                     projections=[Projection.from_pairs("in", "out", [0], [1], 1e-10, 2, delays=2e-3, name="learn",
                                                        plasticity=PairSTDP(w_min=0.0, w_max=1e-9))])
    text = " ".join(backend.unsupported(sparse))
    assert "all 2 x 2 pairs" in text and "no synaptic delays" in text
    with pytest.raises(ValueError, match="exponent range|scales by 2"):
        quantize(map_network(_plastic_network(PairSTDP(a_plus=1e-30, a_minus=1e-30, w_min=0.0, w_max=1e-9)), 1e-3, 10))
    for bad in (dict(tau_plus=0), dict(exp_plus=9), dict(impulse=200)):
        with pytest.raises(ValueError):
            LoihiSTDP(**{**dict(tau_plus=5, tau_minus=5, exp_plus=-2, exp_minus=-2), **bad})
