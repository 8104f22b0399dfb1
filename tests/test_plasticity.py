"""The core's Hebbian subspace rule (neurosim.plasticity): it finds the principal subspace
(principal angles against the known eigenvectors), the torch step and the Numba kernel
compute the same update, frozen rows stay put, on-line use in the simulator, errors."""
import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles

from neurosim import CubaLIF, Network, Population, Projection, Simulator, SpikeMonitor, SpikeSource
from neurosim.plasticity import (HebbianSubspace, SubspaceLearner, orthonormal_basis, project_out, subspace_response,
                                 subspace_step, subspace_step_inplace)


def _known_covariance(N=40, k=5, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((N, N)))
    eigenvalues = np.r_[np.linspace(10, 5, k), np.full(N - k, 0.3)]
    return Q[:, :k], np.linalg.cholesky((Q * eigenvalues) @ Q.T), rng


def test_the_rule_finds_the_principal_subspace_of_a_known_covariance():
    top, L, rng = _known_covariance()
    k, N = top.shape[1], top.shape[0]
    rule = HebbianSubspace(lr=0.003)  # the rule's stationary jitter grows with lr (0.01: ~5 degrees)
    H = torch.nn.init.orthogonal_(torch.empty(k, N, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    V = torch.zeros_like(H)
    start = np.degrees(subspace_angles(H.numpy().T, top)).max()
    for _ in range(800):
        x = torch.from_numpy(rng.standard_normal((64, N)) @ L.T)
        for _ in range(rule.iterations):
            H, V = subspace_step(H, V, x, rule)
    angles = np.degrees(subspace_angles(H.numpy().T, top))
    assert start > 45
    assert angles.max() < 5.0, angles
    # Oja's rule normalises the rows: H H^T -> I
    np.testing.assert_allclose(H.numpy() @ H.numpy().T, np.eye(k), atol=0.02)


@pytest.mark.parametrize("spiking", [False, True])
def test_numba_kernel_and_torch_step_agree(spiking):
    rng = np.random.default_rng(3)
    rule = HebbianSubspace(lr=0.02, momentum=0.8, clip=0.5, spiking=spiking, spiking_scale=2.0, spiking_steps=10)
    H = torch.from_numpy(rng.standard_normal((6, 15)) * 0.3)
    V = torch.from_numpy(rng.standard_normal((6, 15)) * 0.1)
    Hn, Vn = H.numpy().copy(), V.numpy().copy()
    for _ in range(20):
        x = torch.from_numpy(rng.standard_normal((9, 15)))
        H, V = subspace_step(H, V, x, rule, n_frozen=2)
        subspace_step_inplace(Hn, Vn, x.numpy(), rule.lr, rule.momentum, rule.clip, 2, spiking, rule.spiking_scale,
                              float(rule.spiking_steps))
    np.testing.assert_allclose(Hn, H.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(Vn, V.numpy(), rtol=0, atol=1e-12)


def test_frozen_rows_and_their_velocity_do_not_change():
    rng = np.random.default_rng(0)
    H0 = torch.from_numpy(rng.standard_normal((5, 8)))
    V0 = torch.from_numpy(rng.standard_normal((5, 8)))
    H, V = subspace_step(H0, V0, torch.from_numpy(rng.standard_normal((4, 8))), HebbianSubspace(), n_frozen=3)
    assert torch.equal(H[:3], H0[:3]) and torch.equal(V[:3], V0[:3])
    assert not torch.equal(H[3:], H0[3:])
    assert not torch.equal(H0, H)  # pure: inputs untouched, a new tensor comes back


def test_update_is_the_written_equation():
    rng = np.random.default_rng(1)
    H = torch.from_numpy(rng.standard_normal((3, 4)))
    V = torch.from_numpy(rng.standard_normal((3, 4)))
    x = torch.from_numpy(rng.standard_normal((5, 4)))
    rule = HebbianSubspace(lr=0.1, momentum=0.5, clip=100.0)
    H1, V1 = subspace_step(H, V, x, rule)
    dH = np.zeros((3, 4))
    for b in range(5):  # per sample: y (x - H^T y)^T
        y = H.numpy() @ x.numpy()[b]
        dH += np.outer(y, x.numpy()[b] - H.numpy().T @ y) / 5
    np.testing.assert_allclose(V1.numpy(), 0.5 * V.numpy() + 0.5 * dH, atol=1e-12)
    np.testing.assert_allclose(H1.numpy(), H.numpy() + 0.1 * V1.numpy(), atol=1e-12)


def test_spiking_responses_are_quantised_spike_counts():
    rule = HebbianSubspace(spiking=True, spiking_scale=20.0, spiking_steps=40)
    y = subspace_response(torch.eye(2, dtype=torch.float64), torch.tensor([[0.26, -31.0]], dtype=torch.float64), rule)
    assert y.tolist() == [[0.5, -20.0]]  # steps of 0.5, clipped at +-20


def test_basis_and_projection():
    rng = np.random.default_rng(2)
    H = torch.from_numpy(rng.standard_normal((3, 7)))
    Q = orthonormal_basis(torch.cat([H, H[:1] * 2]))  # a dependent row does not add a direction
    assert Q.shape == (3, 7)
    np.testing.assert_allclose((Q @ Q.T).numpy(), np.eye(3), atol=1e-12)
    inside = torch.from_numpy(rng.standard_normal((4, 3))) @ H
    assert project_out(inside, Q).abs().max() < 1e-12
    x = torch.from_numpy(rng.standard_normal((4, 7)))
    assert (project_out(x, Q) @ H.T).abs().max() < 1e-12
    assert orthonormal_basis(H[:0]).shape == (0, 7)


@pytest.mark.parametrize("bad, match", [(dict(lr=0.0), "lr"), (dict(momentum=1.0), "momentum"), (dict(clip=-1.0), "clip"),
                                        (dict(iterations=0), "iterations"), (dict(lr=float("nan")), "lr"),
                                        (dict(spiking=2), "spiking"), (dict(spiking_steps=1.5), "spiking_steps")])
def test_bad_rule_parameters_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        HebbianSubspace(**bad)


def test_shape_errors_are_clear():
    H, V = torch.zeros(2, 3), torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"H must be \(M, N\).*x \(B, N\)"):
        subspace_step(H, V, torch.zeros(4, 5), HebbianSubspace())
    with pytest.raises(ValueError, match="n_frozen"):
        subspace_step(H, V, torch.zeros(4, 3), HebbianSubspace(), n_frozen=3)
    with pytest.raises(ValueError, match="velocity"):
        subspace_step(H, torch.zeros(3, 3), torch.zeros(4, 3), HebbianSubspace())


def _assemblies(N=30, duration=4.0, seed=0):
    """Two cell assemblies (neurons 0-9 and 10-19) of LIF neurons that fire together at
    random times, and ten neurons with independent spikes: the activity's top-2 subspace is spanned by the
    assemblies' indicator vectors."""
    rng = np.random.default_rng(seed)
    times, ids = [], []
    for members, rate in ((np.arange(10), 20.0), (np.arange(10, 20), 15.0)):
        for t in np.sort(rng.uniform(0, duration, rng.poisson(rate * duration))):
            times.append(np.full(members.size, t))
            ids.append(members)
    for i in range(20, N):
        t = rng.uniform(0, duration, rng.poisson(5 * duration))
        times.append(t)
        ids.append(np.full(t.size, i))
    t, i = np.concatenate(times), np.concatenate(ids)
    o = np.argsort(t, kind="stable")
    # each input spike makes its LIF neuron fire: the population relays the assemblies
    return Network(populations=[Population("cells", CubaLIF(), N)],
                   sources=[SpikeSource("input", N, t[o], i[o])],
                   projections=[Projection.from_dense("input", "cells", np.eye(N) * 5e-9)])


def test_online_learner_in_the_simulator_finds_the_assemblies_and_matches_the_torch_rule():
    net = _assemblies()
    rule = HebbianSubspace(lr=0.05)
    learner = SubspaceLearner("cells", 2, rule, bin_width=5e-3, batch_bins=20, seed=4)
    sim = Simulator(learner.attach(net), dt=1e-3)
    H = learner.run(sim, 4.0)
    top = np.zeros((30, 2))
    top[:10, 0] = top[10:20, 1] = 1 / np.sqrt(10)
    assert np.degrees(subspace_angles(H.T, top)).max() < 10.0
    assert learner.batches(sim) == 40
    # it is a plastic projection like any other: read back, saved with the network
    np.testing.assert_array_equal(sim.weights("cells->subspace").reshape(30, 2).T, H)

    # the same windows through the torch step give the same H
    sim = Simulator(net, dt=1e-3)
    q, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((30, 2)))
    Ht, Vt = torch.from_numpy(q.T.copy()), torch.zeros(2, 30, dtype=torch.float64)
    for w in range(40):
        st = sim.run(0.1, SpikeMonitor("cells")).spikes["cells"]
        b = (np.round(st.times / 1e-3).astype(int) - w * 100) // 5
        x = np.zeros((20, 30))
        np.add.at(x, (b, st.ids), 1.0)
        for _ in range(rule.iterations):
            Ht, Vt = subspace_step(Ht, Vt, torch.from_numpy(x), rule)
    np.testing.assert_allclose(H, Ht.numpy(), atol=1e-10)


def test_online_learner_errors():
    net = _assemblies(duration=0.1)
    with pytest.raises(ValueError, match="no population or source named 'nope'"):
        SubspaceLearner("nope", 2).attach(net)
    with pytest.raises(ValueError, match="exceeds the size"):
        SubspaceLearner("cells", 31).attach(net)
    with pytest.raises(ValueError, match="shorter than the simulator's step"):
        Simulator(SubspaceLearner("cells", 2, bin_width=1e-4).attach(net), dt=1e-3)
    with pytest.raises(ValueError, match="build it from learner.attach"):
        SubspaceLearner("cells", 2).run(Simulator(net, dt=1e-3), 0.1)
    with pytest.raises(ValueError, match="n_components"):
        SubspaceLearner("cells", 0)


def test_subspace_rule_is_a_learning_rule_of_the_core(tmp_path):
    from neurosim.plasticity import SubspaceRule

    net = _assemblies(duration=0.2)
    learner = SubspaceLearner("cells", 2, HebbianSubspace(lr=0.05), bin_width=5e-3, batch_bins=4, seed=1)
    attached = learner.attach(net)
    attached.save(tmp_path / "net.npz")
    back = Network.load(tmp_path / "net.npz")
    assert back.projections[-1].plasticity == learner.rule
    sim = Simulator(back, dt=1e-3)
    sim.run(0.2)
    assert not np.allclose(learner.H(sim), Simulator(attached, dt=1e-3).weights("cells->subspace").reshape(30, 2).T)
    assert learner.rule.subspace() == HebbianSubspace(lr=0.05)
    with pytest.raises(ValueError, match="dense projection"):
        Projection.from_pairs("cells", "cells", [0, 1], [1, 0], 0.1, 30, plasticity=SubspaceRule())
    with pytest.raises(ValueError, match="momentum"):
        SubspaceRule(momentum=1.0)
