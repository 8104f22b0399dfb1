"""Fitting the worm model (issue #14, the foundation): parameter sets load and build the
network, the linear steady-state response is the simulated one for small drives, and no
held-out stimulated neuron's pairs enter a fit."""
import dataclasses

import numpy as np
import pytest
import torch

from circuits.worm import fit as cf
from circuits.worm.model import KUNERT2014, TRANSMITTER_CLASSES, build_worm, equilibrium, load_worm_params, stimulate
from neurosim import Simulator, StateMonitor


KUNERT_AS_FIT = {"kunert": {}, "gain": {c: 1.0 for c in TRANSMITTER_CLASSES},
                 "e_rev": {"acetylcholine": 0.0, "glutamate": 0.0, "gaba": KUNERT2014["e_inh"], "other": 0.0}}


def test_kunert_written_as_a_parameter_set_is_kunert(cook):
    a, b = build_worm(cook), build_worm(cook, params=KUNERT_AS_FIT)
    np.testing.assert_allclose(equilibrium(cook, dict(KUNERT2014), load_worm_params(KUNERT_AS_FIT)),
                               equilibrium(cook, dict(KUNERT2014)), rtol=1e-12)
    net_a, net_b = stimulate(a, ["AVAL"], depolarization=10e-3), stimulate(b, ["AVAL"], depolarization=10e-3)
    va = Simulator(net_a, dt=1e-3).run(0.5, [StateMonitor("worm", ("v",), every=50)]).traces["worm"]["v"]
    vb = Simulator(net_b, dt=1e-3).run(0.5, [StateMonitor("worm", ("v",), every=50)]).traces["worm"]["v"]
    np.testing.assert_allclose(vb, va, rtol=0, atol=1e-9)


def test_parameter_files_are_checked(tmp_path):
    with pytest.raises(ValueError, match="no such parameter file"):
        load_worm_params(tmp_path / "missing.json")
    bad = dict(KUNERT_AS_FIT, gain={c: 1.0 for c in TRANSMITTER_CLASSES[:3]})
    with pytest.raises(ValueError, match="'gain' must give a value for each of"):
        load_worm_params(bad)
    with pytest.raises(ValueError, match=r"e_rev\['gaba'\] = 5.0 is invalid"):
        load_worm_params(dict(KUNERT_AS_FIT, e_rev={**KUNERT_AS_FIT["e_rev"], "gaba": 5.0}))
    with pytest.raises(ValueError, match="unknown worm parameter 'g_sin'"):
        load_worm_params(dict(KUNERT_AS_FIT, kunert={"g_sin": 1.0}))
    with pytest.raises(ValueError, match="'fit' \\(how the set was fitted\\) must be a dict, got list"):
        load_worm_params(dict(KUNERT_AS_FIT, fit=[1, 2]))
    path = cf.save_params(KUNERT_AS_FIT, tmp_path / "p.json")
    assert load_worm_params(path)["e_rev"]["gaba"] == KUNERT2014["e_inh"]


def test_linear_response_is_the_simulated_steady_state_for_small_drives(cook):
    """The Jacobian at rest (module docstring of celegans_fit) against the nonlinear
    simulation: a 0.2 mV sustained drive into a neuron, held for 4 s."""
    worm = cf.LinearWorm(cook)
    theta = cf.initial_theta()
    with torch.no_grad():
        lin = cf.linear_responses(worm, theta, depolarization=0.2e-3).numpy()
    net = build_worm(cook)
    for name in ("AVAL", "ASHL"):
        k = cook.index(name)
        run = Simulator(stimulate(net, [name], depolarization=0.2e-3), dt=1e-3).run(4.0, [StateMonitor("worm", ("v",), every=100)])
        dv = run.traces["worm"]["v"][-1] - net.population("worm").initial_state()["v"]
        big = np.abs(lin[:, k]) > 1e-6
        assert big.sum() > 5
        np.testing.assert_allclose(dv[big], lin[big, k], rtol=0.05, atol=2e-7)


def test_kunert_linear_response_correlates_with_the_atlas_as_the_simulation_does(cook, atlas):
    r, s = cf.atlas_pairs(cook, atlas)
    with torch.no_grad():
        lin = cf.linear_responses(cf.LinearWorm(cook), cf.initial_theta()).numpy()
    from scipy.stats import spearmanr

    assert spearmanr(lin[r, s], atlas.dff[r, s]).statistic == pytest.approx(0.166, abs=0.005)  # simulated: +0.166 (README)


