"""The multi-threaded engine (Simulator(threads=N), neurosim.engine.threads; issue #35): the
same spikes, samples and synaptic-event counts, bit for bit, for 1, 2 and 3 threads on
CUBA, on a network with per-synapse delays, Poisson and spike-time sources and current
injections, and across a spike buffer that fills mid-chunk; networks the threaded kernel
does not run fall back to one thread, saying why."""
from __future__ import annotations

import numpy as np
import pytest

from circuits.reference.cuba import cuba_network
from neurosim import (CurrentInjection, Network, PoissonSource, Population, Projection, Simulator, SpikeMonitor, SpikeSource,
                      StateMonitor)
from neurosim.engine.threads import blocks, row_offsets, sort_rows
from neurosim.models import AdEx, CubaLIF


def delayed_network() -> Network:
    """Two populations (CuBa-LIF and AdEx: two kernels), delays of 1-30 steps, Poisson and
    spike-time sources, a step current into some neurons."""
    rng = np.random.default_rng(11)
    n_a, n_b, n_in = 700, 300, 150
    lif = CubaLIF(v_rest=-65e-3, v_reset=-65e-3)
    pops = [Population("a", lif, n_a, {"v": rng.uniform(-65e-3, -50e-3, n_a)}), Population("b", AdEx(), n_b)]
    projs = []
    for pre, n_pre, post, n_post, p, w, target in (("in", n_in, "a", n_a, 0.1, 0.12e-9, "exc"), ("a", n_a, "a", n_a, 0.03, 0.1e-9, "exc"),
                                                    ("a", n_a, "b", n_b, 0.05, 0.3e-9, "exc"), ("b", n_b, "a", n_a, 0.05, 0.2e-9, "inh")):
        i, j = np.nonzero(rng.random((n_pre, n_post)) < p)
        projs.append(Projection.from_pairs(pre, post, i, j, w * rng.uniform(0.5, 1.5, i.size), n_pre,
                                           delays=rng.integers(1, 31, i.size) * 1e-4, target=target, name=f"{pre}{post}"))
    times = np.sort(rng.uniform(0, 0.2, 400))
    sources = [PoissonSource("in", n_in, 20.0), SpikeSource("kicks", 50, times, rng.integers(0, 50, 400))]
    ki, kj = np.nonzero(rng.random((50, n_b)) < 0.2)
    projs.append(Projection.from_pairs("kicks", "b", ki, kj, 0.4e-9, 50, delays=2e-4, name="kicks"))
    inj = [CurrentInjection("a", 0.3e-9, neurons=np.arange(0, n_a, 5), start=0.05, stop=0.15)]
    return Network(populations=pops, sources=sources, projections=projs, inputs=inj)


def _run(net, threads, duration, chunk_steps=10_000, **kw):
    sim = Simulator(net, threads=threads, **kw)
    mons = [SpikeMonitor(p.name) for p in (*net.populations, *net.sources)]
    mons.append(StateMonitor(net.populations[0].name, ("v", "i_e"), neurons=np.arange(0, net.populations[0].size, 37), every=3))
    res = sim.run(duration, mons, chunk_steps=chunk_steps)
    return sim, res


def _same(a, b):
    sa, ra = a
    sb, rb = b
    assert ra.synaptic_events == rb.synaptic_events
    for name in ra.spikes:
        np.testing.assert_array_equal(ra.spikes[name].times, rb.spikes[name].times)
        np.testing.assert_array_equal(ra.spikes[name].ids, rb.spikes[name].ids)
    for name in ra.traces:
        for var in ra.traces[name].data:
            np.testing.assert_array_equal(ra.traces[name][var], rb.traces[name][var])
    np.testing.assert_array_equal(sa.X, sb.X)
    np.testing.assert_array_equal(sa.isyn, sb.isyn)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuba_spikes_are_identical_for_one_two_and_three_threads(dtype):
    net = cuba_network(4000)
    runs = [_run(net, t, 0.3, dtype=dtype) for t in (1, 2, 3)]
    assert [r[0].threads for r in runs] == [1, 2, 3]
    assert len(runs[0][1].spikes["cuba"]) > 3000
    _same(runs[0], runs[1])
    _same(runs[0], runs[2])


