"""Plasticity in the core (issue #32): pair STDP against Brian2's Song et al. example spike
for spike and weight for weight; pair, nearest-spike and triplet STDP against their
equations summed pair by pair; weights monitored, read back, saved and continued; bad
input named."""
import numpy as np
import pytest

from circuits.reference.pairing import (frequency_dependence, pair_sum_stdp, paired_run, pairing_protocol,
                                        triplet_expectation)
from circuits.reference.song2000 import SONG, run_song, run_song_brian2, song_inputs, song_network
from neurosim import Network, Population, Projection, Simulator, SpikeSource
from neurosim.models import CubaLIF, GradedNeuron, PairSTDP, RewardSTDP, TripletSTDP
from neurosim.monitors import WeightMonitor

WIDE = dict(w_min=-100.0, w_max=100.0)


def test_song_example_matches_brian2_spike_for_spike_and_weight_for_weight():
    times, ids, w0 = song_inputs(1000, 1.5, seed=3)
    ours = run_song(times, ids, w0, 1.5, record=np.arange(1000), every=1)
    theirs = run_song_brian2(times, ids, w0, 1.5, record=np.arange(1000), every=1)
    assert len(ours["spikes"]) > 20
    np.testing.assert_array_equal(np.round(ours["spikes"] / 1e-4), np.round(theirs["spikes"] / 1e-4))
    assert ours["w"].shape == theirs["w"].shape == (15000, 1000)
    g = SONG["g_max"]
    assert np.abs(ours["w"] - theirs["w"]).max() < 1e-12 * g  # every weight, every step
    assert np.abs(ours["weights"] - theirs["weights"]).max() < 1e-12 * g
    assert np.abs(ours["weights"] - w0).max() > 1e-3 * g  # it learned


@pytest.mark.parametrize("delay, dendritic", [(1.5e-3, 0.0), (0.0, 2e-3), (1e-3, 3e-3)])
def test_delayed_plastic_synapses_match_brian2(delay, dendritic):
    # Brian2 runs on_pre (delivery, presynaptic update) when the spike arrives, `delay` late,
    # and on_post (postsynaptic update) `dendritic` after the postsynaptic spike
    times, ids, w0 = song_inputs(1000, 1.0, seed=5)
    ours = run_song(times, ids, w0, 1.0, record=np.arange(1000), every=5, delay=delay, dendritic_delay=dendritic)
    theirs = run_song_brian2(times, ids, w0, 1.0, record=np.arange(1000), every=5, delay=delay, dendritic_delay=dendritic)
    assert len(ours["spikes"]) > 10
    np.testing.assert_array_equal(np.round(ours["spikes"] / 1e-4), np.round(theirs["spikes"] / 1e-4))
    assert np.abs(ours["w"] - theirs["w"]).max() < 1e-12 * SONG["g_max"]
    undelayed = run_song(times, ids, w0, 1.0)
    assert not np.array_equal(undelayed["weights"], ours["weights"])


def test_additive_pair_stdp_is_the_sum_of_the_window_over_all_pairs():
    rng = np.random.default_rng(0)
    rule = PairSTDP(a_plus=0.01, a_minus=0.012, tau_pre=17e-3, tau_post=34e-3, **WIDE)
    pre = np.sort(rng.choice(5000, 40, replace=False)) * 1e-4 + 0.01
    post = np.sort(rng.choice(5000, 30, replace=False)) * 1e-4 + 0.01
    out = paired_run(rule, pre, post)
    np.testing.assert_allclose(out["pre"], pre)
    np.testing.assert_allclose(out["post"], post)
    assert out["dw"] == pytest.approx(pair_sum_stdp(rule, pre, post), rel=1e-12, abs=1e-15)


