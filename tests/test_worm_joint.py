"""One worm parameter set for the atlas and the recordings (circuits.worm.joint, neurosim fit
worm --joint): the low-frequency correlations against the full Lyapunov solution, the
held-out protocol (a held-out recording or stimulated neuron never enters its fit) on a
small setting, and bad input refused."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import connectomes
from circuits.worm import class_pairs as cp
from circuits.worm import joint
from circuits.worm.activity import spontaneous_correlation
from circuits.worm.fit import LinearWorm, initial_theta

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "celegans_activity"


@pytest.fixture(scope="module")
def tables():
    return [cp.pair_table(r) for r in cp.read_labelled(DATA, DATA / "neuropal_labels.csv")]


def test_low_frequency_correlations_match_the_lyapunov_solution(tables):
    con = connectomes.load("cook2019_herm")
    worm = LinearWorm(con)
    with torch.no_grad():
        low = joint.low_frequency_correlation(worm, initial_theta(worm)).numpy()
    full = spontaneous_correlation(con, None, tau_indicator=1.0)
    iu = np.triu_indices(302, 1)
    assert np.corrcoef(low[iu], full[iu])[0, 1] > 0.9999
    assert np.abs(low[iu] - full[iu]).max() < 0.03
    scored = cp.compare(tables, {"low": low, "full": full})
    assert scored["low"]["pooled"]["spearman"] == pytest.approx(0.209, abs=0.002)
    assert scored["full"]["pooled"]["spearman"] == pytest.approx(0.207, abs=0.002)


def test_held_out_recordings_and_stimulated_neurons_never_enter_their_fit(tables, monkeypatch):
    calls = []
    fit = joint.fit_joint

    def spy(con, atlas, stimulated, fit_tables, **kw):
        calls.append((np.asarray(stimulated).copy(), [t.recording for t in fit_tables], kw))
        return fit(con, atlas, stimulated, fit_tables, **kw)

    monkeypatch.setattr(joint, "fit_joint", spy)
    res = joint.held_out(tables=tables, folds=2, steps=3, shuffle_seed=None,
                         variants=["atlas only", "joint + noise density per class"], progress=False)
    names = [t.recording for t in tables]
    assert len(calls) == 2 * (3 + 2)
    for k, (_, fitted, _) in enumerate(calls[:3]):  # leave one recording out: the held-out one is never fitted
        assert fitted == [n for i, n in enumerate(names) if i != k]
    stim_every = calls[0][0]
    folds = [np.setdiff1d(stim_every, c[0]) for c in calls[3:5]]  # atlas folds: fitted on the others only
    assert all(f.size > 0 for f in folds) and np.intersect1d(*folds).size == 0
    assert np.array_equal(np.sort(np.concatenate(folds)), np.sort(stim_every))
    assert all(c[1] == names for c in calls[3:5])
    assert calls[0][2]["weight"] == 0.0 and calls[5][2]["noise"]
    v = res["variants"]["joint + noise density per class"]
    assert set(v["recordings"]) == set(names) and v["shuffled"] is None
    assert -1 < v["spearman"] < 1 and 0 <= v["negative_predicted"] <= 1
    assert -1 < v["atlas"]["spearman"]["mean"] < 1
    assert v["atlas"]["always_positive"] == pytest.approx(0.87, abs=0.01)  # the always-positive baseline
    assert set(v["e_rev"]) == {"acetylcholine", "glutamate", "gaba", "other"}
    assert res["between_worms"][names[0]]["spearman"] == pytest.approx(0.433, abs=0.001)


def test_bad_input_is_refused(tables):
    with pytest.raises(ValueError, match="unknown variant"):
        joint.held_out(tables=tables, variants=["nonsense"], progress=False)
    with pytest.raises(ValueError, match="at least two"):
        joint.held_out(tables=tables[:1], variants=["atlas only"], progress=False)
    con = connectomes.load("cook2019_herm")
    with pytest.raises(ValueError, match="unknown neuron class"):
        joint.fit_joint(con, connectomes.functional_atlas("wt"), [0], tables, inputs=("AVA", "NOPE"), steps=1)


def test_cli_joint_and_ablation_are_exclusive(capsys):
    from neurosim.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["fit", "worm", "--joint", "--ablation"])
    assert exc.value.code == 2
    assert "choose one" in capsys.readouterr().err
