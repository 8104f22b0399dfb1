"""Neuron-glia models in the core against Brian2 (Stimberg et al. 2019, examples 2 and 4),
the CoBa-LIF neuron against Brian2, and the errors of astrocyte networks."""
import numpy as np
import pytest

from brian2_astro_reference import run_example2, run_example4
from circuits.astro.neuroglia import EXAMPLE4_ASTROCYTE, example2_network, example2_spike_steps, example4_network, example6_network, poisson_steps
from neurosim import (UMOLAR, AstrocyteGapJunctions, AstrocyteToSynapse, CobaLIF, CubaLIF, GapJunctions, GChIAstrocyte,
                      Network, Population, Projection, Simulator, SpikeMonitor, SpikeSource, StateMonitor,
                      SynapseToAstrocyte, TripartiteSynapse)


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_example2_gchi_astrocyte_matches_brian2():
    dt, duration = 1e-3, 5.0
    steps = example2_spike_steps(duration, dt)
    astro = GChIAstrocyte()
    t, ref = run_example2(astro.to_dict(), 0.001, 500.0, 40.0, steps, duration, dt)
    res = Simulator(example2_network(steps, dt), dt=dt).run(duration, [StateMonitor("astro", ["Gamma_A", "I", "C", "h"])])
    for var in ("Gamma_A", "I", "C", "h"):
        ours = res.traces["astro"].data[var][:, 0]
        assert ours.shape == ref[var].shape
        assert _rel(ours, ref[var]) < 0.01, var
    # the synapse drives the astrocyte: IP3 rises well above rest after the spikes
    assert ref["I"].max() > 0.5 * UMOLAR


def test_example4_release_modulation_matches_brian2():
    dt, n, every, duration = 1e-3, 10, 10, 4.0
    ids, steps = poisson_steps(n, [5.0, 20.0], 2.0, dt, seed=3)
    syn = TripartiteSynapse()
    t, ref, y_ref = run_example4({**EXAMPLE4_ASTROCYTE.to_dict(), "I_bias": 0.0}, syn.to_dict(), n, (ids, steps),
                                 1.0 * UMOLAR, duration, dt, every)
    sim = Simulator(example4_network(n, ids, steps, dt), dt=dt)
    mons = [StateMonitor("astro_closed", ["I", "C", "G_A"]), StateMonitor("astro_open", ["I", "C", "G_A"]),
            SpikeMonitor("astro_open")]
    traces, y_ours, releases = {k: [] for k in ("I", "C", "G_A")}, [], 0
    for _ in range(int(round(duration / (every * dt)))):
        res = sim.run(every * dt, mons)
        for k in traces:
            traces[k].append(np.concatenate([res.traces["astro_closed"].data[k], res.traces["astro_open"].data[k]], axis=1))
        y_ours.append([sim.synapse_state(p)["Y_S"].mean() for p in ("closed", "open", "none")])
        releases += res.spikes["astro_open"].times.size
    for k in ("I", "C", "G_A"):
        assert _rel(np.concatenate(traces[k]).T, ref[k]) < 0.01, k
    m = y_ref.shape[1] - 1  # Brian2 samples at 0, 10 ms, ...; ours after each 10 ms
    y_ours = np.array(y_ours).T[:, :m]
    assert _rel(y_ours, y_ref[:, 1:]) < 0.01
    # gliotransmission happened and lowered release: modulated synapses release less
    assert releases >= n and ref["G_A"][n:].max() > 0
    assert y_ours[1].mean() < 0.95 * y_ours[2].mean()