def test_nearest_spike_pairing_and_multiplicative_bounds():
    # nearest: a trace is set to 1 at a spike; a post spike 5 ms after two pre spikes sees only the last one
    rule = PairSTDP(a_plus=0.1, a_minus=0.0, tau_pre=20e-3, pairing="nearest", **WIDE)
    out = paired_run(rule, [0.010, 0.020], [0.025])
    assert out["dw"] == pytest.approx(0.1 * np.exp(-5e-3 / 20e-3), rel=1e-12)
    all_pairs = paired_run(rule.replace(pairing="all_to_all"), [0.010, 0.020], [0.025])["dw"]
    assert all_pairs == pytest.approx(0.1 * (np.exp(-5e-3 / 20e-3) + np.exp(-15e-3 / 20e-3)), rel=1e-12)
    # multiplicative: potentiation scales with (w_max - w), so repeated pairs approach w_max without reaching it
    soft = PairSTDP(a_plus=0.5, a_minus=0.0, weight_dependence="multiplicative", pairing="nearest", w_min=0.0, w_max=1.0)
    pre, post = pairing_protocol(20, 10.0, 1e-3)
    w = paired_run(soft, pre, post)["dw"]
    step = 0.5 * np.exp(-1e-3 / 20e-3)
    assert w == pytest.approx(1 - (1 - step) ** 20, rel=1e-10)
    hard = soft.replace(weight_dependence="additive")
    assert paired_run(hard, pre, post)["dw"] == 1.0  # clipped at w_max


def test_triplet_stdp_frequency_dependence_matches_the_equations():
    rule = TripletSTDP(**WIDE)
    res = frequency_dependence(rule, [0.1, 10.0, 20.0, 50.0], n_pairs=30)
    np.testing.assert_allclose(res["engine"], res["expected"], rtol=1e-10, atol=1e-14)
    pre_post, post_pre = res["engine"]
    assert pre_post[0] < 1e-6 and pre_post[-1] > 0.2  # potentiation grows with frequency
    assert post_pre[0] < -0.1 and post_pre[-1] > 0  # depression at low frequency turns into potentiation


def test_triplet_term_needs_the_previous_postsynaptic_spike():
    rule = TripletSTDP(A2_plus=0.0, A3_plus=0.01, A2_minus=0.0, **WIDE)
    # one pre-post pair: no previous post spike, so no potentiation; a post-pre-post triplet potentiates
    assert paired_run(rule, [0.05], [0.06])["dw"] == 0.0
    dw = paired_run(rule, [0.05], [0.04, 0.06])["dw"]
    assert dw == pytest.approx(triplet_expectation(rule, [0.05], [0.04, 0.06]), rel=1e-12)
    assert dw == pytest.approx(0.01 * np.exp(-10e-3 / 16.8e-3) * np.exp(-20e-3 / 114e-3), rel=1e-12)


def test_weights_read_back_saved_and_continued(tmp_path):
    times, ids, w0 = song_inputs(1000, 1.0, seed=1)
    net = song_network(times, ids, w0)
    one = Simulator(net, dt=1e-4)
    one.run(1.0)
    two = Simulator(net, dt=1e-4)
    two.run(0.4)
    two.run(0.6)  # state (weights and traces) continues across runs
    name = net.projections[0].name
    np.testing.assert_array_equal(one.weights(name), two.weights(name))
    assert not np.array_equal(one.weights(name), w0)
    learned = one.learned_network()
    learned.save(tmp_path / "learned.npz")
    back = Network.load(tmp_path / "learned.npz")
    np.testing.assert_array_equal(back.projections[0].weights, one.weights(name))
    assert back.projections[0].plasticity == net.projections[0].plasticity
    again = Simulator(back, dt=1e-4)
    np.testing.assert_array_equal(again.weights(name), one.weights(name))
    res = again.run(0.2, [WeightMonitor(name, [0, 5], every=100)])
    assert res.weights[name]["w"].shape == (20, 2)
    np.testing.assert_array_equal(res.weights[name]["w"][0], one.weights(name)[[0, 5]])
    fixed = Network(populations=net.populations, sources=net.sources,
                    projections=[Projection.from_dense("inputs", "neuron", w0[:, None])])
    with pytest.raises(ValueError, match="fixed weights"):
        Simulator(fixed).weights("inputs->neuron:exc")
    with pytest.raises(KeyError, match="no projection"):
        one.weights("nope")


