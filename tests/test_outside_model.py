"""A neuron model defined in this file only, as a user outside the package would write one
(docs/guide/extending.md, "Adding a neuron model"): a frozen dataclass of SI parameters with ``discretize``,
registered by its ``kind`` (``register_model``), and a Numba step kernel registered under the
same kind (``neuron_kernel``). Nothing in the package changes: the Simulator runs it (checked
against an independent loop), a Network using it saves and loads, and every backend's
``unsupported`` says, by name, that it cannot run it."""
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from neurosim import CurrentInjection, Network, Population, Projection, Simulator, SpikeMonitor, SpikeSource, StateMonitor
from neurosim.backend import backends
from neurosim.engine import registry
from neurosim.models import MODELS, NeuronModel, register_model
from neurosim.models.base import check_dt, check_positive

DT = 1e-4


@dataclass(frozen=True)
class QIF(NeuronModel):
    r"""Quadratic integrate-and-fire neuron (the normal form of a type-I neuron near its
    saddle-node bifurcation; Ermentrout & Kopell 1986, Latham et al. 2000)::

        tau_mem dv/dt = k (v - v_rest) (v - v_crit) + R (i_e + i_i + I_ext),   R = tau_mem / c_mem
        if v >= v_peak: v <- v_reset

    with exponentially decaying synaptic currents (``tau_syn_e``, ``tau_syn_i``). Forward
    Euler for v with the currents held over the step; the currents then decay exactly.
    """

    tau_mem: float = 10e-3
    c_mem: float = 200e-12
    k: float = 1.0 / 10e-3  # 1/V: the curvature of the quadratic
    v_rest: float = -65e-3
    v_crit: float = -50e-3
    v_peak: float = 0.0
    v_reset: float = -70e-3
    tau_syn_e: float = 3e-3
    tau_syn_i: float = 8e-3

    kind: ClassVar[str] = "test_qif"
    state_vars: ClassVar[tuple] = ("v", "i_e", "i_i")
    units: ClassVar[dict] = {"v": "V", "i_e": "A", "i_i": "A"}

    def _validate(self):
        for f in ("tau_mem", "c_mem", "k", "tau_syn_e", "tau_syn_i"):
            check_positive("QIF", f, getattr(self, f))
        if not self.v_reset < self.v_peak:
            raise ValueError(f"QIF.v_reset = {self.v_reset} is invalid: must be below v_peak = {self.v_peak}")

    def initial_state(self):
        return {"v": self.v_rest, "i_e": 0.0, "i_i": 0.0}

    def discretize(self, dt):
        dt = check_dt(dt)
        return {"h": dt / self.tau_mem, "k": self.k, "v_rest": self.v_rest, "v_crit": self.v_crit,
                "r": self.tau_mem / self.c_mem, "v_peak": self.v_peak, "v_reset": self.v_reset,
                "a_e": math.exp(-dt / self.tau_syn_e), "a_i": math.exp(-dt / self.tau_syn_i)}


def qif_step(c, X, lo, hi, n_step, ie, ii, refrac, iext, has_ext, spiked):
    """The engine's step of a QIF population (the signature of ``neurosim.engine.registry``)."""
    h, k, v_rest, v_crit, r, v_peak, v_reset, a_e, a_i = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    v = X[0, lo:hi]
    ie, ii, iext, spiked = ie[lo:hi], ii[lo:hi], iext[lo:hi], spiked[lo:hi]
    for n in range(v.shape[0]):
        drive = ie[n] + ii[n] + (iext[n] if has_ext else 0.0)
        vn = v[n] + h * (k * (v[n] - v_rest) * (v[n] - v_crit) + r * drive)
        s = vn >= v_peak
        v[n] = v_reset if s else vn
        spiked[n] = s
        ie[n] = ie[n] * a_e
        ii[n] = ii[n] * a_i


@pytest.fixture(scope="module", autouse=True)
def qif_registered():
    """Register the model and its kernel by kind for this module's tests, and take them out
    again afterwards so that the rest of the suite sees the package as shipped."""
    register_model(QIF)
    registry.neuron_kernel("test_qif")(qif_step)
    yield
    MODELS.pop("test_qif")
    registry._PY.pop("test_qif")
    for key in [k for k in registry._COMPILED if k[0] == "test_qif"]:
        registry._COMPILED.pop(key)


