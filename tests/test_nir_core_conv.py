"""Convolutional NIR graphs in a core ``Network`` (criterion 1 of the NIR issue, core half):
stateless chains (Conv2d, SumPool2d, Flatten, Affine) unrolled into sparse projections, NIR's
per-step IF as core IF populations with delta synapses, biases as bias currents; checked
spike for spike against the same graph in torch layers, and the NIR paper's CNN through
Loihi's fixed-point engine and the SpiNNaker s16.15 simulation."""
import nir
import numpy as np
import pytest
import torch

from hardware.nir import from_nir, network_from_nir
from neurosim import IF, Network, Population, Projection, Simulator, SpikeMonitor, SpikeSource, StateMonitor
from neurosim import nn as snn

DT = 1e-3


def test_a_delta_synapse_moves_the_membrane_in_the_step_it_arrives():
    m = IF(tau_syn_e=0.0, tau_syn_i=0.0, v_rest=0.0, v_th=1.0, v_reset=0.0, c_mem=1e-9)
    c = m.discretize(DT)
    assert (c["a_e"], c["k_e"], c["a_i"]) == (0.0, DT / 1e-9, 0.0)
    src = SpikeSource("s", 1, [0.002, 0.005], [0, 0])
    net = Network([Population("p", m, 1)], [src], [Projection.from_pairs("s", "p", [0], [0], 0.3e-6, 1, name="w")])
    v = Simulator(net, dt=DT).run(0.01, [StateMonitor("p", "v")]).traces["p"]["v"][:, 0]
    # emitted in steps 2 and 5, each acts in the update of the next step (sample k: after k updates) and adds
    # w dt / c_mem = 0.3 V at once, for good
    np.testing.assert_allclose(v, [0, 0, 0, 0, 0.3, 0.3, 0.3, 0.6, 0.6, 0.6], atol=1e-12)
    with pytest.raises(ValueError, match="IF.tau_syn_e"):
        IF(tau_syn_e=-1e-3)


