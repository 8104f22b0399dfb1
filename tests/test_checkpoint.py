"""Simulation checkpoints (Simulator.save_state / load_state, issue #35): run(T1) + save +
load into a new simulator + run(T2) gives the spikes and state of one run(T1 + T2), bit for
bit, for CUBA, the graded whole worm and a network with delays, Poisson inputs and STDP
(with adaptive steps, those of run(T1) + run(T2) in one simulator);
checkpoints of another network, truncated or foreign files are refused and change nothing;
`neurosim cuba --checkpoint-every --resume` continues an interrupted run."""
from __future__ import annotations

import numpy as np
import pytest

from circuits.reference.cuba import cuba_network
from neurosim import CurrentInjection, Network, PoissonSource, Population, Projection, Simulator, SpikeMonitor, StateMonitor
from neurosim.models import CubaLIF, PairSTDP


def plastic_delayed_network() -> Network:
    """Poisson inputs onto 60 CuBa-LIF neurons through STDP synapses with a 2.5 ms delay,
    and recurrent synapses with 0.5-6 ms delays (a delay ring buffer, the generator's state,
    traces and weights all carry over)."""
    rng = np.random.default_rng(7)
    n_in, n = 200, 60
    model = CubaLIF(v_rest=-65e-3, v_reset=-65e-3)  # c_mem 250 pF: weights in A
    pre, post = np.nonzero(rng.random((n_in, n)) < 0.2)
    rule = PairSTDP(a_plus=0.01e-9, a_minus=0.0105e-9, tau_pre=17e-3, tau_post=34e-3, w_min=0.0, w_max=0.3e-9)
    ff = Projection.from_pairs("inputs", "lif", pre, post, rng.uniform(0.05e-9, 0.15e-9, pre.size), n_in,
                               delays=2.5e-3, plasticity=rule, name="ff")
    rp, rq = np.nonzero(rng.random((n, n)) < 0.1)
    rec = Projection.from_pairs("lif", "lif", rp, rq, rng.uniform(0.05e-9, 0.2e-9, rp.size), n,
                                delays=rng.integers(5, 61, rp.size) * 1e-4, target="inh", name="rec")
    return Network(populations=[Population("lif", model, n, {"v": rng.uniform(-65e-3, -50e-3, n)})],
                   sources=[PoissonSource("inputs", n_in, 15.0)], projections=[ff, rec])


def worm_network() -> Network:
    from circuits.worm.model import build_worm
    import connectomes

    net = build_worm("cook2019_herm")
    drive = np.zeros(302)
    drive[[connectomes.neurons().index(n) for n in ("ALML", "ALMR", "AVM")]] = 20e-12
    inj = CurrentInjection("worm", drive, start=0.05, stop=0.35)
    return Network(populations=net.populations, projections=net.projections, gap_junctions=net.gap_junctions, inputs=[inj])


CASES = {
    "cuba": (lambda: cuba_network(1000, n_inputs=80), dict(dt=1e-4, dtype=np.float32), "cuba", 0.12, 0.09),
    "delays, poisson, stdp": (plastic_delayed_network, dict(dt=1e-4, seed=3), "lif", 0.15, 0.1),
    "graded worm": (worm_network, dict(dt=1e-3), "worm", 0.2, 0.25),
    "graded worm, adaptive steps": (worm_network, dict(dt=1e-3, adaptive=True), "worm", 0.2, 0.25),
}


def _run(sim, duration, name):
    mons = [StateMonitor(name, ("v",), every=10)] + ([SpikeMonitor(name)] if sim.network.population(name).spiking else [])
    res = sim.run(duration, mons, chunk_steps=337)  # a chunk that divides neither run: boundaries move
    spikes = res.spikes.get(name)
    steps = np.round(spikes.times / sim.dt).astype(np.int64) if spikes is not None else np.zeros(0, np.int64)
    return steps, (spikes.ids if spikes is not None else np.zeros(0, np.int64)), res.traces[name].data["v"]