def qif_network(n=6, n_in=3, duration=0.2, seed=0):
    rng = np.random.default_rng(seed)
    times, ids = np.sort(rng.uniform(0, duration, 60)), rng.integers(0, n_in, 60)
    w = rng.uniform(0.5, 2.0, (n_in, n)) * 1e-9 * (rng.random((n_in, n)) < 0.6)
    amp = np.linspace(0.0, 0.25e-9, n)  # rheobase R I = k (v_crit - v_rest)^2 / 4 = 5.6 mV: I = 0.11 nA
    return Network([Population("q", QIF(), n, {"v": rng.uniform(-66e-3, -60e-3, n)})], [SpikeSource("in", n_in, times, ids)],
                   [Projection.from_dense("in", "q", w, delays=3 * DT, name="in"),
                    Projection.from_dense("q", "q", -np.abs(rng.normal(0, 0.3e-9, (n, n))) * (rng.random((n, n)) < 0.5),
                                          target="inh", name="inh")],
                   inputs=[CurrentInjection("q", amp)])


def reference_loop(net: Network, duration: float, dt: float):
    """The same network stepped by plain numpy, written from the model's equations and the
    engine's documented timing (a spike emitted in step s through a delay of d seconds adds
    its weight to the synaptic current at the start of step s + 1 + d / dt)."""
    pop, src = net.population("q"), net.sources[0]
    m, n = pop.model, pop.size
    n_steps = int(round(duration / dt))
    v, ie, ii = pop.initial_state()["v"].astype(float).copy(), np.zeros(n), np.zeros(n)
    arrive_e, arrive_i = np.zeros((n_steps + 64, n)), np.zeros((n_steps + 64, n))
    for t, i in zip(src.times, src.ids):
        s, (proj,) = int(math.floor(t / dt + 1e-9)), [p for p in net.projections if p.pre == "in"]
        lo, hi = proj.indptr[i], proj.indptr[i + 1]
        np.add.at(arrive_e, (s + 1 + 3, proj.indices[lo:hi]), proj.weights[lo:hi])
    rec = [p for p in net.projections if p.name == "inh"][0]
    i_ext = net.inputs[0].amplitude
    spikes, v_trace = [], np.zeros((n_steps, n))
    for step in range(n_steps):
        v_trace[step] = v  # what a StateMonitor records: the state at the start of each step
        ie += arrive_e[step]
        ii += arrive_i[step]
        v = v + dt / m.tau_mem * (m.k * (v - m.v_rest) * (v - m.v_crit) + m.tau_mem / m.c_mem * (ie + ii + i_ext))
        fired = v >= m.v_peak
        v[fired] = m.v_reset
        ie *= math.exp(-dt / m.tau_syn_e)
        ii *= math.exp(-dt / m.tau_syn_i)
        for j in np.nonzero(fired)[0]:
            spikes.append((step, j))
            lo, hi = rec.indptr[j], rec.indptr[j + 1]
            np.add.at(arrive_i, (step + 1, rec.indices[lo:hi]), rec.weights[lo:hi])
    return np.array(spikes, dtype=np.int64).reshape(-1, 2), v_trace


def test_the_simulator_runs_it_like_an_independent_loop():
    net, duration = qif_network(), 0.2
    res = Simulator(net, dt=DT, dtype=np.float64).run(duration, [SpikeMonitor("q"), StateMonitor("q", "v")])
    ref, v_trace = reference_loop(net, duration, DT)
    got = res.spikes["q"]
    assert len(ref) > 30 and len(set(ref[:, 1])) >= 3  # several neurons fire, several times
    np.testing.assert_array_equal(np.round(got.times / DT).astype(np.int64), ref[:, 0])
    np.testing.assert_array_equal(got.ids, ref[:, 1])
    np.testing.assert_allclose(res.traces["q"]["v"], v_trace, rtol=0, atol=1e-12)


def test_a_network_using_it_saves_and_loads(tmp_path):
    net = qif_network()
    net.save(tmp_path / "qif.npz")
    back = Network.load(tmp_path / "qif.npz")
    assert back.population("q").model == net.population("q").model and type(back.population("q").model) is QIF
    a = Simulator(net, dt=DT).run(0.1, [SpikeMonitor("q")]).spikes["q"]
    b = Simulator(back, dt=DT).run(0.1, [SpikeMonitor("q")]).spikes["q"]
    assert len(a) > 10
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.ids, b.ids)


def test_every_backend_says_it_cannot_run_it_and_names_the_model():
    net = qif_network()
    found = backends()
    assert {"loihi", "nir", "pynn", "spinnaker"} <= set(found)
    for name, cls in found.items():
        reasons = cls(dt=DT).unsupported(net)
        assert any("population 'q' is QIF (kind 'test_qif')" in r for r in reasons), (name, reasons)