def _conv_graph(rng) -> nir.NIRGraph:
    """A small random convolutional graph: (2, 8, 8) -> Conv2d 4x3x3 (padding 1, biases) -> IF ->
    SumPool2d 2 -> Flatten -> Affine 64 -> 5 (biases) -> IF, weights drawn from ``rng``."""
    def if_node(shape):
        return nir.IF(r=np.ones(shape), v_threshold=np.full(shape, 1.0), v_reset=np.zeros(shape))
    nodes = {"input": nir.Input(input_type=np.array([2, 8, 8])),
             "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.uniform(-0.2, 0.6, (4, 2, 3, 3)), stride=1, padding=1, dilation=1,
                                groups=1, bias=rng.uniform(0, 0.05, 4)),
             "if1": if_node((4, 8, 8)), "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                                              padding=np.array([0, 0])),
             "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
             "fc": nir.Affine(weight=rng.uniform(-0.1, 0.3, (5, 64)), bias=rng.uniform(0, 0.05, 5)), "if2": if_node((5,)),
             "output": nir.Output(output_type=np.array([5]))}
    order = ["input", "conv", "if1", "pool", "flat", "fc", "if2", "output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:])))


def _core_spikes(net, x, pops, t_len):
    steps, pixels = np.nonzero(x.reshape(x.shape[0], -1))
    net = network_from_nir(net, dt=DT, sources={"input": SpikeSource("input", x[0].size, steps * DT, pixels)})
    res = Simulator(net, dt=DT).run((t_len + len(pops) + 1) * DT, [SpikeMonitor(p) for p in pops])
    out = []
    for p in pops:
        grid = np.zeros((t_len + len(pops) + 2, net.population(p).size))
        grid[np.round(res.spikes[p].times / DT).astype(int), res.spikes[p].ids] = 1
        out.append(grid)
    return out


def test_a_convolutional_graph_runs_in_the_core_as_in_torch():
    rng = np.random.default_rng(3)
    g = _conv_graph(rng)
    net = network_from_nir(g, dt=DT)
    assert [p.model.kind for p in net.populations] == ["if", "if"] and net.population("if1").model.tau_syn_e == 0
    assert len(net.inputs) == 2 and all(inj.constant for inj in net.inputs)  # the Conv2d's and the Affine's biases
    x = (rng.random((30, 2, 8, 8)) < 0.15).astype(np.float64)
    model = from_nir(g, dt=DT).double()
    with torch.no_grad():
        ref = [o[:, 0].reshape(30, -1).numpy() for o, m in zip(model.outputs(torch.from_numpy(x[:, None])), model)
               if isinstance(m, snn.IF)]
    got = _core_spikes(g, x, ["if1", "if2"], 30)
    for depth, (mine, theirs) in enumerate(zip(got, ref), start=1):  # each projection takes one step
        assert theirs.sum() > 20
        np.testing.assert_array_equal(mine[depth:depth + 30], theirs, err_msg=f"IF layer {depth}")
        assert not mine[:depth].any()


@pytest.fixture(scope="module")
def cnn(shared_data):
    from circuits.nmnist.nir_paper import nmnist_frames

    frames, labels = nmnist_frames(shared_data / "nmnist_small", np.arange(3))
    return shared_data / "nir_paper" / "cnn_sinabs.nir", frames, labels


def test_the_nir_papers_cnn_runs_in_the_core_as_in_torch(cnn):
    """Binary frames (one spike per pixel and step, what the chips take); every IF layer, float64."""
    path, frames, _ = cnn
    model = from_nir(path, dt=DT).double()
    x = np.minimum(frames[0], 1).astype(np.float64)
    t_len = x.shape[0]
    with torch.no_grad():
        ref = [o[:, 0].reshape(t_len, -1).numpy() for o, m in zip(model.outputs(torch.from_numpy(x[:, None])), model)
               if isinstance(m, snn.IF)]
    got = _core_spikes(path, x, ["1", "3", "6", "10", "12"], t_len)
    for depth, (mine, theirs) in enumerate(zip(got, ref), start=1):
        np.testing.assert_array_equal(mine[depth:depth + t_len], theirs, err_msg=f"IF layer {depth}")


@pytest.mark.parametrize("target", ["loihi", "spinnaker"])
def test_the_nir_papers_cnn_classifies_on_loihi_and_spinnaker(cnn, target):
    from circuits.nmnist.nir_paper import classify_core, classify_frames

    path, frames, labels = cnn
    float_pred, _ = classify_frames(from_nir(path, dt=DT), [np.minimum(x, 1) for x in frames])
    r = classify_core(path, frames, target, progress=False)
    assert r["depth"] == 5 and r["counts"].sum(1).min() > 0
    np.testing.assert_array_equal(r["predictions"], float_pred)
    np.testing.assert_array_equal(r["predictions"], labels)


def test_deploy_commands_take_a_nir_classifier(cnn, capsys):
    from neurosim.cli import main

    path, _, _ = cnn
    assert main(["deploy", "spinnaker", str(path), "--samples", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "spinnaker (s16.15):" in out and "drop 0.0 points vs float binary" in out and "1122848 synapses" in out


def test_lif_and_li_nodes_run_in_the_core_as_in_torch():
    """NIR LIF and LI nodes take their input straight into the membrane: core CuBa-LIF
    populations with delta synapses (tau_syn = 0), one step per projection later."""
    rng = np.random.default_rng(5)
    n_in, n_hid, n_out = 6, 8, 3
    nodes = {"input": nir.Input(input_type=np.array([n_in])), "w1": nir.Affine(weight=rng.uniform(0, 0.6, (n_hid, n_in)),
                                                                              bias=rng.uniform(0, 0.02, n_hid)),
             "lif": nir.LIF(tau=np.full(n_hid, 0.01), r=np.full(n_hid, 2.0), v_leak=np.zeros(n_hid), v_threshold=np.full(n_hid, 0.3),
                            v_reset=np.zeros(n_hid)),
             "w2": nir.Linear(weight=rng.uniform(-0.2, 0.5, (n_out, n_hid))),
             "li": nir.LI(tau=np.full(n_out, 0.02), r=np.ones(n_out), v_leak=np.zeros(n_out)), "output": nir.Output(output_type=np.array([n_out]))}
    order = ["input", "w1", "lif", "w2", "li", "output"]
    g = nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:])))
    net = network_from_nir(g, dt=DT)
    assert [p.model.tau_syn_e for p in net.populations] == [0.0, 0.0]
    x = (rng.random((60, n_in)) < 0.3).astype(np.float64)
    model = from_nir(g, dt=DT).double()
    with torch.no_grad():
        outs = model.outputs(torch.from_numpy(x[:, None]))
    lif_ref = outs[1][:, 0].numpy()
    got = _core_spikes(g, x, ["lif"], 60)[0]
    assert lif_ref.sum() > 20
    np.testing.assert_array_equal(got[1:61], lif_ref)
    # the LI readout: the core membrane in volts above rest (NIR's units: v_leak 0 -> rest, r I in volts) equals
    # torch's, two steps later
    steps, idx = np.nonzero(x)
    net = network_from_nir(g, dt=DT, sources={"input": SpikeSource("input", n_in, steps * DT, idx)})
    v = Simulator(net, dt=DT).run(63 * DT, [StateMonitor("li", "v")]).traces["li"]["v"]
    m = net.population("li").model
    assert np.abs(outs[3]).max() > 0.05
    np.testing.assert_allclose(v[3:63] - m.v_rest, outs[3][:, 0].numpy(), rtol=1e-6, atol=1e-9)  # float32 weights