@pytest.mark.parametrize("case", list(CASES))
def test_run_save_load_run_is_one_run_bit_for_bit(case, tmp_path):
    build, kw, name, t1, t2 = CASES[case]
    net = build()
    whole = Simulator(net, **kw)
    if kw.get("adaptive"):  # adaptive steps land on each run's end: the reference stops at T1 too, without a checkpoint
        parts = [_run(whole, t1, name), _run(whole, t2, name)]
        w_steps, w_ids, w_v = (np.concatenate(x) for x in zip(*parts))
    else:
        w_steps, w_ids, w_v = _run(whole, t1 + t2, name)

    first = Simulator(net, **kw)
    a_steps, a_ids, a_v = _run(first, t1, name)
    path = first.save_state(tmp_path / "state.npz")
    second = Simulator(net, **kw)
    second.load_state(path)
    assert second.t == pytest.approx(t1)
    b_steps, b_ids, b_v = _run(second, t2, name)

    np.testing.assert_array_equal(np.concatenate([a_steps, b_steps]), w_steps)
    np.testing.assert_array_equal(np.concatenate([a_ids, b_ids]), w_ids)
    np.testing.assert_array_equal(np.concatenate([a_v, b_v]), w_v)
    np.testing.assert_array_equal(second.X, whole.X)
    if case == "cuba":
        assert w_steps.size > 1000 and b_steps.size > 300
    if case == "delays, poisson, stdp":
        assert b_steps.size > 50
        np.testing.assert_array_equal(second.weights("ff"), whole.weights("ff"))
        assert not np.array_equal(second.weights("ff"), net.projections[0].weights)  # it learned across the break
    if case.startswith("graded worm"):
        assert np.ptp(w_v) > 1e-3  # the stimulus moved the membranes on both sides of the break


def test_bad_checkpoints_are_refused_and_change_nothing(tmp_path):
    net = cuba_network(200, n_inputs=20)
    sim = Simulator(net, dt=1e-4)
    sim.run(0.01)
    path = sim.save_state(tmp_path / "state.npz")
    other = Simulator(cuba_network(200, n_inputs=20, seed=1), dt=1e-4)
    before = other.X.copy()
    with pytest.raises(ValueError, match="another network"):
        other.load_state(path)
    with pytest.raises(ValueError, match="another network"):
        Simulator(net, dt=2e-4).load_state(path)
    with pytest.raises(ValueError, match="another network"):
        Simulator(net, dt=1e-4, dtype=np.float32).load_state(path)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable neurosim checkpoint"):
        other.load_state(cut)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a neurosim checkpoint"):
        other.load_state(foreign)
    with pytest.raises(FileNotFoundError):
        other.load_state(tmp_path / "missing.npz")
    np.testing.assert_array_equal(other.X, before)
    assert other.step == 0


def test_cli_cuba_resumes_an_interrupted_run(tmp_path, monkeypatch):
    from neurosim.cli import main

    args = ["cuba", "--n", "400", "--duration", "0.06", "--checkpoint-every", "0.02", "--no-progress", "--raster-neurons", "50"]
    assert main(args + ["--out", str(tmp_path / "whole")]) == 0
    whole = np.load(tmp_path / "whole" / "cuba_spikes.npz")
    assert main(args[:5] + ["--no-progress", "--out", str(tmp_path / "plain")]) == 0  # one run, no checkpoints
    plain = np.load(tmp_path / "plain" / "cuba_spikes.npz")
    np.testing.assert_array_equal(plain["times"], whole["times"])

    real = Simulator.save_state
    calls = []

    def interrupt(self, path):  # the run dies right after its second checkpoint
        out = real(self, path)
        calls.append(self.t)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(Simulator, "save_state", interrupt)
    assert main(args + ["--out", str(tmp_path / "cut")]) == 130  # interrupted, as by Ctrl-C
    monkeypatch.setattr(Simulator, "save_state", real)
    assert not (tmp_path / "cut" / "cuba_spikes.npz").exists()
    assert main(args + ["--out", str(tmp_path / "cut")]) == 2  # an occupied folder needs --resume
    assert main(args + ["--out", str(tmp_path / "cut"), "--resume"]) == 0
    resumed = np.load(tmp_path / "cut" / "cuba_spikes.npz")
    assert whole["times"].size > 100
    np.testing.assert_array_equal(resumed["times"], whole["times"])
    np.testing.assert_array_equal(resumed["ids"], whole["ids"])
    assert calls == [pytest.approx(0.02), pytest.approx(0.04)]
    assert main(["cuba", "--n", "400", "--duration", "0.06", "--checkpoint-every", "0.02", "--seed", "1", "--no-progress",
                 "--out", str(tmp_path / "cut"), "--resume"]) == 2  # other settings than the checkpoint's
    with pytest.raises(SystemExit):
        main(["cuba", "--resume", "--out", str(tmp_path / "x")])  # --resume without --checkpoint-every
