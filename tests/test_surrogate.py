"""Surrogate gradients (issue #4, criterion 2): finite-difference checks of the smooth
parts, the Numba BPTT against autograd through the step function, and a single layer that
learns a spike-timing target."""
import math

import numpy as np
import pytest
import torch

import neurosim.nn as snn
from neurosim.nn.functional import LIFCoefficients, LIFState, lif_sequence, lif_step

# smooth primitives whose derivatives are the surrogates
PRIMITIVES = {
    "superspike": lambda x, k: x / (1 + k * x.abs()),
    "atan": lambda x, k: torch.atan(math.pi * k * x / 2) / math.pi,
    "triangle": lambda x, k: torch.where(x.abs() < 1 / k, k * x - k * k * x * x.abs() / 2, torch.sign(x) / 2),
}


@pytest.mark.parametrize("kind", sorted(PRIMITIVES))
def test_surrogate_is_the_derivative_of_a_smooth_function(kind):
    k = 4.0
    x = torch.linspace(-1, 1, 200, dtype=torch.float64)  # avoids the triangle's kinks at +-1/k
    h = 1e-6
    fd = (PRIMITIVES[kind](x + h, k) - PRIMITIVES[kind](x - h, k)) / (2 * h)
    np.testing.assert_allclose(snn.surrogate_grad(x, kind, k).numpy(), fd.numpy(), rtol=1e-5, atol=1e-6)
    # and it is what the spike function's backward returns; the forward is the step
    xr = x.clone().requires_grad_(True)
    s = snn.spike(xr, kind, k)
    s.sum().backward()
    np.testing.assert_allclose(xr.grad.numpy(), snn.surrogate_grad(x, kind, k).numpy())
    assert torch.equal(s.detach(), (x > 0).double())


