"""Signal propagation vs the atlas, on small settings: the batched stimulation equals
single runs, the shuffle preserves degrees, the metrics are computed on the right pairs."""
import numpy as np
import pytest

import connectomes
from circuits.worm.model import build_worm, stimulate
from circuits.worm.atlas import compare, response_matrix, shuffled_connectome
from neurosim import Simulator, StateMonitor


def test_batched_stimulation_equals_single_runs(cook):
    net = build_worm(cook)
    names = ["AVAL", "ASHL", "PLMR"]
    cols = cook.indices(names)
    batched = response_matrix(net, cols, depolarization=10e-3, t_on=0.2, pulse=0.5, window=1.0, dt=1e-3, adaptive=False)
    for k, name in enumerate(names):
        single = stimulate(net, [name], start=0.2, stop=0.7, depolarization=10e-3)
        res = Simulator(single, dt=1e-3).run(1.2, [StateMonitor("worm", ("v",), every=10)])
        tr = res.traces["worm"]
        v = tr["v"]
        expect = v[tr.times >= 0.2].mean(0) - v[tr.times < 0.2].mean(0)
        np.testing.assert_allclose(batched[:, k], expect, atol=1e-9)
    # the stimulated neuron responds most
    assert all(np.argmax(batched[:, k]) == cols[k] for k in range(len(names)))
    # the adaptive solver (the default) gives the same responses within its tolerance class
    adaptive = response_matrix(net, cols, depolarization=10e-3, t_on=0.2, pulse=0.5, window=1.0, dt=1e-3)
    np.testing.assert_allclose(adaptive, batched, atol=2e-6)


def test_shuffle_preserves_degrees_and_weights(cook):
    sh = shuffled_connectome(cook, seed=1, swaps_per_edge=2)
    a, b = cook.chemical > 0, sh.chemical > 0
    np.testing.assert_array_equal(a.sum(0), b.sum(0))
    np.testing.assert_array_equal(a.sum(1), b.sum(1))
    assert sorted(cook.chemical[a]) == sorted(sh.chemical[b])
    g0, g1 = np.triu(cook.gap, 1) > 0, np.triu(sh.gap, 1) > 0
    np.testing.assert_array_equal((g0 | g0.T).sum(0), (g1 | g1.T).sum(0))
    np.testing.assert_array_equal(sh.gap, sh.gap.T)
    assert (a & b).sum() < 0.5 * a.sum(), "the edges must actually move"


def test_compare_uses_significant_pairs_and_connectome_direction(cook):
    atlas = connectomes.functional_atlas("wt")
    r, s = atlas.significant_pairs(0.05)
    # a perfect predictor: dF/F itself
    perfect = np.full((302, 302), np.nan)
    perfect[r, s] = atlas.dff[r, s]
    m = compare(perfect, cook, atlas)
    assert m["model"]["spearman"] == pytest.approx(1.0) and m["model"]["sign_agreement"] == 1.0
    assert m["model"]["pairs"] == r.size  # every atlas neuron with pairs is in Cook 2019
    # the raw connectome baseline reads counts from the stimulated to the responding neuron
    assert 0.1 < m["connectome (chemical + gap counts)"]["spearman"] < 0.25
    assert 0.15 < m["directly connected fraction"] < 0.3
