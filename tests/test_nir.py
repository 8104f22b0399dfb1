"""NIR interchange (issue #12): neurosim models run identically in snnTorch and Norse after
export, graphs those libraries write run identically in neurosim, neurosim -> NIR ->
neurosim is lossless, and bad graphs and files give clear errors."""
import nir
import numpy as np
import pytest
import torch

import neurosim.nn as snn
from hardware.nir import (SNNTORCH_DT, NIRConversionError, NIRFileError, from_nir, network_from_nir, network_to_nir,
                          read_graph, to_nir, write_graph)
from hardware.nir.peers import run_norse, run_snntorch, spike_agreement
from neurosim import CubaLIF as CubaLIFModel


def _neuron_outputs(model, x):
    """Our layers' outputs for samples x (N, T, ...): [(N, T, ...) per neuron layer]."""
    with torch.no_grad():
        outs = snn.Sequential(*(model.layers() if hasattr(model, "layers") else model)).outputs(
            torch.as_tensor(x, dtype=torch.float32).transpose(0, 1))
        layers = list(model.layers() if hasattr(model, "layers") else model)
    return [o.transpose(0, 1).numpy() for o, layer in zip(outs, layers) if isinstance(layer, (snn.CubaLIF, snn.LIF, snn.LI))]


def _check_peer(model, x, peer_result, graph):
    ours = _neuron_outputs(model, x)
    names = [n for n, v in graph.nodes.items() if isinstance(v, (nir.CubaLIF, nir.LIF, nir.LI))]
    assert len(names) == len(ours)
    for name, mine in zip(names[:-1], ours[:-1]):
        agree = spike_agreement(mine, peer_result[name]["spikes"])
        assert agree["n_ours"] > 50, f"{name}: too few spikes for a meaningful test"
        assert agree["within_one_step"] >= 0.99, (name, agree)
        assert agree["identical"] >= 0.99, (name, agree)
    readout, theirs = ours[-1], peer_result[names[-1]]["v"]
    np.testing.assert_allclose(theirs, readout, rtol=1e-4, atol=1e-4 * np.abs(readout).max())
    assert np.array_equal(theirs.max(1).argmax(-1), readout.max(1).argmax(-1))


@pytest.fixture(scope="module")
def nmnist(small_model, shared_data):
    from circuits.nmnist.classifier import load_frames
    from circuits.nmnist.loihi import load_nmnist_model

    model, settings = load_nmnist_model(small_model)
    frames, _, _ = load_frames(shared_data / "nmnist_small", settings["time_bins"])
    return model, frames[-4:].astype(np.float32)


def _small_conv_model(seed=0):
    """A small convolutional model with every layer kind the exporter writes: strided,
    padded convolution, sum pooling, flatten, a plain LIF layer and a synaptic readout."""
    torch.manual_seed(seed)
    neuron = CubaLIFModel(tau_mem=15e-3, tau_syn_e=6e-3, t_ref=0.0, v_reset=CubaLIFModel().v_rest)
    dt = 2e-3
    layers = [snn.Lift(torch.nn.Conv2d(2, 4, 3, stride=2, padding=1)), snn.CubaLIF(neuron, dt=dt),
              snn.Lift(torch.nn.AvgPool2d(2, divisor_override=1)), snn.Lift(torch.nn.Flatten()),
              snn.Lift(torch.nn.Linear(4 * 4 * 4, 12)), snn.LIF(neuron, dt=dt),
              snn.Lift(torch.nn.Linear(12, 5, bias=False)), snn.LI(neuron, dt=dt)]
    with torch.no_grad():
        layers[0].module.weight.mul_(10.0)
        layers[4].module.weight.mul_(30.0)
    x = (torch.rand(3, 40, 2, 16, 16, generator=torch.Generator().manual_seed(seed)) < 0.15).float().numpy()
    return layers, x


def test_trained_nmnist_model_runs_identically_in_snntorch_and_norse(nmnist):
    model, x = nmnist
    g = to_nir(model, (2, 34, 34), euler_dt=SNNTORCH_DT)
    _check_peer(model, x, run_snntorch(g, x), g)
    dt = model.readout.dt
    g = to_nir(model, (2, 34, 34), euler_dt=dt, sum_pooling=True)  # Norse imports SumPool2d, not AvgPool2d
    _check_peer(model, x, run_norse(g, x, dt), g)


