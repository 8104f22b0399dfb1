"""Network description: validation errors name the problem; save/load round-trips losslessly."""
import numpy as np
import pytest

from neurosim import (AdEx, CubaLIF, CurrentInjection, GapJunctions, GradedNeuron, Network, PoissonSource, Population,
                      Projection, SpikeSource)


DT = 1e-4  # the time step _rich_network's delays are whole numbers of (tests simulate it at this dt)


def _pop(name="a", n=10, model=None):
    return Population(name, model or CubaLIF(), n)


def _proj(pre="a", post="a", n=10, **kw):
    return Projection.from_dense(pre, post, np.eye(n, k=1) * 1e-12, **kw)


@pytest.mark.parametrize("build,match", [
    (lambda: Population("a", CubaLIF(), 0), "size"),
    (lambda: Population("", CubaLIF(), 3), "name"),
    (lambda: Population("a", "lif", 3), "model must be one of"),
    (lambda: Population("a", CubaLIF(), 3, {"x": 0.0}), "unknown state variable 'x'"),
    (lambda: Population("a", CubaLIF(), 3, {"v": np.zeros(4)}), r"shape \(4,\)"),
    (lambda: Population("a", CubaLIF(), 3, {"v": [0, np.nan, 0]}), "finite"),
    (lambda: Population("g", GradedNeuron(), 3, params={"g_leak": [1e-12, -1e-12, 1e-12]}), "GradedNeuron.g_leak"),
    (lambda: Population("g", GradedNeuron(), 3, params={"v_half": [0.0, 0.0]}), r"expected \(3,\)"),
    (lambda: Population("g", GradedNeuron(), 3, params={"tau": [0.0, 0.0, 0.0]}), "unknown parameter 'tau'"),
    (lambda: Population("a", CubaLIF(), 3, params={"v_th": [0.0, 0.0, 0.0]}), "graded models only"),
    (lambda: Projection("a", "b", [0, 1], [0], [np.nan], [1]), "weights contains nan"),
    (lambda: Projection("a", "b", [0, 2], [0], [1.0], [1]), "indptr"),
    (lambda: Projection("a", "b", [0, 2], [0, 1], [1.0], [1]), "weights has 1 entries"),
    (lambda: Projection("a", "b", [0, 1], [0], [1.0], [-1e-3]), "delays must be >= 0 s"),
    (lambda: Projection("a", "b", [0, 1], [0], [1.0], [1e-3, 2e-3]), "delays has 2 entries"),
    (lambda: Projection("a", "b", [0, 1], [0], [1.0], [np.inf]), r"delays \(s\) contains inf"),
    (lambda: Projection("a", "b", [0, 1], [0], [1.0], [1], target="gaba"), "target 'gaba' is unknown"),
    (lambda: Projection("a", "b", [0, 1], [0], [1.0], [1], target="graded"), "e_rev"),
    (lambda: Projection("a", "b", [0, 1], [0], [1.0], [1], target="exc", e_rev=0.0), "only for graded"),
    (lambda: Projection.from_dense("a", "b", np.ones(3)), "2-D"),
    (lambda: Projection.from_pairs("a", "b", [0, 5], [0, 1], 1.0, n_pre=3), "presynaptic index 5"),
    (lambda: GapJunctions("a", "a", [0], [0], [1e-9]), "itself"),
    (lambda: GapJunctions("a", "a", [0], [1], [-1e-9]), ">= 0"),
    (lambda: SpikeSource("s", 3, [0.1, 0.2], [0]), "times has 2 entries but ids has 1"),
    (lambda: SpikeSource("s", 3, [0.1], [3]), "id 3 out of range"),
    (lambda: SpikeSource("s", 3, [-0.1], [0]), ">= 0 s"),
    (lambda: PoissonSource("p", 3, -1.0), ">= 0 Hz"),
    (lambda: CurrentInjection("a", np.nan), "amplitude contains nan"),
    (lambda: CurrentInjection("a", 1e-12, start=0.5, stop=0.1), "start <= stop"),
    (lambda: CurrentInjection.from_array("a", np.ones(5), dt=0.0), "sample_dt"),
])
def test_invalid_parts(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("build,match", [
    (lambda: Network([]), "at least one Population"),
    (lambda: Network([_pop(), _pop()]), "duplicate population/source name 'a'"),
    (lambda: Network([_pop()], projections=[_proj(post="b")]), "unknown post population 'b'"),
    (lambda: Network([_pop()], projections=[_proj(pre="zz")]), "unknown pre 'zz'"),
    (lambda: Network([_pop(n=5)], projections=[_proj(n=10)]), "indptr has 11 entries"),
    (lambda: Network([_pop(n=10), _pop("b", 3)], projections=[_proj(post="b")]), "postsynaptic index 3 out of range"),
    (lambda: Network([_pop(model=GradedNeuron())], projections=[_proj()]), "graded"),
    (lambda: Network([_pop()], projections=[_proj(target="graded", e_rev=0.0)]), "graded -> graded"),
    (lambda: Network([_pop()], gap_junctions=[GapJunctions("a", "a", [0], [10], [1e-9])]), "index 10 out of range"),
    (lambda: Network([_pop()], gap_junctions=[GapJunctions("a", "q", [0], [1], [1e-9])]), "unknown population 'q'"),
    (lambda: Network([_pop()], inputs=[CurrentInjection("q", 1e-12)]), "unknown population 'q'"),
    (lambda: Network([_pop()], inputs=[CurrentInjection("a", 1e-12, neurons=[10])]), "neuron 10 out of range"),
    (lambda: Network([_pop()], inputs=[CurrentInjection("a", np.ones(3) * 1e-12)]), "amplitude has 3 values for 10 neurons"),
])
def test_invalid_networks(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def _rich_network():
    rng = np.random.default_rng(0)
    lif = Population("lif", CubaLIF(), 20, {"v": rng.uniform(-70e-3, -50e-3, 20)})
    adex = Population("adex", AdEx(t_ref=1e-3), 5)
    gr = Population("graded", GradedNeuron(v_half=-30e-3), 4, {"s": 0.1}, {"v_half": [-30e-3, -31e-3, -32e-3, -33e-3]})
    src = SpikeSource("spikes", 3, [0.01, 0.02, 0.005], [0, 2, 1])
    poi = PoissonSource("noise", 4, rng.uniform(1, 10, 4))
    w = rng.random((20, 20)) * (rng.random((20, 20)) < 0.3) * 1e-11
    projs = [
        Projection.from_dense("lif", "lif", w, delays=(rng.integers(1, 9, (20, 20)) - 1) * DT, name="rec"),
        Projection.from_dense("spikes", "adex", np.ones((3, 5)) * 1e-10, target="inh"),
        Projection.from_pairs("noise", "lif", [0, 1, 3], [4, 5, 6], np.float32([1e-11, 2e-11, 3e-11]), 4, np.array([1, 2, 3]) * DT),
        Projection.from_dense("graded", "graded", rng.random((4, 4)) * 1e-10, target="graded", e_rev=-48e-3),
    ]
    gaps = [GapJunctions("graded", "graded", [0, 1], [2, 3], [1e-10, 2e-10]), GapJunctions("lif", "adex", [0], [1], [1e-9])]
    inputs = [CurrentInjection("lif", 1e-10, neurons=[1, 2], start=0.01, stop=0.02),
              CurrentInjection.from_array("adex", rng.random((7, 5)) * 1e-10, dt=1e-3, start=0.005)]
    return Network([lif, adex, gr], [src, poi], projs, gaps, inputs)


def test_save_load_round_trip_compares_every_array(tmp_path):
    net = _rich_network()
    path = tmp_path / "net.npz"
    net.save(path)
    back = Network.load(path)
    assert [p.name for p in back.populations] == [p.name for p in net.populations]
    for a, b in zip(net.populations, back.populations):
        assert a.model == b.model and a.size == b.size
        for var in a.initial:
            np.testing.assert_array_equal(a.initial[var], b.initial[var])
        assert sorted(a.params) == sorted(b.params)
        for key in a.params:
            np.testing.assert_array_equal(a.params[key], b.params[key])
    for a, b in zip(net.sources, back.sources):
        assert type(a) is type(b) and a.name == b.name and a.size == b.size
        for attr in ("times", "ids", "rate"):
            if hasattr(a, attr):
                np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    for a, b in zip(net.projections, back.projections):
        assert (a.name, a.pre, a.post, a.target, a.e_rev) == (b.name, b.pre, b.post, b.target, b.e_rev)
        for attr in ("indptr", "indices", "weights", "delays"):
            x, y = getattr(a, attr), getattr(b, attr)
            assert x.dtype == y.dtype, attr
            np.testing.assert_array_equal(x, y)
    for a, b in zip(net.gap_junctions, back.gap_junctions):
        for attr in ("i", "j", "g"):
            np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    for a, b in zip(net.inputs, back.inputs):
        assert (a.target, a.start, a.stop, a.sample_dt, a.kind) == (b.target, b.start, b.stop, b.sample_dt, b.kind)
        np.testing.assert_array_equal(a.amplitude, b.amplitude)
        for attr in ("neurons", "values"):
            x, y = getattr(a, attr), getattr(b, attr)
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_array_equal(x, y)


def test_function_inputs_cannot_be_saved(tmp_path):
    net = Network([_pop()], inputs=[CurrentInjection.from_function("a", lambda t: 0 * t)])
    with pytest.raises(ValueError, match="cannot be saved"):
        net.save(tmp_path / "x.npz")
    assert not list(tmp_path.iterdir()), "a failed save must leave nothing behind"


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04truncated"])
def test_corrupt_network_file(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a readable neurosim network file"):
        Network.load(path)


def test_truncated_network_file(tmp_path):
    path = tmp_path / "net.npz"
    _rich_network().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable neurosim network file"):
        Network.load(path)


def test_csr_from_pairs_orders_synapses():
    pr = Projection.from_pairs("a", "b", [2, 0, 2, 1], [1, 3, 0, 2], [1.0, 2.0, 3.0, 4.0], n_pre=3, delays=[5e-3, 6e-3, 7e-3, 8e-3])
    np.testing.assert_array_equal(pr.indptr, [0, 1, 2, 4])
    np.testing.assert_array_equal(pr.indices, [3, 2, 0, 1])
    np.testing.assert_array_equal(pr.weights, [2.0, 4.0, 3.0, 1.0])
    np.testing.assert_array_equal(pr.delays, [6e-3, 8e-3, 7e-3, 5e-3])
    assert pr.delays.dtype == np.float64
    same = Projection.from_pairs("a", "b", [0, 1], [1, 0], 1.0, n_pre=2, delays=2e-3)
    assert same.delays.strides == (0,) and same.delays.tolist() == [2e-3, 2e-3]  # one value, held once


def test_a_format_1_file_loads_with_the_dt_it_was_made_for(tmp_path):
    """Files saved before delays were in seconds hold delays in steps: loaded with their dt,
    a delay of d steps becomes (d - 1) dt seconds, the same timing; without it, a clear
    message."""
    import json

    from neurosim import NetworkFileError

    net = _rich_network()
    net.save(tmp_path / "v2.npz")
    with np.load(tmp_path / "v2.npz") as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays.pop("__meta__")).decode())
    meta.update(version=1, max_delay_steps=16)
    for k, pr in enumerate(net.projections):  # as format 1 stored them: steps
        arrays[f"proj{k}_delays"] = np.round(np.asarray(pr.delays) / DT).astype(np.uint8) + 1
    with open(tmp_path / "v1.npz", "wb") as f:
        np.savez(f, __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    with pytest.raises(NetworkFileError, match=r"saved before delays were in seconds .* Network.load\(path, dt=...\)"):
        Network.load(tmp_path / "v1.npz")
    back = Network.load(tmp_path / "v1.npz", dt=DT)
    for a, b in zip(net.projections, back.projections):
        np.testing.assert_allclose(b.delays, a.delays, rtol=0, atol=1e-15)
