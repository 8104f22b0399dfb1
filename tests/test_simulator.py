"""Simulator behaviour: delays, determinism, continuation, sources, monitors, plots, errors."""
import numpy as np
import pytest

from circuits.reference.cuba import cuba_network
from neurosim import (CubaLIF, CurrentInjection, GradedNeuron, Network, PoissonSource, Population, Projection, Simulator,
                      SpikeMonitor, SpikeSource, StateMonitor)

DT = 1e-4


@pytest.mark.parametrize("delay", [1, 2, 7, 30])
def test_spike_arrives_after_its_delay(delay):
    """A synapse that takes ``delay`` steps: a delay of (delay - 1) dt seconds."""
    src = SpikeSource("s", 1, [10.5 * DT], [0])
    pop = Population("p", CubaLIF(), 1)
    net = Network([pop], [src], [Projection.from_dense("s", "p", [[1e-12]], delays=(delay - 1) * DT)])
    res = Simulator(net, dt=DT).run(60 * DT, [StateMonitor("p", ("i_e",))])
    i_e = res.traces["p"]["i_e"][:, 0]
    first = np.flatnonzero(i_e)[0]
    # emitted in step 10, part of i_e at the start of step 10 + delay, decaying from there
    assert first == 10 + delay
    assert i_e[first] == pytest.approx(1e-12)
    assert i_e[first + 1] == pytest.approx(1e-12 * np.exp(-DT / CubaLIF().tau_syn_e))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_seed_same_result_bit_for_bit(dtype):
    net = _noisy_network()
    runs = []
    for _ in range(2):
        res = Simulator(net, dt=DT, dtype=dtype, seed=7).run(0.2, [SpikeMonitor("p"), StateMonitor("p", ("v",), every=10)])
        runs.append(res)
    np.testing.assert_array_equal(runs[0].spikes["p"].times, runs[1].spikes["p"].times)
    np.testing.assert_array_equal(runs[0].spikes["p"].ids, runs[1].spikes["p"].ids)
    np.testing.assert_array_equal(runs[0].traces["p"]["v"], runs[1].traces["p"]["v"])
    other = Simulator(net, dt=DT, dtype=dtype, seed=8).run(0.2, [SpikeMonitor("p")])
    assert not np.array_equal(other.spikes["p"].times, runs[0].spikes["p"].times)


def _noisy_network():
    pop = Population("p", CubaLIF(), 50)
    noise = PoissonSource("noise", 100, 50.0)
    rng = np.random.default_rng(0)
    w = (rng.random((100, 50)) < 0.2) * 400e-12
    return Network([pop], [noise], [Projection.from_dense("noise", "p", w, delays=(rng.integers(1, 20, (100, 50)) - 1) * DT)])


def test_two_runs_continue_one_run():
    net = _noisy_network()
    whole = Simulator(net, dt=DT, seed=3).run(0.2, [SpikeMonitor("p")])
    sim = Simulator(net, dt=DT, seed=3)
    a = sim.run(0.1, [SpikeMonitor("p")])
    b = sim.run(0.1, [SpikeMonitor("p")])
    assert sim.t == pytest.approx(0.2)
    np.testing.assert_array_equal(np.concatenate([a.spikes["p"].times, b.spikes["p"].times]), whole.spikes["p"].times)
    assert b.t_start == pytest.approx(0.1)
    # chunking does not change anything
    chunked = Simulator(net, dt=DT, seed=3).run(0.2, [SpikeMonitor("p")], chunk_steps=37)
    np.testing.assert_array_equal(chunked.spikes["p"].ids, whole.spikes["p"].ids)


def test_poisson_rate():
    net = Network([Population("p", CubaLIF(), 1)], [PoissonSource("noise", 2000, 20.0)])
    res = Simulator(net, dt=DT, seed=1).run(1.0, [SpikeMonitor("noise")])
    # 40,000 expected spikes: the mean rate is within 5 standard errors
    assert abs(res.spikes["noise"].mean_rate() - 20.0) < 5 * np.sqrt(40000) / 2000


def test_spike_source_times_land_in_their_steps():
    times = np.array([0.0, 0.00234, 0.01])
    src = SpikeSource("s", 3, times, [0, 1, 2])
    net = Network([Population("p", CubaLIF(), 1)], [src])
    res = Simulator(net, dt=DT).run(0.02, [SpikeMonitor("s")])
    np.testing.assert_allclose(res.spikes["s"].times, np.floor(times / DT + 1e-3) * DT)