def test_small_conv_model_runs_identically_in_snntorch_and_norse(tmp_path):
    layers, x = _small_conv_model()
    g = to_nir(layers, (2, 16, 16), euler_dt=SNNTORCH_DT)
    write_graph(g, tmp_path / "small.nir")
    g = read_graph(tmp_path / "small.nir")
    _check_peer(layers, x, run_snntorch(g, x), g)
    g = to_nir(layers, (2, 16, 16), euler_dt=2e-3)
    _check_peer(layers, x, run_norse(g, x, 2e-3), g)


def test_conv1d_model_round_trips_and_runs_identically_in_snntorch(tmp_path):
    """A 1-D convolution (e.g. over audio channels), per-channel gains included."""
    torch.manual_seed(1)
    neuron = CubaLIFModel(tau_mem=10e-3, tau_syn_e=4e-3, t_ref=0.0, v_reset=CubaLIFModel().v_rest)
    layers = [snn.Lift(torch.nn.Conv1d(3, 6, 5, stride=2, padding=2)), snn.CubaLIF(neuron, dt=1e-3),
              snn.Lift(torch.nn.Flatten()), snn.Lift(torch.nn.Linear(6 * 16, 4)), snn.LI(neuron, dt=1e-3)]
    with torch.no_grad():
        layers[0].module.weight.mul_(8.0)
    x = (torch.rand(2, 30, 3, 32, generator=torch.Generator().manual_seed(3)) < 0.2).float().numpy()
    g = read_graph(write_graph(to_nir(layers, (3, 32), euler_dt=SNNTORCH_DT), tmp_path / "c1.nir"))
    assert isinstance(g.nodes["0_conv1d"], nir.Conv1d)
    _check_peer(layers, x, run_snntorch(g, x), g)
    back = from_nir(g)
    for a, b in zip(layers, back):
        for k, v in a.state_dict().items():
            assert torch.equal(v, b.state_dict()[k])
    node = g.nodes["1_cubalif"]  # a graph from elsewhere: a per-channel input scale goes into the conv weights
    node.metadata = {}
    node.w_in = node.w_in * np.arange(1, 7, dtype=float)[:, None]
    scaled = from_nir(g, euler_dt=SNNTORCH_DT)
    ratio = (scaled[0].module.weight / layers[0].module.weight).flatten(1)
    torch.testing.assert_close(ratio, torch.arange(1, 7, dtype=ratio.dtype)[:, None].expand_as(ratio))


def test_exact_discretisation_is_the_continuous_model():
    """Written exact, a CuBa-LIF node is NIR's ODE in neurosim's time constants, and
    neurosim's step is its exact solution: an impulse at the step's start, the membrane at
    its end (checked against scipy's ODE solver)."""
    from scipy.integrate import solve_ivp

    neuron = CubaLIFModel(tau_mem=20e-3, tau_syn_e=5e-3, t_ref=0.0, v_reset=CubaLIFModel().v_rest)
    layers = [snn.Lift(torch.nn.Linear(1, 1, bias=False)), snn.LI(neuron, dt=1e-3)]
    with torch.no_grad():
        layers[0].module.weight.fill_(1.0)
    node = to_nir(layers, (1,)).nodes["1_li"]
    assert node.tau_mem[0] == neuron.tau_mem and node.tau_syn[0] == neuron.tau_syn_e
    tau_syn, tau_mem, r, w_in = (float(getattr(node, f)[0]) for f in ("tau_syn", "tau_mem", "r", "w_in"))
    # one impulse of weight 1 at t = 0: I jumps by w_in / tau_syn
    sol = solve_ivp(lambda t, y: [-y[0] / tau_syn, (-y[1] + r * y[0]) / tau_mem], (0, 10e-3), [w_in / tau_syn, 0.0],
                    t_eval=np.arange(1, 11) * 1e-3, rtol=1e-10, atol=1e-12)
    x = torch.zeros(10, 1, 1)
    x[0] = 1.0
    with torch.no_grad():
        u = snn.Sequential(*layers)(x)[:, 0, 0].numpy()
    np.testing.assert_allclose(u, sol.y[1], rtol=1e-5)


