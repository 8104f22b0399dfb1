"""``neurosim deploy nir|loihi|spinnaker|pynn``: each target is a subcommand with only its own
options. A core network (``Network.load`` or the CUBA reference network) goes through the
target's ``neurosim.backend.Backend``, found by name (``get_backend``): compile (which lists
every reason the target cannot run the network, exit 2) and, where asked, run. A trained
N-MNIST classifier goes to NIR (``hardware.nir.to_nir``) or through the Loihi deployment
study (``circuits.nmnist``). The handlers print what those return."""
from __future__ import annotations

import sys
from pathlib import Path

from .args import INT0, INT1, POSITIVE, SHARED_DATA, add_group, number

TARGETS = {
    "nir": "write the trained N-MNIST classifier or a network as a NIR graph (snnTorch, Norse, other NIR tool chains)",
    "loihi": "quantise the trained N-MNIST classifier (or a network) to Loihi 2 and run it on the fixed-point engine and Lava's "
             "simulator",
    "spinnaker": "map a network with sPyNNaker (virtual SpiNNaker board) and our own mapper, optionally run it in s16.15",
    "pynn": "write a network as a PyNN script (IF_curr_exp, FromListConnector) for sPyNNaker and other PyNN back ends",
}
NETWORK_HELP = "'cuba' (the 4000-neuron CUBA network, default) or a network saved with Network.save (.npz)"


def add(sub) -> None:
    """Add ``neurosim deploy nir|loihi|spinnaker|pynn`` to the subcommands ``sub``."""
    p = add_group(sub, "deploy", help="deploy: " + ", ".join(TARGETS), description="Deploy a model; see neurosim deploy TARGET --help.",
                  dest="target", choices=TARGETS)
    n = p["nir"]
    n.add_argument("model", nargs="?", default=None,
                   help="folder of `neurosim train nmnist` (default runs/nmnist), or a network: " + NETWORK_HELP)
    n.add_argument("--for", dest="nir_for", choices=["exact", "snntorch", "norse"], default="exact",
                   help="the discretisation written: exact (NIR's ODEs in neurosim's SI time constants, default), snntorch or "
                        "norse (forward Euler at the step that importer takes; see hardware/nir/neurons.py)")
    n.add_argument("--check", type=INT1, default=None, metavar="N",
                   help="run N held-out samples in the peer of --for and compare spikes and decisions with neurosim")
    n.add_argument("--dt", type=float, choices=[1e-3, 1e-4], default=1e-3, help="time step of a network in s (1e-3 or 1e-4)")
    n.add_argument("--data", default=str(SHARED_DATA / "nmnist_small"), help="N-MNIST subset folder for --check")
    n.add_argument("--seed", type=INT0, default=0, help="seed of the CUBA network")
    n.add_argument("--out", default=None, help="the .nir file (default runs/nir/<model>-<for>.nir)")
    lo = p["loihi"]
    lo.add_argument("model", nargs="?", default=None,
                    help="folder of `neurosim train nmnist` (default runs/nmnist), a NIR graph classifying N-MNIST (.nir, e.g. "
                         "the NIR paper's ../shared/data/nir_paper/cnn_sinabs.nir: its accuracy on --samples of --data, in torch "
                         "and on the fixed-point engine), or a network: 'cuba' or a Network.save file (.npz), compiled for Loihi 2 "
                         "and run for --simulate seconds")
    lo.add_argument("--data", default=str(SHARED_DATA / "nmnist_small"), help="N-MNIST subset folder (default ../shared/data/nmnist_small)")
    lo.add_argument("--out", default=None, help="output folder (default runs/loihi_nmnist)")
    lo.add_argument("--samples", type=INT1, default=None, help="held-out samples to deploy (default all)")
    lo.add_argument("--lava-samples", type=INT0, default=None,
                    help="of those, how many also run on Lava (default all; 0 skips Lava, whose Python loop is slow)")
    lo.add_argument("--threshold-bits", type=number(int, 1), default=14, help="threshold mantissa 2**bits (1..16; default 14)")
    lo.add_argument("--dt", type=POSITIVE, default=1e-3, help="time step of a network in s (default 1e-3)")
    lo.add_argument("--simulate", type=POSITIVE, default=0.1, metavar="SECONDS", help="a network's run in s (default 0.1)")
    lo.add_argument("--engine", choices=["fixed", "lava"], default="fixed",
                    help="a network runs on the fixed-point engine (default) or Lava's simulator (slow)")
    lo.add_argument("--seed", type=INT0, default=0, help="seed of the CUBA network")
    lo.add_argument("--threads", type=INT1, default=2)
    lo.add_argument("--no-progress", action="store_true")
    s = p["spinnaker"]
    s.add_argument("model", nargs="?", default=None,
                   help="the network: " + NETWORK_HELP + ", or a NIR graph classifying N-MNIST (.nir: its accuracy on --samples "
                        "of --data, in torch and mapped and run in s16.15)")
    s.add_argument("--data", default=str(SHARED_DATA / "nmnist_small"), help="N-MNIST subset folder for a .nir classifier")
    s.add_argument("--samples", type=INT1, default=None, help="samples a .nir classifier runs (default all)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--toolchain", choices=["both", "spynnaker", "ours"], default="both",
                   help="who maps the network: sPyNNaker 7.4 (PACMAN) on a virtual machine and neurosim's own mapper side by "
                        "side (both, default), or one of them")
    s.add_argument("--torus", type=INT1, nargs=2, metavar=("W", "H"), default=None,
                   help="a W x H machine instead of one 48-chip SpiNN-5 board (ours: a torus; sPyNNaker: a virtual machine "
                        "of W x H chips)")
    s.add_argument("--machine-name", default=None, metavar="HOST",
                   help="sPyNNaker maps for, loads and runs on this real SpiNN-5 board instead of a virtual one (not tested here)")
    s.add_argument("--spynnaker-out", default="runs/spynnaker", metavar="FOLDER",
                   help="sPyNNaker's PyNN script, configuration and reports (default runs/spynnaker)")
    s.add_argument("--neurons-per-core", type=INT1, default=256, help="neurons per core (default 256)")
    s.add_argument("--placement", choices=["locality", "random"], default="locality", help="placement (default locality)")
    s.add_argument("--dt", type=float, choices=[1e-3, 1e-4], default=1e-3, help="time step in s (1e-3 or 1e-4)")
    s.add_argument("--simulate", type=POSITIVE, default=None, metavar="SECONDS",
                   help="also run the mapped network for this long in s16.15 fixed point (with the weights as sPyNNaker "
                        "encodes them when it ran) and compare its spikes with the float simulator's")
    s.add_argument("--heatmap", default=None, help="write the machine's load (per chip) as a PNG here")
    s.add_argument("--pynn", default=None, metavar="FOLDER",
                   help="also export the network as a PyNN script (IF_curr_exp, FromListConnector) for sPyNNaker")
    s.add_argument("--seed", type=INT0, default=0)
    y = p["pynn"]
    y.add_argument("model", nargs="?", default=None, help="the network: " + NETWORK_HELP)
    y.add_argument("--dt", type=float, choices=[1e-3, 1e-4], default=1e-3, help="time step in s (1e-3 or 1e-4)")
    y.add_argument("--simulate", type=POSITIVE, default=None, metavar="SECONDS", help="the run's duration (default 1 s)")
    y.add_argument("--seed", type=INT0, default=0, help="seed of the CUBA network")
    y.add_argument("--out", default=None, help="the script's folder (default runs/pynn)")
    for name, func in (("nir", run_nir), ("loihi", run_loihi), ("spinnaker", run_spinnaker), ("pynn", run_pynn)):
        p[name].set_defaults(func=func, parser=p[name])