def test_coba_lif_matches_brian2_exponential_euler():
    b2 = pytest.importorskip("brian2")
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    dt, duration = 1e-4, 0.2
    m = CobaLIF()
    rng = np.random.default_rng(0)
    steps = rng.choice(int(duration / dt), 300, replace=False)  # one spike per step at most (Brian2's rule)
    ids = rng.integers(0, 4, steps.size)
    times = steps * dt
    w = np.array([3e-9, 3e-9, 3e-9, 8e-9])  # three excitatory inputs, one inhibitory (S)
    ns = dict(g_l=m.g_leak * b2.siemens, E_l=m.e_leak * b2.volt, E_e=m.e_e * b2.volt, E_i=m.e_i * b2.volt,
              C_m=m.c_mem * b2.farad, tau_e=m.tau_syn_e * b2.second, tau_i=m.tau_syn_i * b2.second, I_ex=120e-12 * b2.amp,
              V_th=m.v_th * b2.volt, V_r=m.v_reset * b2.volt)
    b2.defaultclock.dt = dt * b2.second
    eqs = """dv/dt = (g_l*(E_l-v) + g_e*(E_e-v) + g_i*(E_i-v) + I_ex)/C_m : volt (unless refractory)
    dg_e/dt = -g_e/tau_e : siemens
    dg_i/dt = -g_i/tau_i : siemens"""
    G = b2.NeuronGroup(1, eqs, threshold="v>V_th", reset="v=V_r", refractory=m.t_ref * b2.second,
                       method="exponential_euler", namespace=ns)
    G.v = m.e_leak * b2.volt
    src = b2.SpikeGeneratorGroup(4, ids, times * b2.second)
    se = b2.Synapses(src, G, "w : siemens", on_pre="g_e_post += w")
    se.connect(i=[0, 1, 2], j=0)
    se.w = w[:3] * b2.siemens
    si = b2.Synapses(src, G, "w : siemens", on_pre="g_i_post += w")
    si.connect(i=[3], j=0)
    si.w = w[3] * b2.siemens
    vm, sm = b2.StateMonitor(G, "v", record=True), b2.SpikeMonitor(G)
    b2.run(duration * b2.second, namespace={})
    net = Network([Population("n", m, 1)], [SpikeSource("src", 4, times, ids)],
                  [Projection.from_pairs("src", "n", [0, 1, 2], [0, 0, 0], w[:3], 4, target="exc"),
                   Projection.from_pairs("src", "n", [3], [0], w[3], 4, target="inh")],
                  inputs=[__import__("neurosim").CurrentInjection("n", 120e-12)])
    res = Simulator(net, dt=dt).run(duration, [StateMonitor("n", ["v"]), SpikeMonitor("n")])
    assert np.asarray(sm.t).size >= 3
    np.testing.assert_allclose(res.spikes["n"].times, np.asarray(sm.t), atol=dt / 2)
    np.testing.assert_allclose(res.traces["n"].data["v"][:, 0], np.asarray(vm.v)[0], atol=1e-9)


def test_example6_network_runs_with_astrocyte_clock():
    net = example6_network(seed=1, n_e=400, n_i=100, n_a=400, stimulus=(1.5,))
    sim = Simulator(net, dt=1e-4)
    res = sim.run(0.05, [SpikeMonitor("neurons"), StateMonitor("astrocytes", ["C", "Gamma_S"], neurons=[0, 1])])
    c = res.traces["astrocytes"].data["C"][:, 0]
    # the astrocytes step every 10 ms (100 steps): C changes only across those steps (the
    # monitor records at the start of a step, so a step-n update shows at sample n + 1)
    changes = np.nonzero(np.diff(c))[0] + 1
    assert changes.size >= 3 and np.all((changes - 1) % 100 == 0)
    assert res.synaptic_events > 0
    saved = net.glia
    assert {type(g).__name__ for g in saved} == {"SynapseToAstrocyte", "AstrocyteToSynapse", "AstrocyteGapJunctions"}