def _settings(module) -> dict:
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # noqa: E731
    keys = ("kernel_size", "stride", "padding", "dilation", "groups", "divisor_override", "ceil_mode", "start_dim", "end_dim",
            "in_features", "out_features", "in_channels", "out_channels")
    return {k: pair(getattr(module, k)) if k in ("kernel_size", "stride", "padding", "dilation") else getattr(module, k)
            for k in keys if hasattr(module, k)}


@pytest.mark.parametrize("euler_dt", [None, SNNTORCH_DT, 1.55e-2])
def test_neurosim_nir_neurosim_is_lossless(nmnist, tmp_path, euler_dt):
    model, x = nmnist
    g = to_nir(model, (2, 34, 34), euler_dt=euler_dt)
    back = list(from_nir(write_graph(g, tmp_path / "m.nir")))
    layers = model.layers()
    assert [type(a) for a in layers] == [type(b) for b in back]
    for a, b in zip(layers, back):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k
        if isinstance(a, snn.Lift):
            assert type(a.module) is type(b.module) and _settings(a.module) == _settings(b.module)
        else:
            assert a.neuron == b.neuron and a.dt == b.dt and a.coef == b.coef and a.synaptic == b.synaptic
            assert (a.surrogate, a.slope, a.detach_reset) == (b.surrogate, b.slope, b.detach_reset)
    # without neurosim's metadata the NIR parameters alone give the same per-step dynamics
    for node in g.nodes.values():
        node.metadata = {}
    bare = list(from_nir(g, dt=model.readout.dt, euler_dt=euler_dt))
    for a, b in zip(layers, bare):
        if isinstance(a, snn.Lift):
            for k, v in a.state_dict().items():
                torch.testing.assert_close(b.state_dict()[k], v, rtol=1e-6, atol=0)
        else:
            np.testing.assert_allclose(b.coef, a.coef, rtol=1e-12, atol=1e-15)
    ours = _neuron_outputs(model, x[:2])
    theirs = _neuron_outputs(bare, x[:2])
    for o, t in zip(ours[:-1], theirs[:-1]):
        assert spike_agreement(o, t)["identical"] >= 0.99


def _core_network():
    from neurosim.network import Network, PoissonSource, Population, Projection, SpikeSource

    rng = np.random.default_rng(3)
    exc = CubaLIFModel(tau_syn_e=5e-3, tau_syn_i=5e-3, t_ref=2e-3)
    readout = CubaLIFModel(tau_mem=30e-3, tau_syn_e=8e-3, t_ref=0.0, c_mem=200e-12)  # tau_syn_i unused, 10 ms
    src = SpikeSource("input", 30, rng.uniform(0, 0.2, 600), rng.integers(0, 30, 600))
    noise = PoissonSource("noise", 10, rng.uniform(5, 40, 10))
    pops = [Population("hidden", exc, 40, initial={"v": rng.uniform(-70e-3, -55e-3, 40)}), Population("out", readout, 8)]
    i, j = rng.integers(0, 30, 300), rng.integers(0, 40, 300)
    keep = np.unique(i * 40 + j, return_index=True)[1]
    projs = [Projection.from_pairs("input", "hidden", i[keep], j[keep], rng.uniform(0.2e-9, 1.5e-9, keep.size), 30,
                                   delays=(rng.integers(1, 6, keep.size) - 1) * 1e-4, name="in"),
             Projection.from_dense("noise", "hidden", rng.uniform(0, 0.5e-9, (10, 40)) * (rng.random((10, 40)) < 0.3),
                                   delays=2e-4, name="noise"),
             Projection.from_dense("hidden", "hidden", -rng.uniform(0, 1e-9, (40, 40)) * (rng.random((40, 40)) < 0.1) * (1 - np.eye(40)),
                                   target="inh", name="recurrent"),
             Projection.from_dense("hidden", "out", rng.uniform(-0.5e-9, 2e-9, (40, 8)), delays=1e-4, name="readout")]
    return Network(pops, [src, noise], projs)