def test_no_held_out_pair_enters_the_fit(cook, atlas):
    folds = cf.split_stimulated(cf.stimulated_neurons(cook, atlas), seed=3, folds=2)
    assert not set(folds[0]) & set(folds[1]) and len(folds[0]) + len(folds[1]) == cf.stimulated_neurons(cook, atlas).size
    params = cf.fit_worm(cook, atlas, folds[0], steps=15)
    assert set(params["fit"]["train_stimulated"]) <= {cook.neurons[i] for i in folds[0]}
    # scramble every held-out pair's dF/F: the fit must not change
    dff = atlas.dff.copy()
    held = np.isin(np.arange(302), folds[1])
    rng = np.random.default_rng(0)
    dff[:, held] = rng.normal(size=(302, held.sum()))
    scrambled = dataclasses.replace(atlas, dff=dff)
    again = cf.fit_worm(cook, scrambled, folds[0], steps=15)
    assert again["gain"] == params["gain"] and again["e_rev"] == params["e_rev"] and again["kunert"] == params["kunert"]
    # while scrambling a training pair's does change it
    dff2 = atlas.dff.copy()
    dff2[:, folds[0][:5]] = rng.normal(size=(302, 5))
    assert cf.fit_worm(cook, dataclasses.replace(atlas, dff=dff2), folds[0], steps=15)["gain"] != params["gain"]


def test_fit_command_writes_params_that_the_worm_command_loads(tmp_path, capsys):
    """Small settings: 2 folds, 20 Adam steps; the held-out table is printed, folds are
    resumable, and `neurosim worm --params` runs the written parameters."""
    from neurosim.cli import main

    out = tmp_path / "fit"
    assert main(["fit", "worm", "--folds", "2", "--steps", "20", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "| fitted model |" in text and "| raw connectome |" in text
    metrics = __import__("json").loads((out / "metrics.json").read_text())
    assert len(metrics["folds"]) == 2 and metrics["folds"][0]["pairs"] + metrics["folds"][1]["pairs"] > 1000
    assert load_worm_params(out / "params.json")["gain"].keys() == set(TRANSMITTER_CLASSES)
    assert main(["fit", "worm", "--folds", "2", "--steps", "20", "--out", str(out), "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err
    rc = main(["worm", "--params", str(out / "params.json"), "--duration", "0.5", "--stim-start", "0.1", "--stim-duration",
               "0.2", "--no-compare", "--out", str(tmp_path / "worm"), "--no-progress"])
    assert rc == 0 and (tmp_path / "worm" / "worm_traces.h5").is_file()
    assert main(["worm", "--params", str(tmp_path / "nope.json"), "--no-compare", "--out", str(tmp_path / "w2")]) == 2


def test_shipped_fit_is_what_fit_worm_gives_and_the_worm_default(cook, atlas, tmp_path):
    """circuits/data/worm_fit.json is the fit on every stimulated neuron of the Cook 2019
    wild-type atlas (300 Adam steps; `neurosim fit worm` writes it as params.json); `neurosim
    worm` runs it by default and Kunert's model with --params kunert."""
    import h5py

    from circuits.worm.model import FITTED_PARAMS
    from neurosim.cli import main

    shipped = __import__("json").loads(FITTED_PARAMS.read_text())
    assert shipped["fit"]["connectome"] == "cook2019_herm" and shipped["fit"]["strain"] == "wt"
    cv = shipped["fit"]["cross_validation"]
    assert cv["fitted_spearman"]["mean"] > cv["kunert_spearman"]["mean"]  # why it is the default
    again = cf.fit_worm(cook, atlas, cf.stimulated_neurons(cook, atlas), steps=shipped["fit"]["steps"])
    for key in ("gain", "e_rev", "kunert"):
        for name, value in again[key].items():
            assert value == pytest.approx(shipped[key][name], rel=1e-6)
    assert build_worm(cook, params="fitted").projections[0].name.startswith("chemical_")
    for params, expect in ((None, "the shipped fit (fitted to the wt atlas on cook2019_herm)"), ("kunert", "Kunert et al. 2014")):
        out = tmp_path / f"worm_{params}"
        argv = ["worm", "--duration", "0.3", "--stim-start", "0.1", "--stim-duration", "0.1", "--no-compare", "--no-progress",
                "--out", str(out)] + (["--params", params] if params else [])
        assert main(argv) == 0
        with h5py.File(out / "worm_traces.h5") as f:
            model = f.attrs["model"]
        assert (model == expect) if params else model.endswith(expect)