def outputs(a) -> list:
    """(path, is_folder) of every output of this deployment, checked before any work."""
    found = [(a.out, a.target in ("loihi", "pynn"))] if getattr(a, "out", None) else []
    if getattr(a, "toolchain", "ours") != "ours" and not _is_nir(getattr(a, "model", None)):
        found.append((a.spynnaker_out, True))
    return found + [(p, f) for p, f in ((getattr(a, "pynn", None), True), (getattr(a, "heatmap", None), False)) if p]


def _is_network(model) -> bool:
    return model == "cuba" or Path(model or "").suffix == ".npz"


def _backend(name: str, **settings):
    """The backend registered as ``name`` (``neurosim.backend``), constructed with ``settings``."""
    from ..backend import get_backend

    return get_backend(name)(**settings)


def _network(a):
    """The core Network a deploy target reads: 'cuba' (default) or a Network.save file."""
    if a.model in (None, "cuba"):
        from circuits.reference.cuba import cuba_network

        return cuba_network(4000, seed=a.seed)
    from ..network import Network

    return Network.load(a.model)


def _error(err) -> int:
    print(f"neurosim deploy: error: {err}", file=sys.stderr)
    return 2


def _is_nir(model) -> bool:
    return Path(model or "").suffix == ".nir"


def _run_nir_classifier(a, target: str, settings: dict) -> int:
    """A NIR N-MNIST classifier's accuracy in torch, in the core simulator and on ``target``."""
    from circuits.nmnist.nir_paper import deploy_nir_classifier

    try:
        r = deploy_nir_classifier(a.model, a.data, target, a.samples, progress=not a.no_progress, settings=settings)
    except (ValueError, FileNotFoundError) as err:
        return _error(err)
    if "resources" in r["info"]:
        print(r["info"]["resources"].table())
    if "mapping" in r["info"]:
        m = r["info"]["mapping"]
        print(f"{m['slices']} slices on {m['cores_used']} cores of {m['chips_used']} chips")
    print(f"{r['n_samples']} samples; {r['n_neurons']} neurons, {r['n_synapses']} synapses, {r['depth']} steps from input to output")
    print(f"float (torch), event counts:  {100 * r['float_counts']:.1f}%")
    print(f"float (torch), binary frames: {100 * r['float_binary']:.1f}%")
    print(f"core simulator (binary):      {100 * r['simulator']:.1f}% ({100 * r['simulator_same_decisions']:.1f}% of decisions as "
          f"float binary; {r['simulator_seconds_per_sample']:.2f} s per sample)")
    label = f"{target} ({'fixed point' if target == 'loihi' else 's16.15'}):"
    print(f"{label:30s}{100 * r[target]:.1f}% ({100 * r[target + '_same_decisions']:.1f}% of decisions as float binary; "
          f"{r[target + '_seconds_per_sample']:.2f} s per sample); drop {r['drop']:.1f} points vs float binary")
    return 0