def test_core_network_round_trip_is_lossless_and_runs_the_same(tmp_path):
    from neurosim import Simulator, SpikeMonitor

    net = _core_network()
    path = write_graph(network_to_nir(net, 1e-4), tmp_path / "net.nir")
    back = network_from_nir(path, sources={"input": net.sources[0]})
    for a, b in zip(net.populations, back.populations):
        assert (a.name, a.model, a.size) == (b.name, b.model, b.size)
        assert a.initial.keys() == b.initial.keys() and all(np.array_equal(a.initial[k], b.initial[k]) for k in a.initial)
    assert isinstance(back.sources[1], type(net.sources[1])) and np.array_equal(back.sources[1].rate, net.sources[1].rate)
    for a, b in zip(net.projections, back.projections):
        assert (a.name, a.pre, a.post, a.target) == (b.name, b.pre, b.post, b.target)
        for f in ("indptr", "indices", "weights"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), (a.name, f)
        np.testing.assert_allclose(b.delays, a.delays, rtol=1e-12, atol=0)  # seconds; the same steps
    mons = [SpikeMonitor("hidden"), SpikeMonitor("out")]
    r1 = Simulator(net, dt=1e-4, seed=1).run(0.25, mons)
    r2 = Simulator(back, dt=1e-4, seed=1).run(0.25, mons)
    for pop in ("hidden", "out"):
        assert r1.spikes[pop].times.size > 20
        assert np.array_equal(r1.spikes[pop].times, r2.spikes[pop].times) and np.array_equal(r1.spikes[pop].ids, r2.spikes[pop].ids)


def test_cuba_round_trip_and_what_nir_alone_keeps(tmp_path):
    """CUBA's 5 ms excitatory and 10 ms inhibitory currents do not fit one NIR CubaLIF:
    they are written as two LI synaptic currents into a LIF membrane and read back as one
    population. Without neurosim's metadata the NIR parameters alone give back every
    weight and parameter except the refractory period, which NIR cannot express."""
    import dataclasses

    from circuits.reference.cuba import cuba_network
    from neurosim import Simulator, SpikeMonitor
    from neurosim.network import Population

    net = cuba_network(400, seed=0)
    g = network_to_nir(net, 1e-4)
    assert {type(g.nodes[k]).__name__ for k in ("cuba", "cuba_exc", "cuba_inh")} == {"LIF", "LI"}
    back = network_from_nir(write_graph(g, tmp_path / "cuba.nir"))
    (a,), (b,) = net.populations, back.populations
    assert a.model == b.model and np.array_equal(a.initial["v"], b.initial["v"])
    for pa, pb in zip(net.projections, back.projections):
        assert pa.target == pb.target and pa.weights.dtype == pb.weights.dtype
        assert all(np.array_equal(getattr(pa, f), getattr(pb, f)) for f in ("indptr", "indices", "weights", "delays"))
    run = lambda n: Simulator(n, dt=1e-4).run(0.2, [SpikeMonitor(n.populations[0].name)]).spikes[n.populations[0].name]  # noqa: E731
    ref = run(net)
    assert ref.times.size > 1000 and np.array_equal(ref.times, run(back).times) and np.array_equal(ref.ids, run(back).ids)
    for node in g.nodes.values():
        node.metadata = {}
    bare = network_from_nir(g, dt=1e-4)
    (c,) = bare.populations
    assert c.model == a.model.replace(t_ref=0.0)
    for pa, pc in zip(net.projections, bare.projections):
        assert pa.target == pc.target and np.array_equal(pa.weights, pc.weights) and np.array_equal(pa.indices, pc.indices)
    restored = dataclasses.replace(bare, populations=[Population(c.name, c.model.replace(t_ref=a.model.t_ref), c.size, a.initial)])
    again = run(restored)
    assert np.array_equal(ref.times, again.times) and np.array_equal(ref.ids, again.ids)