def _pair_net(rule=None, post_model=None, target="exc", weights=0.5, delays=0.0):
    post_model = post_model or CubaLIF()
    return Network(populations=[Population("a", CubaLIF(), 3), Population("b", post_model, 2)],
                   sources=[SpikeSource("s", 1, [0.01], [0])],
                   projections=[Projection.from_dense("a", "b", np.full((3, 2), weights), delays=delays, target=target,
                                                      plasticity=rule)])


@pytest.mark.parametrize("field, value, match", [
    ("tau_pre", float("nan"), "tau_pre"), ("tau_post", -0.02, "tau_post"), ("a_plus", -0.1, "a_plus"),
    ("a_minus", float("nan"), "a_minus"), ("w_max", float("inf"), "w_max"),
])
def test_bad_rule_parameters_are_named(field, value, match):
    with pytest.raises(ValueError, match=match):
        PairSTDP(**{field: value})


def test_bad_plasticity_input_is_named():
    with pytest.raises(ValueError, match="bounds are inverted"):
        PairSTDP(w_min=1.0, w_max=0.5)
    with pytest.raises(ValueError, match="tau_y"):
        TripletSTDP(tau_y=0.0)
    with pytest.raises(ValueError, match="tau_c"):
        RewardSTDP(tau_c=-1.0)
    with pytest.raises(ValueError, match="pairing"):
        PairSTDP(pairing="closest")
    with pytest.raises(ValueError, match="dendritic_delay"):
        PairSTDP(dendritic_delay=-1e-3)
    with pytest.raises(ValueError, match="whole number of steps"):
        Simulator(_pair_net(PairSTDP(dendritic_delay=1.5e-3)), dt=1e-3)
    with pytest.raises(ValueError, match="outside the learning rule's bounds"):
        _pair_net(PairSTDP(w_max=0.1), weights=0.5)
    with pytest.raises(ValueError, match="one delay for all its synapses"):
        _pair_net(PairSTDP(), delays=np.array([[0.0, 1e-3]] * 3))
    with pytest.raises(ValueError, match="emits no spikes"):
        _pair_net(PairSTDP(), post_model=GradedNeuron())
    with pytest.raises(ValueError, match="learning rule"):
        _pair_net("stdp")


def test_reward_of_the_wrong_shape_is_named():
    sim = Simulator(_pair_net(RewardSTDP(w_max=4.0)), dt=1e-3)
    with pytest.raises(ValueError, match=r"shape \(5,\); it needs one value per step of the run: shape \(10,\)"):
        sim.run(0.01, reward=np.zeros(5))
    with pytest.raises(ValueError, match="finite"):
        sim.run(0.01, reward=np.full(10, np.nan))
    with pytest.raises(ValueError, match="callback"):
        sim.run(0.01, reward=lambda t, n, spikes: np.zeros((n, 2)))
    with pytest.raises(ValueError, match="no projection has a reward-modulated"):
        Simulator(_pair_net(PairSTDP()), dt=1e-3).run(0.01, reward=np.zeros(10))
    with pytest.raises(ValueError, match="monitored twice"):
        Simulator(_pair_net(PairSTDP()), dt=1e-3).run(0.01, [WeightMonitor("a->b:exc", every=2),
                                                            WeightMonitor("a->b:exc", every=3)])


def test_backends_refuse_plastic_projections_with_a_reason():
    from hardware.loihi.backend import LoihiBackend
    from hardware.spinnaker.backend import SpiNNakerBackend

    reasons = SpiNNakerBackend().unsupported(_pair_net(PairSTDP()))
    assert any("learning rule PairSTDP" in r and "fixed weights only" in r for r in reasons)
    reasons = LoihiBackend().unsupported(_pair_net(TripletSTDP()))
    assert any("learning rule TripletSTDP" in r and "it runs ['stdp']" in r for r in reasons)


