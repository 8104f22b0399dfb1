"""The core engine's heterogeneous synaptic delays (issue #7, criterion 5): a spike sent
through a synapse that takes d steps (a delay of (d - 1) dt seconds) arrives exactly d steps
later, for many random delays, and every delivery is counted as one synaptic event. Delays
that are not whole numbers of steps, or beyond the delay buffer, are refused (issue #30)."""
import numpy as np
import pytest

from neurosim import CubaLIF, Network, Population, Projection, Simulator, SpikeSource, StateMonitor

# an instantaneous synapse (a_e = exp(-dt / 1 us) = 0): the recorded i_e of a step is exactly
# the sum of the weights that arrive in that step
INSTANT = CubaLIF(tau_syn_e=1e-6, t_ref=0.0, v_th=1.0, v_reset=-70e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_delay_arrives_exactly_d_steps_later(dtype):
    rng = np.random.default_rng(7)
    n, dt = 500, 1e-3
    delays = rng.integers(1, 1200, n)  # beyond one chunk of the ring buffer too
    spike_steps = np.array([3, 250])
    src = SpikeSource("in", 1, spike_steps * dt, np.zeros(2, int))
    weights = np.arange(1, n + 1, dtype=float)  # distinct, so a wrong target would show
    proj = Projection.from_pairs("in", "out", np.zeros(n, int), np.arange(n), weights, 1, (delays - 1) * dt)
    net = Network([Population("out", INSTANT, n)], [src], [proj])
    res = Simulator(net, dt=dt, dtype=dtype).run(1500 * dt, [StateMonitor("out", ("i_e",))], chunk_steps=333)
    ie = res.traces["out"]["i_e"]  # (steps, n)
    expected = np.zeros_like(ie)
    for s in spike_steps:
        expected[s + delays, np.arange(n)] += weights
    np.testing.assert_array_equal(ie, expected)
    assert res.synaptic_events == spike_steps.size * n


def test_same_pair_with_several_delays():
    """One presynaptic neuron reaching one target through several synapses (the HD-SNN case):
    each copy arrives at its own delay."""
    dt = 1e-3
    delays = np.array([1, 2, 5, 21, 40])
    proj = Projection.from_pairs("in", "out", np.zeros(5, int), np.zeros(5, int), [1.0, 2.0, 4.0, 8.0, 16.0], 1, (delays - 1) * dt)
    net = Network([Population("out", INSTANT, 1)], [SpikeSource("in", 1, [10 * dt], [0])], [proj])
    ie = Simulator(net, dt=dt).run(60 * dt, [StateMonitor("out", ("i_e",))]).traces["out"]["i_e"][:, 0]
    got = {int(k): float(ie[k]) for k in np.flatnonzero(ie)}
    assert got == {11: 1.0, 12: 2.0, 15: 4.0, 31: 8.0, 50: 16.0}


def test_one_network_at_two_time_steps():
    """A Network has no time step: the same delay in seconds is twice the steps at half the dt."""
    proj = Projection.from_pairs("in", "out", [0], [0], [1.0], 1, 4e-3)
    net = Network([Population("out", INSTANT, 1)], [SpikeSource("in", 1, [10e-3], [0])], [proj])
    for dt in (1e-3, 5e-4):
        ie = Simulator(net, dt=dt).run(30e-3, [StateMonitor("out", ("i_e",))]).traces["out"]["i_e"][:, 0]
        assert np.flatnonzero(ie > 0.5).tolist() == [int(round(10e-3 / dt)) + 1 + int(round(4e-3 / dt))]


@pytest.mark.parametrize("delay,dt,match", [
    (0.25e-3, 1e-3, "a delay of 0.00025 s is 0.25 steps at dt = 0.001 s; delays must be whole numbers of steps"),
    (1.55e-3, 1e-4, "a delay of 0.00155 s is 15.5 steps at dt = 0.0001 s"),
    (70.0, 1e-3, "a delay of 70 s is 70000 steps at dt = 0.001 s, beyond the 65534 steps"),
])
def test_delays_the_engine_cannot_hold_are_refused_naming_the_projection(delay, dt, match):
    proj = Projection.from_pairs("in", "out", [0], [0], [1.0], 1, delay, name="slow")
    net = Network([Population("out", INSTANT, 1)], [SpikeSource("in", 1, [0.0], [0])], [proj])
    with pytest.raises(ValueError, match=f"projection 'slow': {match}"):
        Simulator(net, dt=dt)


@pytest.mark.parametrize("delay,match", [(-1e-3, "delays must be >= 0 s"), (float("nan"), "delays \\(s\\) contains nan")])
def test_negative_or_nan_delays_are_refused(delay, match):
    with pytest.raises(ValueError, match=match):
        Projection.from_pairs("in", "out", [0], [0], [1.0], 1, delay)
