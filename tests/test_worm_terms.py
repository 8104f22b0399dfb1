"""Candidate model terms for the worm fit (issue #14): receptor signs from CeNGEN and the
Fenyves et al. 2020 receptor table, extrasynaptic networks, and the ablation that compares
them on held-out stimulated neurons."""
import csv
import json

import numpy as np
import pytest
import torch

import connectomes
from circuits.worm import fit as cf
from circuits.worm.ablation import ABLATION, ablation
from connectomes.extrasynaptic import EXTRASYNAPTIC, extrasynaptic
from connectomes.receptors import receptor_shares


def _share(name, transmitter):
    return receptor_shares()[transmitter][connectomes.neurons().index(name)]


def test_receptor_shares_follow_known_receptors():
    shares = receptor_shares()
    assert set(shares) == {"acetylcholine", "glutamate", "gaba"}
    for v in shares.values():
        known = v[np.isfinite(v)]
        assert v.shape == (302,) and known.size > 200 and np.all((known >= 0) & (known <= 1))
    # AWC's glutamate inhibits AIY and AIA through the chloride channel GLC-3 (Chalasani et
    # al. 2007, 2010) and excites AVA through GLR-1 (Hart et al. 1995; Maricq et al. 1995)
    for name in ("AIYL", "AIYR", "AIAL", "AIAR"):
        assert _share(name, "glutamate") == 0.0
    for name in ("AVAL", "AVAR"):
        assert _share(name, "glutamate") > 0.8
    # the GABA receptors of neurons are mostly inhibitory (UNC-49, LGC-35/36/37/38 ...)
    assert np.nanmean(shares["gaba"]) < 0.1
    with pytest.raises(ValueError, match="thresholds are 1"):
        receptor_shares(5)


def test_neuropeptide_network_is_the_published_csv():
    """Our canonical-order matrix against the Ripoll-Sanchez et al. CSV read directly."""
    import cect
    from pathlib import Path

    path = Path(cect.__file__).parent / "data" / "01022024_neuropeptide_connectome_short_range_model.csv"
    rows = list(csv.reader(path.open()))
    names = [c.replace("DA0", "DA").replace("DB0", "DB").replace("AS0", "AS").replace("VA0", "VA").replace("VB0", "VB")
             .replace("VC0", "VC").replace("VD0", "VD").replace("DD0", "DD") for c in rows[0][1:]]
    m = extrasynaptic("neuropeptide_short")
    assert m.shape == (302, 302) and not m.flags.writeable and np.all(np.diag(m) == 0) and m.min() >= 0
    neurons = connectomes.neurons()
    for i, j in [(0, 5), (40, 100), (150, 20)]:  # a few entries, by name
        pre, post = names[i], names[j]
        assert m[neurons.index(pre), neurons.index(post)] == float(rows[i + 1][j + 1])
    total = sum(float(rows[i + 1][j + 1]) for i in range(len(names)) for j in range(len(names))
                if i != j and names[i] in neurons and names[j] in neurons)
    assert m.sum() == total
    with pytest.raises(KeyError, match="available: neuropeptide_short"):
        extrasynaptic("peptides")
    assert set(EXTRASYNAPTIC) >= {"neuropeptide_mid", "neuropeptide_long", "monoamine_bentley2016"}