def test_delays_sources_currents_and_a_full_spike_buffer_are_identical_across_threads():
    net = delayed_network()
    one = _run(net, 1, 0.2, seed=5)
    assert len(one[1].spikes["a"]) > 500 and len(one[1].spikes["b"]) > 50 and len(one[1].spikes["in"]) > 300
    for t in (2, 3):
        _same(one, _run(net, t, 0.2, seed=5))
    # a chunk longer than the spike buffer holds: the threads stop together and go on
    sim = Simulator(net, threads=2, seed=5)
    sim._runner.rec_step = sim._runner.rec_step[:, :700]  # a small buffer per thread
    sim._runner.rec_id = sim._runner.rec_id[:, :700]
    res = sim.run(0.2, [SpikeMonitor("a"), SpikeMonitor("b"), SpikeMonitor("in"), SpikeMonitor("kicks")], chunk_steps=2000)
    for name in ("a", "b", "in", "kicks"):
        np.testing.assert_array_equal(res.spikes[name].times, one[1].spikes[name].times)
        np.testing.assert_array_equal(res.spikes[name].ids, one[1].spikes[name].ids)


def test_a_checkpoint_moves_between_thread_counts(tmp_path):
    net = cuba_network(2000, n_inputs=80)
    whole = _run(net, 1, 0.2, dtype=np.float32)[1]
    first = Simulator(net, threads=2, dtype=np.float32)
    a = first.run(0.1, SpikeMonitor("cuba"))
    second = Simulator(net, threads=3, dtype=np.float32)
    second.load_state(first.save_state(tmp_path / "s.npz"))
    b = second.run(0.1, SpikeMonitor("cuba"))
    np.testing.assert_array_equal(np.concatenate([a.spikes["cuba"].ids, b.spikes["cuba"].ids]), whole.spikes["cuba"].ids)


def test_rows_sorted_by_target_keep_every_target_s_order_and_offsets_split_them():
    indptr = np.array([0, 4, 4, 7])
    indices = np.array([5, 1, 6, 1, 3, 0, 3], np.int32)  # neuron 1 twice in row 0, 3 twice in row 2; 6 = neuron 1, channel 1
    weights = np.arange(7.0)
    idx, w, _ = sort_rows(indptr, indices, weights, np.zeros(0), 5)
    np.testing.assert_array_equal(idx, [5, 1, 6, 1, 0, 3, 3])  # 5 = neuron 0, channel 1
    np.testing.assert_array_equal(w, [0, 1, 2, 3, 5, 4, 6])  # equal targets keep their order
    off = row_offsets(indptr, idx, 5, np.array([0, 2, 5]))
    np.testing.assert_array_equal(off, [[0, 4, 4], [4, 4, 4], [4, 5, 7]])
    np.testing.assert_array_equal(blocks(1000, 3), [0, 320, 640, 1000])
    np.testing.assert_array_equal(blocks(100, 4), [0, 0, 64, 64, 100])


def test_networks_the_threaded_kernel_does_not_run_fall_back_to_one_thread():
    from circuits.worm.model import build_worm

    sim = Simulator(build_worm(), dt=1e-3, threads=2)
    assert sim.threads == 1 and sim.serial_reason == "graded neurons"
    small = Simulator(cuba_network(100, n_inputs=10), threads=2)
    assert small.threads == 1 and "64 neurons per thread" in small.serial_reason
    with pytest.raises(ValueError, match="threads"):
        Simulator(cuba_network(100, n_inputs=10), threads=0)
    assert Simulator(cuba_network(4000), threads=None).threads >= 1