def run_spinnaker(a) -> int:
    """``neurosim deploy spinnaker``: sPyNNaker's mapping beside ours, the s16.15 run, the PyNN export; returns the exit status."""
    from hardware.spinnaker import Machine
    from hardware.spinnaker.report import mapping_table, plot_machine_load

    kw = {"neurons_per_core": a.neurons_per_core, "timestep": a.dt}
    machine = Machine.torus(*a.torus, **kw) if a.torus else Machine.board(**kw)
    if _is_nir(a.model):
        return _run_nir_classifier(a, "spinnaker", {"machine": machine, "placement": a.placement, "seed": a.seed})
    try:
        net = _network(a)
        tool = _map_with_spynnaker(a, net) if a.toolchain != "ours" else None
        ours = deployment = None
        if a.toolchain != "spynnaker" or a.simulate or a.heatmap:  # the s16.15 run routes through our tables
            backend = _backend("spinnaker", machine=machine, placement=a.placement, seed=a.seed)
            deployment = backend.compile(net, a.simulate or 1.0)
            ours = deployment.info["mapping"] if a.toolchain != "spynnaker" else None
        print(mapping_table(ours, tool.report() if tool else None))
        if ours:
            print(f"our mapper: {ours['slices']} slices on {ours['cores_used']} cores of {ours['chips_used']} chips; "
                  f"link traversals if every neuron fires once: {ours['link_traversals_per_spike_wave']:.3g}")
        if tool:
            shifts = ", ".join(f"{p}: {d['ring_buffer_shifts'][d['synapse_types']['excitatory']]} (exc) "
                               f"{d['ring_buffer_shifts'][d['synapse_types']['inhibitory']]} (inh)" for p, d in tool.populations.items())
            missing = tool.unrouted(net)
            routed = "every projection routed to its targets' cores" if not missing else \
                f"{len(missing)} (projection, pre slice, post slice) without a route, e.g. {missing[0]}"
            print(f"sPyNNaker: {routed} (through its compressed tables); ring-buffer left shifts {shifts}; its reports: "
                  f"{tool.reports_folder()}")
            chips = [f"{c} {len(t)} -> {len(tool.tables_after.get(c, ()))}" for c, t in sorted(tool.tables_before.items())]
            print(f"sPyNNaker's routing entries per chip, before -> after compression: {', '.join(chips[:8])}"
                  f"{f' and {len(chips) - 8} chips more' if len(chips) > 8 else ''}")
            keys = {}
            for pop, _lo, key, mask in tool.keys:
                keys.setdefault(pop, []).append((key, mask))
            print("sPyNNaker's keys: " + "; ".join(f"{pop}: {len(k)} slices, keys {k[0][0]:#010x} to {k[-1][0]:#010x}, mask "
                                                   f"{k[0][1]:#010x}" for pop, k in keys.items()))
        stats = None
        if a.simulate:
            stats = _simulate_spinnaker(a, backend, deployment, tool)
        if a.heatmap:
            plot_machine_load(deployment.target, stats, a.heatmap)
            print(f"wrote {a.heatmap}")
        if a.pynn:
            script = _backend("pynn", dt=machine.timestep, folder=a.pynn, simulator="pyNN.spiNNaker").compile(
                net, a.simulate or 1.0).target
            print(f"wrote the PyNN script {script} (and network.npz beside it): `python {script}` runs it on SpiNNaker, "
                  f"`python {script} pyNN.brian2 spikes.npz` on Brian2")
    except (ValueError, FileNotFoundError, ModuleNotFoundError, TimeoutError) as err:
        return _error(err)
    return 0