def test_lif_rate_matches_the_analytic_interval():
    """A constant suprathreshold current gives the textbook LIF interval
    T = t_ref + tau ln((R I + v_rest - v_reset) / (R I + v_rest - v_th)) (within a step)."""
    m = CubaLIF(t_ref=2e-3)
    i0 = 1.2e-9
    net = Network([Population("p", m, 1)], inputs=[CurrentInjection("p", i0)])
    res = Simulator(net, dt=1e-5).run(0.5, [SpikeMonitor("p")])
    isi = np.diff(res.spikes["p"].times)
    r = m.tau_mem / m.c_mem
    expected = m.t_ref + m.tau_mem * np.log((r * i0 + m.v_rest - m.v_reset) / (r * i0 + m.v_rest - m.v_th))
    assert abs(np.median(isi) - expected) <= 1.5e-5


@pytest.mark.parametrize("method", ["exponential", "bdf2"])
def test_current_injection_forms(method):
    g = GradedNeuron()
    pop = Population("g", g, 3)
    inputs = [
        CurrentInjection("g", 1e-13, neurons=[0], start=0.01, stop=0.02),
        CurrentInjection.from_array("g", np.array([0.0, 2e-13, 0.0]), dt=0.01, neurons=[1]),
        CurrentInjection.from_function("g", lambda t: 1e-13 * (t >= 0.015), neurons=[2]),
    ]
    dt = 1e-4
    res = Simulator(Network([pop], inputs=inputs), dt=dt, graded_method=method).run(0.04, [StateMonitor("g", ("v",))])
    v = res.traces["g"]["v"] - g.e_leak
    t = res.traces["g"].times
    # neuron 0 moves only after 10 ms, neuron 1 after 10 ms and relaxes after 20 ms, neuron 2 after
    # 15 ms (the implicit solver samples functions at the end of a step: one step earlier)
    lag = dt if method == "bdf2" else 0.0
    rest = 1e-12
    assert np.all(np.abs(v[t <= 0.01, 0]) < rest) and v[t > 0.011, 0].max() > 1e-4
    assert np.all(np.abs(v[t <= 0.01, 1]) < rest) and v[-1, 1] < v[t <= 0.0201, 1].max()
    assert np.all(np.abs(v[t <= 0.015 - lag + 1e-9, 2]) < rest) and v[-1, 2] > 1e-4
    assert v[t > 0.0152, 2].min() > 1e-6


def test_state_monitor_every_and_subset():
    net = _noisy_network()
    res = Simulator(net, dt=DT).run(0.01, [StateMonitor("p", ("v", "i_e"), neurons=[3, 5], every=7)])
    tr = res.traces["p"]
    assert tr["v"].shape == (len(range(0, 100, 7)), 2)
    np.testing.assert_allclose(tr.times, np.arange(0, 100, 7) * DT)
    np.testing.assert_array_equal(tr.neurons, [3, 5])
    full = Simulator(net, dt=DT).run(0.01, [StateMonitor("p", ("v",))])
    np.testing.assert_array_equal(full.traces["p"]["v"][::7, [3, 5]], tr["v"])


def test_max_spikes_bounds_the_record():
    net = _noisy_network()
    res = Simulator(net, dt=DT).run(0.2, [SpikeMonitor("noise", max_spikes=100)], chunk_steps=50)
    assert len(res.spikes["noise"]) == 100 and res.spikes["noise"].truncated


@pytest.mark.parametrize("monitor,match", [
    (SpikeMonitor("nope"), "unknown population 'nope'"),
    (StateMonitor("nope"), "unknown population 'nope'"),
    (StateMonitor("p", ("q",)), "unknown variable 'q'"),
    (StateMonitor("p", ("v",), neurons=[50]), "neuron index 50 out of range"),
    (StateMonitor("p", ("v",), neurons=[[1]]), "1-D"),
    (SpikeMonitor("p", neurons=[-1]), "neuron index -1 out of range"),
    ("v", "monitors must be"),
])
def test_bad_monitor_requests(monitor, match):
    with pytest.raises(ValueError, match=match):
        Simulator(_noisy_network(), dt=DT).run(0.01, [monitor])