def test_snntorch_exported_graph_runs_identically_in_neurosim():
    import snntorch
    import snntorch.utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    lif1 = snntorch.Synaptic(alpha=torch.full((12,), 0.8), beta=torch.full((12,), 0.9), threshold=torch.full((12,), 1.0),
                             reset_mechanism="zero", reset_delay=False, init_hidden=True)
    lif2 = snntorch.Leaky(beta=torch.full((5,), 0.85), threshold=torch.full((5,), 0.7), reset_mechanism="zero",
                          reset_delay=False, init_hidden=True)
    net = torch.nn.Sequential(torch.nn.Linear(20, 12), lif1, torch.nn.Linear(12, 5), lif2)
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[2].weight.mul_(2.0)
    g = export_to_nir(net, torch.zeros(1, 20), ignore_dims=[0])
    x = (torch.rand(60, 3, 20, generator=torch.Generator().manual_seed(1)) < 0.2).float()
    rec = {1: [], 3: []}
    hooks = [net[k].register_forward_hook(lambda m, i, o, k=k: rec[k].append(o.detach().clone())) for k in rec]
    with torch.no_grad():
        snntorch.utils.reset(net)
        for t in range(x.shape[0]):
            net(x[t])
    for hd in hooks:
        hd.remove()
    theirs = [torch.stack(rec[k]).transpose(0, 1).numpy() for k in (1, 3)]
    model = from_nir(g, euler_dt=SNNTORCH_DT)
    assert [type(m) for m in model if not isinstance(m, snn.Lift)] == [snn.CubaLIF, snn.LIF]
    with torch.no_grad():
        outs = model.outputs(x)
    ours = [outs[1].transpose(0, 1).numpy(), outs[3].transpose(0, 1).numpy()]
    for o, t in zip(ours, theirs):
        agree = spike_agreement(o, t)
        assert agree["n_theirs"] > 30 and agree["identical"] >= 0.99 and agree["within_one_step"] >= 0.99, agree


def test_norse_exported_graph_runs_identically_in_neurosim():
    import norse.torch as norse

    torch.manual_seed(0)
    dt = 1e-3
    net = norse.SequentialState(
        torch.nn.Linear(20, 12),
        norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.full((12,), 1 / 0.02), v_th=torch.linspace(0.1, 0.2, 12),
                                                v_leak=torch.zeros(12)), dt=dt),
        torch.nn.Linear(12, 5),
        norse.LIBoxCell(norse.LIBoxParameters(tau_mem_inv=torch.full((5,), 1 / 0.03), v_leak=torch.zeros(5)), dt=dt))
    with torch.no_grad():
        net[0].weight.mul_(5.0)
    # Norse 1.1's to_nir writes tau = dt / tau_mem_inv (dt times the time constant): with
    # dt=1.0 it writes the time constants in seconds; the cells step dt
    g = norse.to_nir(net, torch.zeros(1, 20), dt=1.0)
    np.testing.assert_allclose(g.nodes["1"].tau, 0.02)
    x = (torch.rand(80, 3, 20, generator=torch.Generator().manual_seed(2)) < 0.2).float()
    rec = []
    hook = net[1].register_forward_hook(lambda m, i, o: rec.append(o[0].detach().clone()))
    with torch.no_grad():
        state, vs = None, []
        for t in range(x.shape[0]):
            v, state = net(x[t], state)
            vs.append(v)
    hook.remove()
    model = from_nir(g, euler_dt=dt)
    assert [type(m) for m in model if not isinstance(m, snn.Lift)] == [snn.LIF, snn.LI]
    assert not model[-1].synaptic
    with torch.no_grad():
        outs = model.outputs(x)
    agree = spike_agreement(outs[1].transpose(0, 1).numpy(), torch.stack(rec).transpose(0, 1).numpy())
    assert agree["n_theirs"] > 30 and agree["identical"] >= 0.99, agree
    torch.testing.assert_close(outs[-1], torch.stack(vs), rtol=1e-4, atol=1e-5)


# --- errors ---------------------------------------------------------------------------------

def _graph(*nodes):
    names = ["input"] + [f"n{k}" for k in range(len(nodes) - 2)] + ["output"]
    return nir.NIRGraph(nodes=dict(zip(names, nodes)), edges=list(zip(names[:-1], names[1:])))


