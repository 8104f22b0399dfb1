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
    CubaLIFModel(tau_mem=20e-3, tau_syn_e=5e-3, v_rest=-65e-3, v_th=-50e-3, v_reset=-65e-3, t_ref=0.0, reset="subtract"),
], ids=["no_refractory", "refractory_reset_below_rest", "subtractive_reset"])
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
    with pytest.raises(ValueError, match="MaxPool2d cannot be exported"):
        snn.to_network([torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4, 2), snn.CubaLIF(dt=1e-3)],
                       np.zeros((5, 1, 4, 4)))
    with pytest.raises(ValueError, match="end with a neuron layer"):
        snn.to_network([torch.nn.Linear(3, 2), snn.CubaLIF(dt=1e-3), torch.nn.Linear(2, 2)], np.zeros((5, 3)))
    with pytest.raises(ValueError, match="Conv2d expects 3 input channels"):
        snn.to_network([torch.nn.Conv2d(3, 2, 3), snn.CubaLIF(dt=1e-3)], np.zeros((5, 2, 6, 6)))
    with pytest.raises(ValueError, match="CubaLIF"):
        snn.to_network(torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False), lif), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="expects 4 inputs"):
        snn.to_network(torch.nn.Sequential(torch.nn.Linear(4, 2, bias=False), snn.CubaLIF(dt=1e-3)), np.zeros((5, 3)))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding=2, dilation=2), dict(groups=2, padding=1),
                                dict(stride=(2, 1), padding=(0, 1))])
def test_conv2d_matrix_is_the_convolution(kw):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(4, 6, 3, **kw).double()
    x = torch.randn(4, 9, 7, dtype=torch.float64)
    m, shape = snn.export.conv2d_matrix(conv, (4, 9, 7))
    with torch.no_grad():
        ref = torch.nn.functional.conv2d(x[None], conv.weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)[0]
    assert tuple(ref.shape) == shape
    np.testing.assert_allclose(m @ x.numpy().ravel(), ref.numpy().ravel(), atol=1e-12)


@pytest.mark.parametrize("pool", [torch.nn.AvgPool2d(2), torch.nn.AvgPool2d(3, stride=2), torch.nn.AvgPool2d(2, divisor_override=1)])
def test_pool_matrix_is_the_pooling(pool):
    x = torch.randn(3, 9, 8, dtype=torch.float64)
    m, shape = snn.export.avg_pool2d_matrix(pool, (3, 9, 8))
    ref = pool(x[None])[0]
    assert tuple(ref.shape) == shape
    np.testing.assert_allclose(m @ x.numpy().ravel(), ref.numpy().ravel(), atol=1e-12)


def test_convolutional_model_with_pooling_and_biases_exports_exactly():
    """Conv (with bias) - CuBa-LIF - avg-pool - strided conv - CuBa-LIF - sum-pool - flatten -
    Linear - LI, as the N-MNIST model: identical spike trains in every layer and the same
    readout membrane in the simulator."""
    neuron = CubaLIFModel(tau_mem=20e-3, tau_syn_e=10e-3, t_ref=0.0, v_reset=CubaLIFModel().v_rest)
    torch.manual_seed(4)
    layers = [snn.Lift(torch.nn.Conv2d(2, 4, 3, padding=1)), snn.CubaLIF(neuron, dt=1e-3),
              snn.Lift(torch.nn.AvgPool2d(2)), snn.Lift(torch.nn.Conv2d(4, 6, 3, stride=2, padding=1)), snn.CubaLIF(neuron, dt=1e-3),
              snn.Lift(torch.nn.AvgPool2d(2, divisor_override=1)), snn.Lift(torch.nn.Flatten()),
              snn.Lift(torch.nn.Linear(6, 5)), snn.LI(neuron, dt=1e-3)]
    model = torch.nn.Sequential(*layers).double()
    with torch.no_grad():
        model[0].module.weight.mul_(6.0)
        model[0].module.bias.fill_(0.05)
        model[3].module.weight.mul_(8.0)
    t_len = 40
    spikes_in = (np.random.default_rng(5).random((t_len, 2, 8, 8)) < 0.2).astype(np.float64)
    x = torch.from_numpy(spikes_in[:, None])
    with torch.no_grad():
        h1, _ = model[1](model[0](x))
        h2, _ = model[4](model[3](model[2](h1)))
        u, _ = model[8](model[7](model[6](model[5](h2))))
    h1, h2 = h1[:, 0].reshape(t_len, -1).numpy(), h2[:, 0].reshape(t_len, -1).numpy()
    assert h1.sum() > 100 and h2.sum() > 20, "the test needs activity in both layers"
    net = snn.to_network(model, spikes_in)
    assert {s.name for s in net.sources} == {"input", "bias"}
    res = Simulator(net, dt=1e-3).run((t_len + 4) * 1e-3, [SpikeMonitor("layer0"), SpikeMonitor("layer1"),
                                                              StateMonitor("readout", ("v",))])
    for name, ref, lag in (("layer0", h1, 1), ("layer1", h2, 2)):
        st = res.spikes[name]
        sim = np.zeros((t_len + 4, ref.shape[1]))
        sim[np.round(st.times / 1e-3).astype(int), st.ids] = 1
        np.testing.assert_array_equal(sim[lag : lag + t_len], ref, err_msg=f"{name}: spike trains differ")
    v = (res.traces["readout"]["v"] - neuron.v_rest) / (neuron.v_th - neuron.v_rest)
    # torch membrane after step t = simulator state at the start of step t + 4 (three delays + one step)
    np.testing.assert_allclose(v[4 : 4 + t_len], u[:, 0].numpy(), atol=1e-10)