def _random_raster(rng, n, steps, p, dt, first=5):
    s, i = np.nonzero(rng.random((steps, n)) < p)
    keep = s >= first
    return (s[keep]) * dt, i[keep]


@pytest.mark.parametrize("rule", [
    PairSTDP(a_plus=0.02, a_minus=0.025, **WIDE),
    PairSTDP(a_plus=0.2, a_minus=0.3, weight_dependence="multiplicative", pairing="nearest", w_min=0.0, w_max=1.0),
    TripletSTDP(A2_plus=0.01, A3_minus=0.002, **WIDE),
    TripletSTDP(pairing="nearest", **WIDE),
    RewardSTDP(a_plus=0.1, a_minus=0.12, w_min=0.0, w_max=1.0),
], ids=["pair", "pair-mult-nearest", "triplet", "triplet-nearest", "reward"])
def test_torch_steps_equal_the_engine(rule):
    import torch

    from circuits.reference.pairing import forced_run
    from neurosim.plasticity import init_state, plasticity_step

    rng = np.random.default_rng(4)
    dt, steps, n_pre, n_post = 1e-3, 400, 6, 4
    w0 = rng.uniform(0.2, 0.8, (n_pre, n_post)) * (rng.random((n_pre, n_post)) < 0.8)
    pre_t, pre_i = _random_raster(rng, n_pre, steps, 0.05, dt)
    post_t, post_i = _random_raster(rng, n_post, steps, 0.05, dt)
    reward = rng.random(steps) * (rng.random(steps) < 0.05) * 5.0 if rule.modulated else None
    out = forced_run(rule, pre_t, pre_i, post_t, post_i, w0, dt, steps * dt, reward=reward)
    pre = np.zeros((steps, n_pre))
    post = np.zeros((steps, n_post))
    pre[np.round(out["pre"] / dt).astype(int), out["pre_ids"]] = 1
    post[np.round(out["post"] / dt).astype(int), out["post_ids"]] = 1
    assert pre.sum() == pre_t.size and post.sum() == post_t.size
    w = torch.tensor(w0)
    mask = torch.tensor(w0 != 0)
    state = init_state(rule, n_pre, n_post)
    for k in range(steps):
        w, state = plasticity_step(rule, w, state, torch.tensor(pre[k]), torch.tensor(post[k]), dt,
                                   0.0 if reward is None else float(reward[k]))
        w = torch.where(mask, w, torch.zeros_like(w))  # absent synapses stay absent
    assert np.abs(out["w"] - w0).max() > 1e-3  # something was learned
    np.testing.assert_allclose(out["w"], w.numpy(), rtol=1e-10, atol=1e-13)


def test_torch_step_shapes_are_checked():
    import torch

    from neurosim.plasticity import init_state, plasticity_step

    rule = PairSTDP()
    with pytest.raises(ValueError, match=r"do not match weights of shape \(3, 2\)"):
        plasticity_step(rule, torch.zeros(3, 2), init_state(rule, 3, 2), torch.zeros(2), torch.zeros(2), 1e-3)


def test_reward_stdp_conditions_the_rewarded_synapse():
    """Izhikevich (2007), Fig. 1, at a small scale (200 neurons, 20 synapses each, 10 min):
    only the synapse whose pre-post firing is rewarded, 1-3 s later, grows to the maximum."""
    from circuits.reference.izhikevich2007 import run_conditioning

    r = run_conditioning(600.0, reward=60.0, n_exc=160, n_inh=40, fan_out=20, n_sampled=200, sample_every=5.0, seed=0)
    w_max = r["w_max"]
    assert len(r["rewards"]) >= 2
    assert r["w_chosen"][0] == pytest.approx(0.25 * w_max)
    assert r["w_chosen"][-1] == pytest.approx(w_max)
    assert r["w_others"][-1].mean() < 0.45 * w_max
    assert np.mean(r["final"] >= 0.99 * w_max) < 0.1