def _cuba(n, **kw):
    p = dict(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 20e-3), r=np.ones(n), v_leak=np.zeros(n),
             v_threshold=np.ones(n), v_reset=np.zeros(n), w_in=np.full(n, 5e-3))
    p.update(kw)
    return nir.CubaLIF(**p)


def test_unsupported_nodes_are_named():
    inp, out = nir.Input(input_type=np.array([3])), nir.Output(output_type=np.array([3]))
    lin = nir.Linear(weight=np.eye(3))
    if_graph = _graph(inp, lin, nir.IF(r=np.ones(3), v_threshold=np.ones(3), v_reset=np.zeros(3)), out)
    assert type(from_nir(if_graph, dt=1e-3)[-1]).__name__ == "IF"  # torch layers take it (tests/test_integrate_fire.py)
    assert network_from_nir(if_graph, dt=1e-3).populations[0].model.tau_syn_e == 0  # delta synapses (test_nir_core_conv.py)
    with pytest.raises(NIRConversionError, match=r"'n1' \(IF\).*v_reset must lie below v_threshold"):
        from_nir(_graph(inp, lin, nir.IF(r=np.ones(3), v_threshold=np.ones(3), v_reset=np.full(3, 2.0)), out), dt=1e-3)
    with pytest.raises(NIRConversionError, match=r"'n0' \(Delay\): delay must be whole steps of dt = 0.001 s"):
        from_nir(_graph(inp, nir.Delay(delay=np.full(3, 1.5e-3)), lin, _cuba(3), out), dt=1e-3)
    with pytest.raises(NIRConversionError, match=r"'n0' \(Delay\): give the step"):
        from_nir(_graph(inp, nir.Delay(delay=np.full(3, 1e-3)), lin, _cuba(3), out))
    with pytest.raises(NIRConversionError, match=r"'n1' \(Threshold\): threshold must be > 0 for every neuron"):
        network_from_nir(_graph(inp, lin, nir.Threshold(threshold=np.array([1.0, 0.0, 1.0])), out), dt=1e-3)
    with pytest.raises(NIRConversionError, match="tau_mem differs between neurons"):
        from_nir(_graph(inp, lin, _cuba(3, tau_mem=np.array([0.01, 0.02, 0.02])), out), dt=1e-3)
    with pytest.raises(NIRConversionError, match="not longer than the Euler step"):
        from_nir(_graph(inp, lin, _cuba(3), out), euler_dt=5e-3)
    with pytest.raises(NIRConversionError, match="give the step"):
        from_nir(_graph(inp, lin, _cuba(3), out))
    with pytest.raises(NIRConversionError, match="no Affine, Linear or Conv2d before it"):
        from_nir(_graph(inp, _cuba(3, r=np.full(3, 2.0)), out), dt=1e-3)
    branch = nir.NIRGraph(nodes={"input": inp, "a": lin, "b": nir.Linear(weight=np.eye(3)), "c": _cuba(3), "output": out},
                          edges=[("input", "a"), ("input", "b"), ("a", "c"), ("b", "c"), ("c", "output")])
    joined = from_nir(branch, dt=1e-3)  # a branch and a join: the two weights' outputs are summed
    assert isinstance(joined, snn.Graph) and not joined.recurrent
    x = torch.rand(6, 2, 3)
    with torch.no_grad():
        ref = snn.Sequential(snn.Lift(torch.nn.Linear(3, 3, bias=False)), snn.CubaLIF(from_nir(_graph(inp, lin, _cuba(3), out),
                                                                                               dt=1e-3)[1].neuron, dt=1e-3))
        ref[0].module.weight.copy_(torch.eye(3) * 2)
        torch.testing.assert_close(joined(x), ref(x))
    two_inputs = nir.NIRGraph(nodes={"i1": inp, "i2": nir.Input(input_type=np.array([3])), "c": _cuba(3), "output": out},
                              edges=[("i1", "c"), ("i2", "c"), ("c", "output")], type_check=False)
    with pytest.raises(NIRConversionError, match="the graph has 2 Input nodes"):
        from_nir(two_inputs, dt=1e-3)
    nested = nir.NIRGraph(nodes={"input": inp, "rnn": _graph(inp, lin, out), "output": out},
                          edges=[("input", "rnn"), ("rnn", "output")])
    with pytest.raises(NIRConversionError, match="no neuron node"):  # inlined: input -> rnn.n0 (Linear) -> output
        from_nir(nested, dt=1e-3)
    conv1d = nir.Conv1d(input_shape=4, weight=np.array([[[1.0, 2.0, 3.0]]]), stride=1, padding=1, dilation=1, groups=1,
                        bias=np.zeros(1))
    net = network_from_nir(nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([1, 4])), "n0": conv1d, "n1": _cuba(4),
                                               "output": out}, edges=[("input", "n0"), ("n0", "n1"), ("n1", "output")],
                                        type_check=False), dt=1e-3)
    dense = np.zeros((4, 4))
    np.add.at(dense, (net.projections[0].indices, net.projections[0].pre_indices()), net.projections[0].weights)
    scale = dense[0, 0] / 2.0  # the population's input scale (A per unit)
    np.testing.assert_allclose(dense / scale, [[2, 3, 0, 0], [1, 2, 3, 0], [0, 1, 2, 3], [0, 0, 1, 2]], rtol=1e-12)


