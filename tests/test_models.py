"""Model definitions: validation names the field, discretize() gives the exact coefficients."""
import math

import numpy as np
import pytest

from neurosim import AdEx, CubaLIF, GradedNeuron, Izhikevich, ThresholdUnit
from neurosim.models.lif import exp_kernel_gain

BAD_PARAMS = [
    (CubaLIF, "tau_mem", float("nan"), "finite"),
    (CubaLIF, "tau_mem", -1e-3, "> 0"),
    (CubaLIF, "tau_syn_e", -1e-3, ">= 0"),  # 0: a delta synapse
    (ThresholdUnit, "c_mem", 0.0, "> 0"),
    (ThresholdUnit, "v_th", float("nan"), "finite"),
    (CubaLIF, "tau_syn_i", float("inf"), "finite"),
    (CubaLIF, "t_ref", -1e-3, ">= 0"),
    (CubaLIF, "c_mem", 0.0, "> 0"),
    (CubaLIF, "v_reset", -40e-3, "below v_th"),
    (CubaLIF, "v_th", "high", "finite"),
    (CubaLIF, "v_th", [1.0, 2.0], "scalar"),
    (Izhikevich, "c", 40e-3, "below v_peak"),
    (Izhikevich, "tau_syn_e", -5e-3, "> 0"),
    (Izhikevich, "a", float("nan"), "finite"),
    (AdEx, "delta_t", 0.0, "> 0"),
    (AdEx, "tau_w", -1.0, "> 0"),
    (AdEx, "v_peak", -60e-3, "above v_t"),
    (AdEx, "v_reset", 0.0, "below v_peak"),
    (AdEx, "g_leak", float("nan"), "finite"),
    (GradedNeuron, "g_leak", -1e-12, "> 0"),
    (GradedNeuron, "beta", 0.0, "> 0"),
    (GradedNeuron, "c_mem", float("nan"), "finite"),
]


@pytest.mark.parametrize("cls,field,value,expect", BAD_PARAMS)
def test_bad_parameter_is_named(cls, field, value, expect):
    with pytest.raises(ValueError) as err:
        cls(**{field: value})
    msg = str(err.value)
    assert f"{cls.__name__}.{field}" in msg and expect in msg, msg


@pytest.mark.parametrize("dt", [0.0, -1e-4, float("nan"), "0.1"])
def test_bad_dt(dt):
    with pytest.raises(ValueError, match="dt"):
        CubaLIF().discretize(dt)


def test_lif_coefficients_are_the_exact_propagator():
    m = CubaLIF(tau_mem=20e-3, tau_syn_e=5e-3, tau_syn_i=10e-3, c_mem=200e-12, t_ref=5e-3)
    dt = 1e-4
    c = m.discretize(dt)
    assert c["a_m"] == pytest.approx(math.exp(-dt / 20e-3))
    assert c["ref_steps"] == 50
    # the step response to a synaptic current equals the analytic solution
    r = m.tau_mem / m.c_mem
    for tau_s, key in ((5e-3, "k_e"), (10e-3, "k_i")):
        t = dt
        exact = r * tau_s / (tau_s - m.tau_mem) * (math.exp(-t / tau_s) - math.exp(-t / m.tau_mem))
        assert c[key] == pytest.approx(exact, rel=1e-12)
    # equal time constants use the limit t/tau exp(-t/tau)
    assert exp_kernel_gain(dt, 10e-3, 10e-3) == pytest.approx(dt / 10e-3 * math.exp(-dt / 10e-3))
    assert exp_kernel_gain(dt, 10e-3, 10e-3 * (1 + 1e-9)) == pytest.approx(exp_kernel_gain(dt, 10e-3, 10e-3), rel=1e-6)


def test_models_are_frozen_and_replace_validates():
    m = CubaLIF()
    with pytest.raises(Exception):
        m.tau_mem = 1.0
    assert m.replace(tau_mem=10e-3).tau_mem == 10e-3
    with pytest.raises(ValueError, match="tau_mem"):
        m.replace(tau_mem=-1.0)


@pytest.mark.parametrize("cls", [CubaLIF, Izhikevich, AdEx, GradedNeuron])
def test_initial_state_covers_state_vars(cls):
    m = cls()
    assert set(m.initial_state()) == set(m.state_vars) == set(m.units)
    assert all(np.isfinite(list(m.discretize(1e-4).values())))


def test_the_reset_is_an_option_checked_and_saved(tmp_path):
    """``reset`` ("hard" or "subtract") is a model option next to the SI parameters: refused
    when unknown, kept by replace, to_dict and a saved Network."""
    from neurosim import IF, CubaLIF, Network, Population

    with pytest.raises(ValueError, match=r"CubaLIF.reset = 'zero' is invalid: must be one of \['hard', 'subtract'\]"):
        CubaLIF(reset="zero")
    with pytest.raises(ValueError, match="IF.reset = 1.0 is invalid"):
        IF(reset=1.0)
    m = CubaLIF(reset="subtract")
    assert m.to_dict()["reset"] == "subtract" and m.replace(tau_mem=0.01).reset == "subtract"
    assert m.discretize(1e-4)["subtract"] == 1.0 and CubaLIF().discretize(1e-4)["subtract"] == 0.0
    Network([Population("p", m, 2), Population("q", IF(reset="subtract"), 1)]).save(tmp_path / "n.npz")
    back = Network.load(tmp_path / "n.npz")
    assert back.population("p").model == m and back.population("q").model.reset == "subtract"
