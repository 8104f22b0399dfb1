"""Spontaneous activity of the worm model (issue #14's activity check): the Jacobian is the
independent reference equations' (finite differences of ``celegans_reference.kunert_ode``),
its steady state is the fit's torch linear response, and the label-free comparison with the
Flavell recordings runs and reports their numbers."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from circuits.worm import fit as cf
from circuits.worm import activity as wa
from circuits.worm.model import KUNERT2014, load_worm_params
from circuits.worm.reference import kunert_ode

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "celegans_activity"


def test_jacobian_is_the_reference_equations(cook):
    j = wa.jacobian(cook)
    rhs, y0, _ = kunert_ode(cook, dict(KUNERT2014), [0], 0.0)
    assert np.abs(rhs(0.0, y0, False)).max() < 1e-9  # y0 is the rest state
    h = np.concatenate([np.full(302, 1e-7), np.full(302, 1e-6)])
    cols = np.r_[np.arange(0, 604, 7), 302 + cook.index("AVAL")]
    for k in cols:
        e = np.zeros(604)
        e[k] = h[k]
        fd = (rhs(0.0, y0 + e, False) - rhs(0.0, y0 - e, False)) / (2 * h[k])
        np.testing.assert_allclose(j[:, k], fd, rtol=1e-6, atol=1e-6 * np.abs(j).max())


def test_jacobian_steady_state_is_the_fits_linear_response(cook):
    """For the shipped fitted parameters: -J^-1 applied to a drive equals the torch path."""
    params = load_worm_params("fitted")
    j = wa.jacobian(cook, params)
    worm = cf.LinearWorm(cook)
    theta = {"gain": torch.tensor([cf._inverse(params["gain"][c], *cf.BOUNDS["gain"]) for c in cf.CHANNELS], dtype=torch.float64),
             "e_rev": torch.tensor([cf._inverse(params["e_rev"][c], *cf.BOUNDS["e_rev"], log=False) for c in cf.CHANNELS],
                                   dtype=torch.float64),
             "beta": torch.tensor([cf._inverse(params["kunert"]["beta"] / KUNERT2014["beta"], *cf.BOUNDS["beta"])], dtype=torch.float64),
             "g_gap": torch.tensor([cf._inverse(params["kunert"]["g_gap"] / KUNERT2014["g_gap"], *cf.BOUNDS["g_gap"])],
                                   dtype=torch.float64)}
    with torch.no_grad():
        lin = cf.linear_responses(worm, theta, depolarization=1.0).numpy()
    k = cook.index("AVAL")
    g_input = -j[k, k] * KUNERT2014["c_mem"]  # leak + gap + synaptic conductance of AVAL at rest
    drive = np.zeros(604)
    drive[k] = g_input / KUNERT2014["c_mem"]
    dv = np.linalg.solve(-j, drive)[:302]
    np.testing.assert_allclose(dv, lin[:, k], rtol=1e-6, atol=1e-9 * np.abs(lin[:, k]).max())


def test_correlation_is_scale_free_and_checked(cook):
    c = wa.spontaneous_correlation(cook, "kunert", tau_indicator=0.0)
    assert c.shape == (302, 302) and np.allclose(np.diag(c), 1) and np.allclose(c, c.T)
    s = wa.correlation_summary(c)
    assert 0 < s["pc1"] < s["top3"] < 1 and 0 < s["participation_ratio_per_neuron"] <= 1
    with pytest.raises(ValueError, match="tau_indicator"):
        wa.spontaneous_correlation(cook, tau_indicator=-1.0)
    with pytest.raises(ValueError, match="square correlation matrix"):
        wa.correlation_summary(np.ones((2, 3)))


def test_activity_check_against_the_recordings(tmp_path, capsys):
    from neurosim.cli import main

    rec = wa.recording_summaries(RECORDINGS)
    assert [r["neurons"] for r in rec] == [146, 145, 130]
    assert [round(r["pc1"], 3) for r in rec] == [0.285, 0.364, 0.259]
    out = tmp_path / "act"
    assert main(["activity", "--params", "kunert", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| model: kunert (140 random neurons" in text and "| model: kunert (shuffled)" in text
    res = json.loads((out / "worm_activity_check.json").read_text())
    # the model at rest, driven by independent noise, is far less coordinated than the worm
    assert res["models"]["kunert"]["mean_abs_r"] < 0.5 * min(r["mean_abs_r"] for r in rec)
    assert (out / "worm_activity_check.png").stat().st_size > 10_000
    with pytest.raises(FileNotFoundError, match="no Flavell recordings"):
        wa.recording_summaries(tmp_path)
    assert main(["activity", "--params", str(tmp_path / "nope.json"), "--out", str(tmp_path / "bad")]) == 2
    assert "no such parameter file" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    assert main(["activity", "--recordings", str(tmp_path / "empty"), "--out", str(tmp_path / "bad")]) == 2
    assert "no Flavell recordings" in capsys.readouterr().err