def _map_with_spynnaker(a, net):
    """``net`` mapped by sPyNNaker into ``--spynnaker-out`` (a fresh folder each time)."""
    import shutil

    from hardware.spinnaker.toolchain import map_with_spynnaker

    from ..runlock import folder_lock

    out = Path(a.spynnaker_out)
    with folder_lock(out):
        for old in ("pynn", "home"):  # this run's reports only
            shutil.rmtree(out / old, ignore_errors=True)
        return map_with_spynnaker(net, a.dt, tuple(a.torus) if a.torus else None, out, a.machine_name,
                                  duration=a.simulate if a.machine_name else None)


def _simulate_spinnaker(a, backend, deployment, tool) -> dict:
    """The s16.15 run (with sPyNNaker's weight encoding when it mapped the network) against
    the float simulator; returns the traffic statistics."""
    import dataclasses

    from hardware.spinnaker.report import spike_agreement
    from hardware.spinnaker.toolchain import board_network

    from ..monitors import SpikeMonitor
    from ..simulator import Simulator

    net = deployment.network
    if tool is not None:
        deployment = dataclasses.replace(deployment, network=board_network(net, tool))
    res = backend.run(deployment)
    stats = res.info["traffic"]
    steps = int(round(a.simulate / backend.dt))
    print(f"s16.15 run of {a.simulate:g} s{' with the weights as sPyNNaker encodes them' if tool else ''}: "
          f"{sum(stats['packets_per_link'].values()) / steps:.1f} link packets per step, max link load "
          f"{stats['max_link_packets_per_step']} packets in a step, {stats['dropped_packets']} dropped, CPU load per core up "
          f"to {100 * stats['cpu_load'].max():.1f}% of a step")
    names = [p.name for p in net.populations]
    core = Simulator(net, dt=backend.dt).run(a.simulate, [SpikeMonitor(n) for n in names])
    for name in names:
        r = spike_agreement(res.spikes[name], core.spikes[name], backend.dt)
        same = "identical throughout" if r["identical_steps"] >= steps else \
            f"identical for the first {r['identical_steps']} steps, then {r['differing_at_first']} neuron(s) differ"
        print(f"  {name}: {r['spikes'][0]} spikes ({r['rates_hz'][0]:.3f} Hz) in s16.15, {r['spikes'][1]} "
              f"({r['rates_hz'][1]:.3f} Hz) in the float simulator; {same}")
    return stats


def run_pynn(a) -> int:
    """``neurosim deploy pynn``: write the PyNN script of a network; returns the exit status."""
    try:
        # written for SpiNNaker (sPyNNaker): delays unshifted (PyNNBackend, export_pynn)
        backend = _backend("pynn", dt=a.dt, folder=a.out or "runs/pynn", simulator="pyNN.spiNNaker")
        script = backend.compile(_network(a), a.simulate or 1.0).target
    except (ValueError, FileNotFoundError) as err:
        return _error(err)
    print(f"wrote the PyNN script {script} (and network.npz beside it): `python {script}` runs it on SpiNNaker (sPyNNaker), "
          f"`python {script} pyNN.brian2 spikes.npz` on Brian2")
    return 0