@pytest.mark.parametrize("build,match", [
    (lambda: StateMonitor("p", ("v",), every=0), "every = 0"),
    (lambda: StateMonitor("p", ()), "variables is empty"),
    (lambda: SpikeMonitor("p", max_spikes=0), "max_spikes"),
])
def test_bad_monitor_construction(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_monitor_combinations():
    net = Network([Population("g", GradedNeuron(), 2)])
    with pytest.raises(ValueError, match="graded"):
        Simulator(net).run(0.01, [SpikeMonitor("g")])
    with pytest.raises(ValueError, match="monitored twice"):
        Simulator(_noisy_network()).run(0.01, [SpikeMonitor("p"), SpikeMonitor("p")])


@pytest.mark.parametrize("kwargs,match", [
    ({"dt": 0}, "dt"), ({"dt": float("nan")}, "dt"), ({"dtype": np.int32}, "dtype"), ({"seed": -1}, "seed"),
])
def test_bad_simulator_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Simulator(_noisy_network(), **kwargs)


@pytest.mark.parametrize("duration", [0, -1, float("inf"), 1e-6])
def test_bad_duration(duration):
    with pytest.raises(ValueError, match="duration"):
        Simulator(_noisy_network(), dt=DT).run(duration)


def test_poisson_probability_over_one():
    net = Network([Population("p", CubaLIF(), 1)], [PoissonSource("n", 1, 20000.0)])
    with pytest.raises(ValueError, match="rate x dt"):
        Simulator(net, dt=1e-4)


def test_cuba_float32_and_float64_agree_statistically(tmp_path):
    net = cuba_network(1000, seed=2)
    rates = [Simulator(net, dt=DT, dtype=d).run(0.5, [SpikeMonitor("cuba")]).spikes["cuba"].mean_rate() for d in (np.float32, np.float64)]
    assert rates[0] > 1.0 and abs(rates[0] - rates[1]) < 0.1 * rates[1]


def test_plots_are_written(tmp_path):
    res = Simulator(_noisy_network(), dt=DT).run(0.1, [SpikeMonitor("p"), StateMonitor("p", ("v",), neurons=[0, 1])])
    res.plot_raster(tmp_path / "raster.png")
    res.plot_traces(tmp_path / "v.png")
    for name in ("raster.png", "v.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    with pytest.raises(KeyError, match="not recorded"):
        res.plot_traces(tmp_path / "x.png", variable="i_i")


def test_direct_delivery_equals_ring_buffer():
    """All delays of one step take the direct path; one extra zero-weight synapse with a
    2-step delay forces the ring buffer. Both give the same dynamics."""
    rng = np.random.default_rng(5)
    src = PoissonSource("noise", 60, 40.0)
    w_in = (rng.random((60, 40)) < 0.3) * 300e-12
    w_rec = (rng.random((40, 40)) < 0.1) * rng.choice([200e-12, -400e-12], (40, 40))
    np.fill_diagonal(w_rec, 0)
    def net(force_ring):
        projs = [Projection.from_dense("noise", "p", w_in, name="in"),
                 Projection.from_dense("p", "p", np.where(w_rec > 0, w_rec, 0), name="rec_e"),
                 Projection.from_dense("p", "p", np.where(w_rec < 0, w_rec, 0), target="inh", name="rec_i")]
        if force_ring:
            projs.append(Projection.from_pairs("p", "p", [0], [1], 0.0, 40, delays=DT, name="dummy"))
        return Network([Population("p", CubaLIF(), 40)], [src], projs)
    runs = [Simulator(net(f), dt=DT, seed=2).run(0.3, [SpikeMonitor("p"), StateMonitor("p", ("v", "i_e"))]) for f in (False, True)]
    assert Simulator(net(False), dt=DT).layout.uniform_delay == 1
    assert Simulator(net(True), dt=DT).layout.uniform_delay == 0
    assert len(runs[0].spikes["p"]) > 50
    np.testing.assert_array_equal(runs[0].spikes["p"].times, runs[1].spikes["p"].times)
    np.testing.assert_allclose(runs[0].traces["p"]["v"], runs[1].traces["p"]["v"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(runs[0].traces["p"]["i_e"], runs[1].traces["p"]["i_e"], rtol=1e-9, atol=1e-21)


def test_gap_junction_between_spiking_neurons_reaches_the_linear_steady_state():
    """Two subthreshold LIF neurons coupled by g; current into neuron 0. The steady state
    solves g_L (v - v_rest) + g (v_i - v_j) = I_i exactly."""
    m = CubaLIF(v_th=0.0, v_reset=-0.07, v_rest=-0.07, tau_mem=10e-3, c_mem=200e-12)
    g, i0 = 5e-9, 200e-12
    from neurosim import GapJunctions
    net = Network([Population("p", m, 2)], gap_junctions=[GapJunctions("p", "p", [0], [1], [g])],
                  inputs=[CurrentInjection("p", i0, neurons=[0])])
    res = Simulator(net, dt=1e-5).run(0.2, [StateMonitor("p", ("v",), every=100)])
    g_l = m.c_mem / m.tau_mem
    a = np.array([[g_l + g, -g], [-g, g_l + g]])
    v_ss = m.v_rest + np.linalg.solve(a, [i0, 0.0])
    np.testing.assert_allclose(res.traces["p"]["v"][-1], v_ss, atol=1e-6)
    assert v_ss[1] - m.v_rest > 1e-3  # the coupling carries a real current


def test_per_neuron_graded_parameters_are_used():
    """Three uncoupled graded neurons with their own leak reversal relax to it exactly."""
    e = np.array([-40e-3, -30e-3, -20e-3])
    pop = Population("g", GradedNeuron(), 3, {"v": -35e-3}, {"e_leak": e})
    res = Simulator(Network([pop]), dt=1e-3).run(2.0, [StateMonitor("g", ("v",))])
    np.testing.assert_allclose(res.traces["g"]["v"][-1], e, atol=1e-9)