def test_astrocyte_network_save_load_round_trip(tmp_path):
    ids, steps = poisson_steps(4, [20.0], 0.2, 1e-3, seed=0)
    net = example4_network(4, ids, steps)
    net.save(tmp_path / "glia.npz")
    back = Network.load(tmp_path / "glia.npz")
    assert [type(g).__name__ for g in back.glia] == [type(g).__name__ for g in net.glia]
    assert back.projections[0].synapse == net.projections[0].synapse
    a = Simulator(net, dt=1e-3).run(0.2, [StateMonitor("astro_closed", ["C"])]).traces["astro_closed"].data["C"]
    b = Simulator(back, dt=1e-3).run(0.2, [StateMonitor("astro_closed", ["C"])]).traces["astro_closed"].data["C"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("field, value, match", [
    ("O_P", -1.0, "O_P .* must be >= 0"),
    ("K_P", 0.0, "K_P .* must be > 0"),
    ("U_A", 1.5, "U_A .* must be in \\[0, 1\\]"),
    ("C_T", float("nan"), "C_T .* finite"),
])
def test_invalid_astrocyte_parameters(field, value, match):
    with pytest.raises(ValueError, match=match):
        GChIAstrocyte(**{field: value})


def test_invalid_synapse_parameters_and_astro_clock():
    with pytest.raises(ValueError, match="U_0_star .* \\[0, 1\\]"):
        TripartiteSynapse(U_0_star=1.2)
    with pytest.raises(ValueError, match="Omega_f .* >= 0"):
        TripartiteSynapse(Omega_f=-3.0)
    net = Network([Population("a", GChIAstrocyte(dt_astro=2.5e-4), 2)])
    with pytest.raises(ValueError, match="dt_astro .* not a whole multiple"):
        Simulator(net, dt=1e-4)


def _pieces():
    pops = [Population("n", CubaLIF(), 3), Population("a", GChIAstrocyte(), 2)]
    src = [SpikeSource("s", 3, [0.01], [0])]
    tri = Projection.from_pairs("s", "n", [0, 1, 2], [0, 1, 2], 1e-10, 3, name="tri", synapse=TripartiteSynapse())
    static = Projection.from_pairs("s", "n", [0], [1], 1e-10, 3, name="static")
    return pops, src, [tri, static]


@pytest.mark.parametrize("link, match", [
    (SynapseToAstrocyte("nope", "a", [0, 1, -1]), "unknown projection 'nope'"),
    (SynapseToAstrocyte("tri", "zzz", [0, 1, -1]), "unknown astrocyte population 'zzz'"),
    (SynapseToAstrocyte("tri", "n", [0, 1, -1]), "not an astrocyte population"),
    (AstrocyteToSynapse("a", "static", [0]), "static synapses"),
    (AstrocyteToSynapse("a", "tri", [-1, -1, -1]), "links no synapse"),
    (AstrocyteToSynapse("a", "tri", [0, 1]), "astrocyte_index has 2 entries; .* has 3 synapses"),
    (AstrocyteToSynapse("a", "tri", [0, 1, 2]), "out of range -1..1"),
    (AstrocyteToSynapse("a", "tri", [0, 1, 1], variable="Q"), "variable 'Q' is not a state variable"),
    (AstrocyteGapJunctions("a", [0], [5]), "index 5 out of range 0..1"),
])
def test_unconnected_or_wrong_astrocyte_links(link, match):
    pops, src, projs = _pieces()
    with pytest.raises(ValueError, match=match):
        Network(pops, src, projs, glia=[link])


def test_astrocytes_refuse_neuron_wiring():
    pops, src, projs = _pieces()
    with pytest.raises(ValueError, match="do not send spikes through projections"):
        Network(pops, src, projs + [Projection.from_pairs("a", "n", [0], [0], 1.0, 2, name="bad")])
    with pytest.raises(ValueError, match="takes targets \\['exc'\\] only, got 'inh' \\(astrocytes sense neurotransmitter"):
        Network(pops, src, projs + [Projection.from_pairs("s", "a", [0], [0], 1.0, 3, target="inh", name="bad")])
    with pytest.raises(ValueError, match="couple them with AstrocyteGapJunctions"):
        Network(pops, src, projs, gap_junctions=[GapJunctions("a", "a", [0], [1], 1e-9)])
    with pytest.raises(ValueError, match="a neurotransmitter-sensing|an astrocyte cannot be coupled to itself"):
        AstrocyteGapJunctions("a", [1], [1])