def test_threshold_nodes_run_in_the_core_as_in_torch():
    """NIR's Threshold (a spike where the input exceeds theta, no memory) as core
    ThresholdUnit populations, between IF layers; spikes equal torch's, one step per projection."""
    rng = np.random.default_rng(9)
    n_in, n_thr, n_out = 5, 7, 4
    nodes = {"input": nir.Input(input_type=np.array([n_in])), "w1": nir.Linear(weight=rng.uniform(-0.5, 1.5, (n_thr, n_in))),
             "thr": nir.Threshold(threshold=rng.uniform(0.3, 1.0, n_thr)), "w2": nir.Linear(weight=rng.uniform(0, 0.4, (n_out, n_thr))),
             "if": nir.IF(r=np.ones(n_out), v_threshold=np.ones(n_out), v_reset=np.zeros(n_out)),
             "output": nir.Output(output_type=np.array([n_out]))}
    order = ["input", "w1", "thr", "w2", "if", "output"]
    g = nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:])))
    assert net_kinds(g) == ["threshold", "if"]
    x = (rng.random((50, n_in)) < 0.4).astype(np.float64)
    model = from_nir(g, dt=DT).double()
    with torch.no_grad():
        outs = model.outputs(torch.from_numpy(x[:, None]))
    got = _core_spikes(g, x, ["thr", "if"], 50)
    for depth, (mine, ref) in enumerate(zip(got, (outs[1][:, 0].numpy(), outs[3][:, 0].numpy())), start=1):
        assert ref.sum() > 10
        np.testing.assert_array_equal(mine[depth:depth + 50], ref, err_msg=f"layer {depth}")
    from neurosim.backend import get_backend  # Loihi (du = dv = 1) and SpiNNaker run the units too

    steps, idx = np.nonzero(x)
    net = network_from_nir(g, dt=DT, sources={"input": SpikeSource("input", n_in, steps * DT, idx)})
    core = Simulator(net, dt=DT).run(0.053, [SpikeMonitor("thr")]).spikes["thr"]
    for name in ("loihi", "spinnaker"):
        hw = get_backend(name)(dt=DT).simulate(net, 0.053).spikes["thr"]
        assert abs(len(hw) - len(core)) <= 0.05 * len(core), (name, len(hw), len(core))


def net_kinds(g):
    return [p.model.kind for p in network_from_nir(g, dt=DT).populations]


def test_backends_take_or_name_delta_synapses():
    from neurosim import CubaLIF
    from neurosim.backend import get_backend

    def net(tau_i):
        m = CubaLIF(tau_syn_e=0.0, tau_syn_i=tau_i, t_ref=0.0, v_reset=-70e-3)
        src = SpikeSource("s", 2, [0.001], [0])
        return Network([Population("p", m, 2)], [src], [Projection.from_dense("s", "p", np.full((2, 2), 1e-9), name="e"),
                                                          Projection.from_dense("s", "p", np.full((2, 2), -1e-9), target="inh",
                                                                                name="i")])
    for name in ("loihi", "spinnaker", "nir"):
        assert get_backend(name)(dt=1e-3).unsupported(net(0.0)) == [], name
    assert any("delta synapse" in r for r in get_backend("pynn")(dt=1e-3).unsupported(net(0.0)))
    assert any("one of its synapses is a delta synapse" in r for r in get_backend("nir")(dt=1e-3).unsupported(net(5e-3)))


def test_bad_delays_and_targets_are_named():
    with pytest.raises(ValueError, match="delay must be finite and >= 0 s"):
        snn.Delay(np.array([1e-3, -1e-3]), dt=DT)
    with pytest.raises(ValueError, match="delay must be finite and >= 0 s"):
        snn.Delay(np.nan, dt=DT)
    with pytest.raises(ValueError, match="delay must be whole steps of dt = 0.001 s"):
        snn.Delay(2.5e-3, dt=DT)
    from circuits.nmnist.nir_paper import classify_core, deploy_nir_classifier

    with pytest.raises(ValueError, match="target = 'lava' is invalid: one of"):
        classify_core("unused.nir", [], "lava")
    with pytest.raises(ValueError, match="target = 'simulator' is invalid: one of \\('loihi', 'spinnaker'\\)"):
        deploy_nir_classifier("unused.nir", "unused", "simulator")
