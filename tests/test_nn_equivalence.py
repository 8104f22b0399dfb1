"""The same weights and input spikes give identical spike trains in the torch layers
(float64, no grad) and in the Numba simulator (issue #4, criterion 1)."""
import numpy as np
import pytest
import torch

import neurosim.nn as snn
from neurosim import CubaLIF as CubaLIFModel
from neurosim import Simulator, SpikeMonitor, StateMonitor

T, N_IN, N_HID, N_OUT = 100, 40, 60, 10


def _model(neuron, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(N_IN, N_HID, bias=False), snn.CubaLIF(neuron, dt=1e-3),
                                torch.nn.Linear(N_HID, N_OUT, bias=False), snn.CubaLIF(neuron, dt=1e-3)).double()
    with torch.no_grad():
        model[0].weight.normal_(0.25, 0.35)
        model[2].weight.normal_(0.3, 0.4)
    return model


def _torch_run(model, spikes_in):
    x = torch.from_numpy(spikes_in[:, None, :]).double()  # (T, B=1, n_in)
    with torch.no_grad():
        h, _ = model[1](model[0](x))
        o, _ = model[3](model[2](h))
    return h[:, 0].numpy(), o[:, 0].numpy()


@pytest.mark.parametrize("neuron", [
    CubaLIFModel(tau_mem=20e-3, tau_syn_e=5e-3, v_rest=-65e-3, v_th=-50e-3, v_reset=-65e-3, t_ref=0.0),
    CubaLIFModel(tau_mem=10e-3, tau_syn_e=3e-3, v_rest=-70e-3, v_th=-55e-3, v_reset=-75e-3, t_ref=3e-3),
], ids=["no_refractory", "refractory_reset_below_rest"])
def test_torch_layers_and_simulator_give_identical_spikes(neuron):
    rng = np.random.default_rng(1)
    spikes_in = (rng.random((T, N_IN)) < 0.15).astype(np.float64)
    model = _model(neuron)
    h, o = _torch_run(model, spikes_in)
    assert h.sum() > 50 and o.sum() > 10, "the test needs activity in both layers"
    net = snn.to_network(model, spikes_in)
    res = Simulator(net, dt=1e-3, dtype=np.float64).run((T + 2) * 1e-3, [SpikeMonitor("layer0"), SpikeMonitor("layer1")])
    for name, ref, lag in (("layer0", h, 1), ("layer1", o, 2)):
        st = res.spikes[name]
        sim = np.zeros((T + 2, ref.shape[1]))
        sim[np.round(st.times / 1e-3).astype(int), st.ids] = 1
        np.testing.assert_array_equal(sim[lag : lag + T], ref, err_msg=f"{name}: spike trains differ")


def test_readout_membrane_matches():
    neuron = CubaLIFModel(t_ref=0.0, v_reset=CubaLIFModel().v_rest)
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(N_IN, N_HID, bias=False), snn.CubaLIF(neuron, dt=1e-3),
                                torch.nn.Linear(N_HID, N_OUT, bias=False), snn.LI(neuron, dt=1e-3)).double()
    with torch.no_grad():
        model[0].weight.normal_(0.25, 0.35)
    spikes_in = (np.random.default_rng(2).random((T, N_IN)) < 0.15).astype(np.float64)
    x = torch.from_numpy(spikes_in[:, None, :])
    with torch.no_grad():
        h, _ = model[1](model[0](x))
        u, _ = model[3](model[2](h))
    net = snn.to_network(model, spikes_in)
    res = Simulator(net, dt=1e-3).run((T + 3) * 1e-3, [StateMonitor("readout", ("v",))])
    v = (res.traces["readout"]["v"] - neuron.v_rest) / (neuron.v_th - neuron.v_rest)
    # torch membrane after step t = simulator state at the start of step t + 3 (two delays + one step)
    np.testing.assert_allclose(v[3 : 3 + T], u[:, 0].numpy(), atol=1e-12)


def test_export_rejects_what_it_cannot_express():
    lif = snn.LIF(dt=1e-3)
    with pytest.raises(ValueError, match="bias"):
        snn.to_network(torch.nn.Sequential(torch.nn.Linear(3, 2), snn.CubaLIF(dt=1e-3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="CubaLIF"):
        snn.to_network(torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False), lif), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="expects 4 inputs"):
        snn.to_network(torch.nn.Sequential(torch.nn.Linear(4, 2, bias=False), snn.CubaLIF(dt=1e-3)), np.zeros((5, 3)))