def test_scale_nodes_fold_into_the_weights_and_core_biases_become_bias_currents():
    inp, out = nir.Input(input_type=np.array([3])), nir.Output(output_type=np.array([3]))
    w = np.arange(1.0, 10.0).reshape(3, 3)
    model = from_nir(_graph(inp, nir.Linear(weight=w), nir.Scale(scale=np.array([2.0, 3.0, 4.0])), _cuba(3), out), dt=1e-3)
    assert [type(m) for m in model] == [snn.Lift, snn.CubaLIF]
    # the exact reading: the input steps the current by w_in / tau_syn = 1 per unit, r = 1, threshold 1
    np.testing.assert_allclose(model[0].module.weight.detach().numpy(), w * np.array([2.0, 3.0, 4.0])[:, None], rtol=1e-6)
    biased = network_from_nir(_graph(inp, nir.Affine(weight=w, bias=np.ones(3)), _cuba(3), out), dt=1e-3)
    (bias,) = biased.inputs  # constant: what Loihi's bias register and PyNN's i_offset take (tests/test_nir_braille.py: exact)
    assert bias.constant and bias.target == "n1" and np.all(bias.amplitude > 0)
    assert np.all(biased.populations[0].initial["i_e"] < 0)  # the synaptic current builds up from rest


def test_models_nir_cannot_express_are_named():
    from neurosim import CobaLIF
    from neurosim.network import GapJunctions, Network, Population

    with pytest.raises(NIRConversionError, match=r"population 'p' is CobaLIF"):
        network_to_nir(Network([Population("p", CobaLIF(), 3)]), 1e-4)
    pop = Population("p", CubaLIFModel(), 3)
    with pytest.raises(NIRConversionError, match="gap junctions: NIR has no electrical synapses"):
        network_to_nir(Network([pop], gap_junctions=[GapJunctions("p", "p", [0], [1], 1e-9)]), 1e-4)
    refractory = [snn.Lift(torch.nn.Linear(2, 2)), snn.CubaLIF(CubaLIFModel(t_ref=5e-3), dt=1e-3)]
    with pytest.raises(NIRConversionError, match=r"layer 1 \(CubaLIF\): t_ref = 0.005 s.*no refractory period"):
        to_nir(refractory, (2,))
    with pytest.raises(NIRConversionError, match=r"layer 0 \(Lift\): groups=2; nir 1.0.8"):
        to_nir([snn.Lift(torch.nn.Conv2d(2, 4, 3, groups=2)), snn.CubaLIF(dt=1e-3)], (2, 8, 8))
    with pytest.raises(NIRConversionError, match=r"layer 1 \(ReLU\): cannot be written"):
        to_nir([snn.Lift(torch.nn.Linear(2, 2)), torch.nn.ReLU()], (2,))