@pytest.mark.parametrize("mode", ["integrator", "detached_reset"])
def test_bptt_passes_gradcheck_on_the_smooth_part(mode):
    """The membrane recurrence itself is smooth, and finite differences must agree with
    BPTT there: for the leaky integrator (no threshold) and for sub-threshold LIF with the
    reset path detached. (With the reset path attached, the surrogate passes gradient
    through a reset that never happens: that is the surrogate model, not a derivative.)"""
    torch.manual_seed(0)
    co = LIFCoefficients(a_e=0.8, a_m=0.9, k=0.1, u_reset=0.0, ref_steps=0)
    x = (torch.rand(15, 2, 3, dtype=torch.float64) * 0.2).requires_grad_(True)
    state = LIFState(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.int32))

    def f(inp):
        s, m, _ = lif_sequence(inp, state, co, detach_reset=True, threshold_on=(mode != "integrator"))
        assert s.sum() == 0
        return m
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", ["superspike", "atan", "triangle"])
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("ref_steps", [0, 3])
@pytest.mark.parametrize("subtract", [False, True], ids=["hard_reset", "subtractive_reset"])
def test_numba_bptt_equals_autograd_through_steps(kind, detach_reset, ref_steps, subtract):
    torch.manual_seed(0)
    co = LIFCoefficients(a_e=0.85, a_m=0.93, k=0.3, u_reset=-0.2, ref_steps=ref_steps, subtract=subtract)
    x = (torch.rand(60, 4, 7, dtype=torch.float64) * 0.9).requires_grad_(True)
    w = torch.randn(60, 4, 7, dtype=torch.float64)
    zeros = torch.zeros(4, 7, dtype=torch.float64)
    state = LIFState(zeros, zeros, torch.zeros(4, 7, dtype=torch.int32))
    s, m, _ = lif_sequence(x, state, co, kind, 5.0, detach_reset)
    assert s.sum() > 20, "the comparison needs spikes"
    ((s * w).sum() + (m * w).sum() * 0.1).backward()
    g_fast = x.grad.clone()
    x.grad = None
    st = state
    loss = 0
    for t in range(60):
        st_s, st_m, st = lif_step(x[t], st, co, kind, 5.0, detach_reset)
        loss = loss + (st_s * w[t]).sum() + (st_m * w[t]).sum() * 0.1
    loss.backward()
    np.testing.assert_allclose(g_fast.numpy(), x.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_single_layer_learns_spike_timing():
    """20 output neurons learn to fire at given times (each neuron its own target time)
    from a fixed random input pattern, with a van Rossum-style loss."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n_in, n_out, steps = 60, 20, 100
    x_in = torch.from_numpy((rng.random((steps, 1, n_in)) < 0.08).astype(np.float32))
    targets = torch.from_numpy(rng.integers(25, 90, n_out))
    target = torch.zeros(steps, 1, n_out)
    target[targets, 0, torch.arange(n_out)] = 1.0
    lin = torch.nn.Linear(n_in, n_out, bias=False)
    # a gentle start: too much initial firing plus a large step silences every neuron
    torch.nn.init.normal_(lin.weight, 0.1, 0.2)
    lif = snn.CubaLIF(dt=1e-3, slope=5.0)
    opt = torch.optim.Adam(lin.parameters(), lr=0.01)
    kernel = torch.exp(-torch.arange(20.0) / 5.0)

    def smooth(s):  # causal exponential filter over time
        out = torch.zeros_like(s)
        for lag in range(20):
            out[lag:] = out[lag:] + kernel[lag] * s[: steps - lag]
        return out

    losses = []
    for _ in range(300):
        s, _ = lif(lin(x_in))
        loss = ((smooth(s) - smooth(target)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        s, _ = lif(lin(x_in))
    first = [int(torch.nonzero(s[:, 0, j])[0]) if s[:, 0, j].any() else -100 for j in range(n_out)]
    hits = sum(abs(f - int(t)) <= 2 and int(s[:, 0, j].sum()) == 1 for j, (f, t) in enumerate(zip(first, targets)))
    assert losses[-1] < 0.1 * losses[0]
    assert hits >= 18, f"only {hits}/20 neurons spike once within 2 steps of their target"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernels_over_several_tiles_equal_the_step_function(dtype):
    """Layers wider than a tile (``neurosim.nn.kernels.TILE`` neurons; each thread runs its
    block tile by tile): spikes, membrane and gradients as the per-step function gives them,
    neuron for neuron, with a tile boundary inside the batch."""
    from neurosim.nn.kernels import TILE

    torch.manual_seed(1)
    co = LIFCoefficients(a_e=0.6, a_m=0.8, k=0.5, u_reset=0.0, ref_steps=1, subtract=False)
    n = TILE + 777  # two samples: 2 TILE + 1554 neurons, the last tile partial
    x = (torch.rand(12, 2, n, dtype=dtype) * 1.5).requires_grad_(True)
    w = torch.randn(12, 2, n, dtype=dtype)
    zeros = torch.zeros(2, n, dtype=dtype)
    state = LIFState(zeros, zeros, torch.zeros(2, n, dtype=torch.int32))
    s, m, _ = lif_sequence(x, state, co, "superspike", 5.0)
    assert s[:, 1, -100:].sum() > 0, "the last tile needs spikes"
    ((s * w).sum() + (m * w).sum() * 0.1).backward()
    g_fast = x.grad.clone()
    x.grad = None
    st, loss, s_ref, m_ref = state, 0, [], []
    for t in range(12):
        st_s, st_m, st = lif_step(x[t], st, co, "superspike", 5.0)
        s_ref.append(st_s)
        m_ref.append(st_m)
        loss = loss + (st_s * w[t]).sum() + (st_m * w[t]).sum() * 0.1
    loss.backward()
    assert torch.equal(s.detach(), torch.stack(s_ref).detach())
    torch.testing.assert_close(m.detach(), torch.stack(m_ref).detach(), rtol=0, atol=1e-6 if dtype == torch.float32 else 1e-12)
    torch.testing.assert_close(g_fast, x.grad, rtol=1e-4 if dtype == torch.float32 else 1e-9, atol=1e-5 if dtype == torch.float32 else 1e-12)