def run_nir(a) -> int:
    """``neurosim deploy nir``: write (and check) the NIR graph of a trained model or a network; returns the exit status."""
    from hardware import nir as hnir

    from ..runlock import file_lock

    model = None
    try:
        model_path = Path(a.model or "runs/nmnist")
        if _is_network(a.model):
            graph, what = _backend("nir", dt=a.dt).compile(_network(a), a.dt).target, f"network {model_path.name}"
        else:
            from circuits.nmnist.loihi import load_nmnist_model

            model, settings = load_nmnist_model(model_path)
            dt = model.readout.dt
            euler = {"exact": None, "snntorch": hnir.SNNTORCH_DT, "norse": dt}[a.nir_for]
            graph = hnir.to_nir(model, (2, 34, 34), euler_dt=euler, sum_pooling=a.nir_for == "norse")
            what = f"N-MNIST model {model_path} (dt = {dt} s)"
        target = a.out or f"runs/nir/{model_path.stem or 'model'}-{a.nir_for}.nir"
        with file_lock(target):
            out = hnir.write_graph(graph, target)
    except (ValueError, FileNotFoundError) as err:
        return _error(err)
    kinds = {}
    for node in graph.nodes.values():
        kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
    print(f"wrote {out}: {what} as {len(graph.nodes)} NIR nodes ({', '.join(f'{v} {k}' for k, v in kinds.items())}), "
          f"discretisation: {a.nir_for}")
    if a.check and model is None:
        print("--check compares a trained model with snnTorch or Norse; a core network has no peer run here", file=sys.stderr)
        return 2
    if not a.check:
        return 0
    if a.nir_for == "exact":
        print("--check runs the graph in snnTorch or Norse: write it with --for snntorch or --for norse")
        return 2
    from circuits.nmnist.nir_check import compare_with_peer

    r = compare_with_peer(model, settings, graph, dt, a.nir_for, a.check, a.data)
    for layer in r["layers"]:
        print(f"  {layer['name']}: {layer['n_ours']} spikes in neurosim, {layer['n_theirs']} in {a.nir_for}; identical "
              f"{100 * layer['identical']:.2f}%, within one step {100 * layer['within_one_step']:.2f}%")
    print(f"  readout membrane: largest difference {r['readout_max_difference']:.2e} (of values up to "
          f"{r['readout_max']:.2f}); decisions: {100 * r['same_decisions']:.1f}% of {r['n_samples']} held-out samples the same")
    return 0 if r["worst_within_one_step"] >= 0.99 and r["same_decisions"] == 1.0 else 1


def run_loihi(a) -> int:
    """``neurosim deploy loihi``: the trained N-MNIST model or a network on Loihi 2's arithmetic; returns the exit status."""
    if _is_network(a.model):
        return _run_loihi_network(a)
    if _is_nir(a.model):
        return _run_nir_classifier(a, "loihi", {"threshold_bits": a.threshold_bits})
    import torch

    torch.set_num_threads(a.threads)
    from circuits.nmnist.loihi import deploy_nmnist

    try:
        out = deploy_nmnist(a.model or "runs/nmnist", a.data, a.out or "runs/loihi_nmnist", n_samples=a.samples,
                            lava_samples=a.lava_samples, threshold_bits=a.threshold_bits, progress=not a.no_progress)
    except ValueError as err:
        return _error(err)
    print(f"{out['n_samples']} held-out samples, {out['n_neurons']} neurons, {out['n_synapses']} synapses, "
          f"{out['cores']} Loihi 2 cores ({out['chips']} chip(s))")
    print(f"float model:            {100 * out['float_counts']:.1f}% (event counts), {100 * out['float_binary']:.1f}% (binary frames)")
    print(f"Loihi fixed point:      {100 * out['fixed_engine']:.1f}% (Numba engine, {out['fixed_engine_seconds']:.1f} s); "
          f"drop {100 * out['drop_vs_float_binary']:.1f} points vs float on binary frames")
    if "lava_fixed_pt" in out:
        same = "identical to the engine" if out["lava_equals_engine"] else "DIFFERS from the engine"
        print(f"Lava fixed_pt:          {100 * out['lava_fixed_pt']:.1f}% on {out['lava_samples']} samples "
              f"({out['lava_seconds']:.0f} s), {same} (engine on those: {100 * out['fixed_engine_on_lava_samples']:.1f}%)")
    print(f"wrote {a.out or 'runs/loihi_nmnist'}/results.json, quantization.txt, resources.txt, accuracy.png")
    return 0 if out.get("lava_equals_engine", True) else 1


def _run_loihi_network(a) -> int:
    """A core network compiled for Loihi 2 (quantised, cores counted) and run on ``--engine``."""
    try:
        backend = _backend("loihi", dt=a.dt, threshold_bits=a.threshold_bits, engine=a.engine)
        deployment = backend.compile(_network(a), a.simulate)
    except (ValueError, FileNotFoundError) as err:
        return _error(err)
    print(deployment.info["resources"].table())
    worst = max((r["max_abs_error"] for r in deployment.info["quantization"].projections.values()), default=0.0)
    print(f"weights: 8-bit mantissas, largest error {100 * worst:.2f}% of a projection's largest |weight|")
    res = backend.run(deployment)
    for name, trains in res.spikes.items():
        print(f"{name}: {len(trains)} spikes in {deployment.duration:g} s ({trains.mean_rate():.2f} Hz per neuron) on the "
              f"{'fixed-point engine' if a.engine == 'fixed' else 'Lava simulator'}")
    return 0