def test_ablation_terms_at_rest_are_the_plain_model(cook, monkeypatch):
    """g_extra = 0 and readout gains 1 give the plain linear response exactly; so does the
    receptor split when every neuron's receptors follow Kunert's sign rule."""
    plain = cf.linear_responses(cf.LinearWorm(cook), cf.initial_theta())
    worm = cf.LinearWorm(cook, extrasynaptic="neuropeptide_mid", readout=True)
    with torch.no_grad():
        np.testing.assert_allclose(cf.linear_responses(worm, cf.initial_theta(worm)).numpy(), plain.detach().numpy(),
                                   rtol=1e-12, atol=1e-20)
    kunert_rule = {"acetylcholine": np.ones(302), "glutamate": np.ones(302), "gaba": np.zeros(302)}
    monkeypatch.setattr("connectomes.receptors.receptor_shares", lambda threshold=4: kunert_rule)
    split = cf.LinearWorm(cook, receptors=True)
    assert len(split.names) == 7
    with torch.no_grad():
        np.testing.assert_allclose(cf.linear_responses(split, cf.initial_theta(split)).numpy(), plain.detach().numpy(),
                                   rtol=1e-9, atol=1e-18)
    with pytest.raises(ValueError, match="only the plain model"):
        cf.params_from_theta(cf.initial_theta(worm))


def test_responder_baseline_uses_training_pairs_only(cook, atlas):
    r, s = cf.atlas_pairs(cook, atlas)
    held = cf.split_stimulated(cf.stimulated_neurons(cook, atlas), seed=1, folds=3)[0]
    pred = cf.responder_baseline(atlas, r, s, held)
    test = np.isin(s, held)
    k = np.flatnonzero(test)[0]
    train_of_k = (~test) & (r == r[k])
    assert pred[0] == pytest.approx(atlas.dff[r[train_of_k], s[train_of_k]].mean())
    dff = atlas.dff.copy()
    dff[:, held] = 0.0  # held-out answers do not enter
    import dataclasses

    np.testing.assert_array_equal(cf.responder_baseline(dataclasses.replace(atlas, dff=dff), r, s, held), pred)


def test_ablation_command(tmp_path, capsys, cook, atlas):
    from neurosim.cli import main

    out = tmp_path / "abl"
    res = ablation(folds=2, steps=5, variants=["plain", "neuropeptide_short", "class_readout"], progress=False)
    assert list(res["variants"]) == ["plain", "neuropeptide_short", "class_readout"]
    assert all(np.isfinite(v["spearman"]["mean"]) and np.isfinite(v["spearman_residual"]["mean"]) and len(v["folds"]) == 2
               for v in res["variants"].values())
    assert 0.15 < res["responder_mean"]["spearman"]["mean"] < 0.4
    # the raw connectome row: the counts against the first fold's held-out pairs
    from scipy.stats import spearmanr

    r, s = cf.atlas_pairs(cook, atlas)
    test = np.isin(s, cf.split_stimulated(cf.stimulated_neurons(cook, atlas), 0, 2)[0])
    direct = spearmanr((cook.chemical + cook.gap)[s[test], r[test]], atlas.dff[r[test], s[test]]).statistic
    assert res["connectome"]["folds"][0] == pytest.approx(direct)
    with pytest.raises(ValueError, match="unknown ablation variant"):
        ablation(variants=["plain", "dopamine"])
    assert main(["fit", "worm", "--ablation", "--folds", "2", "--steps", "3", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "| receptors |" in text and "| responder mean (no wiring) |" in text and "| raw connectome (not fitted) |" in text
    assert set(json.loads((out / "ablation.json").read_text())["variants"]) == set(ABLATION)


def test_receptor_signs_alone_do_not_predict_the_atlas_better(cook, atlas):
    """README: with Kunert's parameters, splitting synapses by the receiving neuron's
    receptors lowers the linear response's rho over all wild-type pairs (+0.166 -> +0.113)."""
    from scipy.stats import spearmanr

    r, s = cf.atlas_pairs(cook, atlas)
    split = cf.LinearWorm(cook, receptors=True)
    with torch.no_grad():
        plain = cf.linear_responses(cf.LinearWorm(cook), cf.initial_theta()).numpy()[r, s]
        receptors = cf.linear_responses(split, cf.initial_theta(split)).numpy()[r, s]
    assert spearmanr(plain, atlas.dff[r, s]).statistic == pytest.approx(0.166, abs=0.002)
    assert spearmanr(receptors, atlas.dff[r, s]).statistic == pytest.approx(0.113, abs=0.002)