def test_malformed_files_give_clear_errors(tmp_path):
    with pytest.raises(NIRFileError, match="no such NIR file"):
        read_graph(tmp_path / "missing.nir")
    junk = tmp_path / "junk.nir"
    junk.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(NIRFileError, match="junk.nir: not a readable NIR graph"):
        from_nir(junk, dt=1e-3)
    layers, _ = _small_conv_model()
    good = write_graph(to_nir(layers, (2, 16, 16)), tmp_path / "good.nir")
    data = good.read_bytes()
    cut = tmp_path / "cut.nir"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(NIRFileError, match="cut.nir: not a readable NIR graph"):
        from_nir(cut)
    import h5py

    broken = tmp_path / "broken.nir"
    broken.write_bytes(data)
    with h5py.File(broken, "r+") as f:
        del f["node"]["nodes"]["1_cubalif"]["tau_mem"]
    with pytest.raises(NIRFileError, match="broken.nir"):
        from_nir(broken)
    foreign = tmp_path / "foreign.nir"  # an HDF5 file that is not a NIR graph
    with h5py.File(foreign, "w") as f:
        f["gcamp/trace_array"] = np.zeros((5, 3))
    for read in (lambda p: from_nir(p, dt=1e-3), lambda p: network_from_nir(p, dt=1e-3)):
        with pytest.raises(NIRFileError, match=r"foreign.nir: not a NIR graph \(the HDF5 file has no 'node' group\)"):
            read(foreign)
    alien = tmp_path / "alien.nir"  # a node type NIR 1.x does not define, inside an otherwise good file
    alien.write_bytes(data)
    with h5py.File(alien, "r+") as f:
        del f["node"]["nodes"]["1_cubalif"]["type"]
        f["node"]["nodes"]["1_cubalif"]["type"] = np.bytes_("Hodgkin")
    for read in (read_graph, lambda p: network_from_nir(p, dt=1e-3)):
        with pytest.raises(NIRFileError, match=r"alien.nir: node 'node/nodes/1_cubalif' has type 'Hodgkin', which NIR 1.x does not define"):
            read(alien)


def test_malformed_graphs_name_the_node():
    """Criterion 5 of the NIR issue: missing nodes, dangling edges, shape mismatches and NaN
    weights give errors naming the node, in both import paths; a non-NIR HDF5 file and
    truncated files: test_malformed_files_give_clear_errors."""
    def lif(n):
        return nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))

    def graph(weight, neuron, extra_edge=None):
        edges = [("input", "a"), ("a", "c"), ("c", "output")] + ([extra_edge] if extra_edge else [])
        return nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([3])), "a": nir.Linear(weight=weight), "c": neuron,
                                   "output": nir.Output(output_type=np.array([2]))}, edges=edges, type_check=False)

    ok = np.ones((2, 3))
    for build in (lambda g: from_nir(g, dt=1e-3), lambda g: network_from_nir(g, dt=1e-3)):
        with pytest.raises(NIRConversionError, match=r"edge \('c', 'zzz'\) names an unknown node"):
            build(graph(ok, _cuba(2), ("c", "zzz")))
        with pytest.raises(NIRConversionError, match=r"node 'a' \(Linear\): weight has 6 NaN or infinite values"):
            build(graph(np.full((2, 3), np.nan), _cuba(2)))
        with pytest.raises(NIRConversionError, match=r"node 'a' \(Linear\)"):
            build(graph(np.ones((2, 4)), _cuba(2)))
    with pytest.raises(NIRConversionError, match=r"node 'c' \(LIF\): declares 5 neurons but receives 2 values"):
        from_nir(graph(ok, lif(5)), dt=1e-3)
    with pytest.raises(NIRConversionError, match=r"node 'c' \(CubaLIF\): tau_mem has 1 NaN"):
        from_nir(graph(ok, _cuba(2, tau_mem=np.array([0.01, np.nan]))), dt=1e-3)
    li = nir.CubaLIF(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 0.02), r=np.ones(2), v_leak=np.zeros(2),
                     v_threshold=np.full(2, np.inf), v_reset=np.zeros(2), w_in=np.full(2, 5e-3))
    assert type(from_nir(graph(ok, li), dt=1e-3)[-1]).__name__ == "LI"  # an infinite threshold is a readout
