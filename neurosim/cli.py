"""The ``neurosim`` command. The one place that wires the wings (circuits, connectomes,
hardware) to the core; it imports them lazily."""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (argparse prints the usage block first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""../shared/data beside the repository: the default place of the datasets the commands read."""


def _number(kind, lo=None, lo_open=False):
    """An argparse ``type``: an int or a finite float, at least (or above) ``lo``."""
    noun = "an integer" if kind is int else "a finite number"

    def parse(text):
        try:
            x = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if kind is float and not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {noun}")
        if lo is not None and (x < lo or (lo_open and x == lo)):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {noun} {'>' if lo_open else '>='} {lo:g}")
        return x
    return parse


def _fractions(text):
    """An argparse ``type``: comma-separated fractions in (0, 1]."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: every fraction must be in (0, 1]")
    return values


_INT1 = _number(int, 1)
_INT0 = _number(int, 0)
_POSITIVE = _number(float, 0, lo_open=True)
_NONNEG = _number(float, 0)
_FINITE = _number(float)


def _cmd_cuba(a) -> int:
    from circuits.reference.cuba import cuba_network

    from . import Simulator, SpikeMonitor, StateMonitor
    from .atomic import atomic_savez, atomic_write_json

    out = Path(a.out)  # created by the first (atomic) write, so a failed run leaves no empty folder
    net = cuba_network(a.n, seed=a.seed, n_inputs=None if a.n == 4000 else 80)
    sim = Simulator(net, dt=a.dt, dtype=getattr(np, a.dtype), seed=a.seed)
    res = sim.run(a.duration, [SpikeMonitor("cuba"), StateMonitor("cuba", ("v",), neurons=np.arange(5), every=1)], progress=not a.no_progress)
    st = res.spikes["cuba"]
    raster = out / "cuba_raster.png"
    res.plot_raster(raster, max_neurons=a.raster_neurons,
                    title=f"CUBA network (Brette et al. 2007): {a.n} neurons, {a.duration:g} s, mean rate {st.mean_rate():.2f} Hz")
    res.plot_traces(out / "cuba_v.png", "cuba", "v", title="CUBA: membrane potential of 5 neurons")
    atomic_savez(out / "cuba_spikes.npz", {"times": st.times, "ids": st.ids, "dt": np.array(a.dt)})
    summary = {"neurons": a.n, "synapses": net.n_synapses, "duration_s": a.duration, "dt_s": a.dt, "dtype": a.dtype,
               "spikes": len(st), "mean_rate_hz": st.mean_rate(), "loop_time_s": res.wall_time, "jit_time_s": res.compile_time,
               "synaptic_events_per_s": len(st) * net.n_synapses / a.n / max(res.wall_time, 1e-12)}
    atomic_write_json(out / "summary.json", summary)
    print(f"CUBA: {a.n} neurons, {net.n_synapses:,} synapses, {a.duration:g} s at dt = {a.dt * 1e3:g} ms ({a.dtype})")
    print(f"  {len(st):,} spikes, mean rate {st.mean_rate():.2f} Hz")
    print(f"  simulation loop {res.wall_time:.3f} s (JIT/cache load {res.compile_time:.2f} s), "
          f"{summary['synaptic_events_per_s']:.3g} synaptic events/s")
    print(f"  wrote {raster}, {out / 'cuba_v.png'}, {out / 'cuba_spikes.npz'}, {out / 'summary.json'}")
    return 0


def _atomic_h5(path: Path, datasets: dict, attrs: dict) -> None:
    import h5py

    from .atomic import atomic_write

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            for key, value in datasets.items():
                f.create_dataset(key, data=value, compression="gzip" if np.ndim(value) > 1 else None)
            for key, value in attrs.items():
                f.attrs[key] = value
    atomic_write(path, write)


def _cmd_worm(a) -> int:
    import connectomes
    from circuits.worm import plots as worm_plots
    from circuits.worm.model import TOUCH_NEURONS, build_worm, load_worm_params, stimulate
    from circuits.worm.atlas import atlas_pairs, atlas_stimulated, compare, model_responses

    from . import Simulator, StateMonitor

    out = Path(a.out)  # created by the first (atomic) write
    stim_names = _stimulus_names(a.stimulus, TOUCH_NEURONS)
    con = connectomes.load(a.connectome)
    window = (a.stim_start, a.stim_start + a.stim_duration)
    params = load_worm_params(a.params)  # a bad --params fails here, before any work
    net = stimulate(build_worm(con, params=params), stim_names, start=window[0], stop=window[1], depolarization=a.depolarization)
    every = max(1, int(round(a.sample / a.dt)))
    stepping = f"fixed-step BDF2 at dt = {a.dt * 1e3:g} ms" if a.fixed_step else f"adaptive BDF2, first step {a.dt * 1e3:g} ms"
    if params is None:
        model = "Kunert et al. 2014"
    else:
        info = params.get("fit", {})
        source = "the shipped fit" if a.params == "fitted" else f"parameters from {a.params}"
        model = f"Kunert et al. 2014's equations, {source}" + (
            f" (fitted to the {info.get('strain')} atlas on {info['connectome']})" if "connectome" in info else "")
    print(f"worm: {a.connectome} ({con.citation}), 302 graded neurons ({model}), {a.duration:g} s "
          f"({stepping}); stimulus {'+'.join(stim_names)} from {window[0]:g} to {window[1]:g} s with a {a.depolarization * 1e3:g} mV "
          f"drive (the current that would move each stimulated neuron by {a.depolarization * 1e3:g} mV were its partners "
          f"held at rest; coupled partners follow, so it moves further)")
    sim = Simulator(net, dt=a.dt, adaptive=not a.fixed_step)
    res = sim.run(a.duration, [StateMonitor("worm", ("v", "s"), every=every)], progress=not a.no_progress)
    tr = res.traces["worm"]
    v0 = net.population("worm").initial_state()["v"]
    dv = tr["v"] - v0[None, :]
    names = list(con.neurons)
    mode = "fixed step" if a.fixed_step else "adaptive BDF2"
    print(f"  simulated in {res.wall_time:.3f} s ({a.duration / max(res.wall_time, 1e-9):.0f}x real time; {mode}, "
          f"{sim.solver_stats[0]} steps, {sim.solver_stats[1] / max(sim.solver_stats[0], 1):.1f} CG iterations per step)")
    _atomic_h5(out / "worm_traces.h5", {"time_s": tr.times, "v_V": tr["v"], "s": tr["s"], "v_rest_V": v0,
                                         "neurons": np.array(names, dtype="S8")},
               {"connectome": a.connectome, "citation": con.citation, "stimulus": ",".join(stim_names),
                "stimulus_window_s": window, "depolarization_V": a.depolarization, "dt_s": a.dt, "model": model})
    title = f"{a.connectome}: stimulation of {'+'.join(stim_names)} ({window[0]:g}-{window[1]:g} s)"
    worm_plots.activity_heatmap(tr.times, dv, names, con.cell_type, window, out / "worm_activity.png", title)
    peak = np.abs(dv).max(0)
    shown = stim_names + [n for n in np.array(names)[np.argsort(-peak)] if n not in stim_names][: max(0, 10 - len(stim_names))]
    worm_plots.traces(tr.times, dv, names, shown, window, out / "worm_traces.png", title + ": most responsive neurons")
    files = [out / "worm_traces.h5", out / "worm_activity.png", out / "worm_traces.png"]
    if not a.no_compare:
        atlas = connectomes.functional_atlas(a.strain)
        cols = atlas_stimulated(con, atlas)
        print(f"  atlas comparison: stimulating each of the {cols.size} neurons the atlas stimulated ...")
        full = model_responses(con, cols, a.depolarization, a.dt, not a.no_progress, adaptive=not a.fixed_step, params=params)
        metrics = compare(full, con, atlas)
        r, s_ = atlas_pairs(con, atlas)
        worm_plots.atlas_scatter(full[r, s_], con.chemical[s_, r] + con.gap[s_, r], atlas.dff[r, s_], metrics,
                                 out / "worm_atlas.png", f"{a.connectome} vs Randi et al. 2023 ({a.strain}, {r.size} pairs with q < 0.05)")
        files.append(out / "worm_atlas.png")
        print("  | predictor | Spearman rho vs dF/F | sign agreement |")
        print("  |---|---|---|")
        for key in ("model", "connectome (chemical + gap counts)", "connectome (chemical counts)"):
            m = metrics[key]
            print(f"  | {key} | {m['spearman']:+.3f} | {m['sign_agreement']:.3f} |")
        print(f"  ({metrics['model']['pairs']} pairs; {metrics['directly connected fraction']:.0%} directly connected; "
              f"{metrics['fraction of pairs with dF/F > 0']:.0%} have dF/F > 0)")
        fit = (params or {}).get("fit", {})
        if fit.get("strain") == a.strain and fit.get("connectome") == a.connectome:
            print("  (in-sample: these parameters were fitted to these pairs; held-out numbers: `neurosim fit worm`)")
        from .atomic import atomic_write_json

        atomic_write_json(out / "worm_atlas_metrics.json", metrics)
        files.append(out / "worm_atlas_metrics.json")
    print("  wrote " + ", ".join(str(f) for f in files))
    return 0


def _cmd_fit(a) -> int:
    import torch

    from circuits.worm.fit import cross_validate

    torch.set_num_threads(2)
    what = f"{a.connectome}" + (f" (degree-preserving shuffle, seed {a.shuffle})" if a.shuffle is not None else "")
    if a.ablation:
        return _fit_ablation(a, what)
    print(f"fit worm: {what} against the {a.strain} atlas, {a.folds} folds of stimulated neurons (seed {a.seed})")
    s = cross_validate(a.connectome, a.strain, a.folds, a.seed, a.steps, a.out, a.resume, not a.no_progress, a.shuffle)
    print("  held-out (mean +- sd over folds) | Spearman rho vs dF/F | sign agreement |")
    print("  |---|---|---|")
    for name, label in (("connectome", "raw connectome"), ("kunert", "Kunert et al. 2014"), ("fitted", "fitted model"),
                        ("responder_mean", "responder mean (no wiring)")):
        rho, sg = s[f"{name}_spearman"], s[f"{name}_sign_agreement"]
        print(f"  | {label} | {rho['mean']:+.3f} +- {rho['sd']:.3f} | {sg['mean']:.3f} +- {sg['sd']:.3f} |")
    print(f"  always positive: sign agreement {s['always_positive']['mean']:.3f}")
    print(f"  wrote {a.out}/params.json (fit on every stimulated neuron), metrics.json, folds/")
    return 0


def _fit_ablation(a, what: str) -> int:
    from circuits.worm.ablation import ablation

    from .atomic import atomic_write_json

    print(f"fit worm --ablation: {what} against the {a.strain} atlas; every model variant on the same {a.folds} folds "
          f"(seed {a.seed}), held-out rho of the linear response")
    res = ablation(a.connectome, a.strain, a.folds, a.seed, a.steps, shuffle_seed=a.shuffle, progress=not a.no_progress)
    print("  | variant | held-out Spearman rho | sign agreement | rho vs dF/F minus the responder mean |")
    print("  |---|---|---|---|")
    for name, m in [*res["variants"].items(), ("raw connectome (not fitted)", res["connectome"])]:
        rho, sg, re = m["spearman"], m["sign_agreement"], m["spearman_residual"]
        print(f"  | {name} | {rho['mean']:+.3f} +- {rho['sd']:.3f} | {sg['mean']:.3f} +- {sg['sd']:.3f} | "
              f"{re['mean']:+.3f} +- {re['sd']:.3f} |")
    rho = res["responder_mean"]["spearman"]
    print(f"  | responder mean (no wiring) | {rho['mean']:+.3f} +- {rho['sd']:.3f} | | |")
    path = atomic_write_json(Path(a.out) / "ablation.json", res)
    print(f"  wrote {path}")
    return 0


def _cmd_activity(a) -> int:
    from circuits.worm import plots as worm_plots
    from circuits.worm.activity import activity_check

    from .atomic import atomic_write_json

    print(f"activity: spontaneous activity of the worm model on {a.connectome} (independent white-noise currents, "
          f"indicator time constant {a.tau_indicator:g} s) against the recordings in {a.recordings}")
    res = activity_check(a.recordings, a.connectome, a.params, a.tau_indicator, a.shuffle)
    keys = list(worm_plots.ACTIVITY_STATS)
    print("  | | " + " | ".join(worm_plots.ACTIVITY_STATS[k] for k in keys) + " |")
    print("  |---|" + "---|" * len(keys))
    for r in res["recordings"]:
        print(f"  | recording {r['recording']} ({r['neurons']} neurons) | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    size = res["settings"]["neurons_per_draw"]
    for name, m in res["models"].items():
        print(f"  | model: {name} ({size} random neurons, mean of {res['settings']['draws']}) | "
              + " | ".join(f"{m[k]:.3f}" for k in keys) + " |")
    out = Path(a.out)
    worm_plots.activity_summary(res, out / "worm_activity_check.png",
                                f"spontaneous activity: model ({a.connectome}) vs recordings (Dag et al. 2023)")
    atomic_write_json(out / "worm_activity_check.json", res)
    print(f"  wrote {out / 'worm_activity_check.json'}, {out / 'worm_activity_check.png'}")
    return 0


def _cmd_atlas(a) -> int:
    from circuits.worm.atlas import signal_propagation

    rows = []
    for name in a.connectomes:
        print(f"{name}: stimulating every atlas-stimulated neuron in the model and in a degree-preserving shuffle ...", flush=True)
        r = signal_propagation(name, strain=a.strain, depolarization=a.depolarization, dt=a.dt, shuffle_seed=a.seed,
                               progress=not a.no_progress)
        rows.append((name, r.metrics))
    print("\n| connectome | pairs | model rho | connectome rho (chem + gap) | connectome rho (chem) | shuffled-model rho "
          "| model sign agr. | connectome sign agr. | pairs with dF/F > 0 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, m in rows:
        print(f"| {name} | {m['model']['pairs']} | {m['model']['spearman']:+.3f} | {m['connectome (chemical + gap counts)']['spearman']:+.3f} "
              f"| {m['connectome (chemical counts)']['spearman']:+.3f} | {m['model on shuffled connectome']['spearman']:+.3f} "
              f"| {m['model']['sign_agreement']:.3f} | {m['connectome (chemical + gap counts)']['sign_agreement']:.3f} "
              f"| {m['fraction of pairs with dF/F > 0']:.3f} |")
    if a.json:
        from .atomic import atomic_write_json

        atomic_write_json(a.json, dict(rows))
    return 0


def _cmd_train(a) -> int:
    import torch

    torch.set_num_threads(a.threads)
    try:
        if a.task == "nmnist":
            from circuits.nmnist.classifier import train_nmnist

            root = Path(a.data)
            if not (root / "train1K.txt").is_file():
                print(f"neurosim train: error: --data {root}: no train1K.txt there (the N-MNIST subset: root/train1K.txt, "
                      f"root/train/<id>.bs2)", file=sys.stderr)
                return 2
            from . import parallel

            kw = dict(time_bins=a.time_bins, seed=a.seed, resume=a.resume, progress=not a.no_progress, limit=a.limit,
                      stop_after=a.stop_after, overwrite=a.overwrite, **_given(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr))
            if a.ddp > 1:  # N local processes; rank 0 writes metrics.json
                parallel.spawn(train_nmnist, a.ddp, root, a.out, **kw)
                history = json.loads((Path(a.out) / "metrics.json").read_text())
            else:
                parallel.init_from_env()  # started by torchrun: join its process group
                history = train_nmnist(root, a.out, **kw)
                if not parallel.is_main():
                    return 0
            files = "metrics.json, checkpoint.pt, model_state.pt, confusion.png, accuracy.png"
        elif a.task.startswith("astro-"):
            return _train_astro(a)
        elif a.task == "hlop":
            return _train_hlop(a)
        else:
            from circuits.hdsnn.task import train_hdsnn

            history = train_hdsnn(a.out, resume=a.resume, overwrite=a.overwrite, progress=not a.no_progress, stop_after=a.stop_after,
                                  seed=a.seed, **_given(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, n_train=a.movies,
                                                        n_test=a.test_movies, l1=a.l1))
            files = "settings.json, metrics.json, checkpoint.pt, model_state.pt, kernels.png, confusion.png, accuracy.png"
    except KeyboardInterrupt:
        print(f"\nneurosim train: interrupted. {_resume_hint(a)}", file=sys.stderr)
        return 130
    best = max(h["test_accuracy"] for h in history)
    print(f"final held-out accuracy {history[-1]['test_accuracy']:.3f} (best {best:.3f}); wrote {files} to {a.out}")
    return 0


def _train_astro(a) -> int:
    from circuits.astro import language, memory
    from circuits.astro.tasks import MODEL_NAMES

    common = dict(resume=a.resume, overwrite=a.overwrite, progress=not a.no_progress, stop_after=a.stop_after, seed=a.seed,
                  **_given(models=a.models, n_hidden=a.hidden, iterations=a.iterations, batch_size=a.batch_size, lr=a.lr,
                           tau_astro=a.tau_astro))
    if a.task == "astro-memory":
        r = memory.train_memory(a.out, **common, **_given(delays=a.delays))
        if not r.get("complete"):
            print(f"stopped early; continue with --resume. {len(r['runs'])} runs finished in {a.out}")
            return 0
        print(f"delayed recall, held-out accuracy (chance {1 / r['task']['n_cues']:.2f}); parameters per model <= {r['budget']}")
        print("| delay (steps) | " + " | ".join(MODEL_NAMES[m] for m in dict.fromkeys(x["model"] for x in r["runs"])) + " |")
        print("|---" * (1 + len({x['model'] for x in r['runs']})) + "|")
        for d in dict.fromkeys(x["delay"] for x in r["runs"]):
            row = [x for x in r["runs"] if x["delay"] == d]
            print(f"| {d} | " + " | ".join(f"{x['test_accuracy']:.3f}" for x in row) + " |")
        print(f"wrote results.json, memory.png and one folder per model and delay to {a.out}")
    else:
        r = language.train_language(a.text, a.out, **common, **_given(seq_len=a.seq_len))
        if not r.get("complete"):
            print(f"stopped early; continue with --resume. {len(r['runs'])} models finished in {a.out}")
            return 0
        print(f"Tiny Shakespeare, held-out last 10% ({r['test_chars']:,} characters): bits per character")
        print("| model | parameters | hidden units | held-out bits/char | training time (s) |\n|---|---|---|---|---|")
        for x in r["runs"]:
            print(f"| {MODEL_NAMES[x['model']]} | {x['parameters']:,} | {x['hidden']} | {x['test_bpc']:.3f} | {x['seconds']:.0f} |")
        print(f"wrote results.json, bpc.png, samples.txt and one folder per model to {a.out}")
    return 0


def _train_hlop(a) -> int:
    import torch

    from circuits.hlop import train as hlop

    cfg = hlop.ContinualConfig(seed=a.seed, spiking_lateral=a.spiking_lateral,
                               **_given(n_tasks=a.tasks, n_train=a.train_size, epochs=a.epochs, lr=a.lr,
                                        batch_size=a.batch_size, ewc_lambda=a.ewc_lambda))
    methods = hlop.METHODS if a.method in (None, "all") else (a.method,)
    runs = hlop.train_all(a.out, methods, cfg, data_root=a.data, resume=a.resume, overwrite=a.overwrite,
                          progress=not a.no_progress, stop_after=a.stop_after)
    done = [r for r in runs if r["complete"]]
    print(f"permuted MNIST, {cfg.n_tasks} tasks, {cfg.n_train} training / {10000 - cfg.n_train} held-out images per task, "
          f"{cfg.epochs} epoch(s) per task, {torch.get_num_threads()} threads")
    print("| method | ACC (%) | BWT (%) | training time (s) |\n|---|---|---|---|")
    for r in done:
        bwt = "-" if r["BWT"] is None else f"{100 * r['BWT']:+.2f}"
        print(f"| {r['method']} | {100 * r['ACC']:.2f} | {bwt} | {r['training_seconds']:.0f} |")
    if len(done) < len(runs):
        print(f"stopped early; continue with --resume ({len(done)} of {len(runs)} methods finished)")
    print(f"wrote results.json, metrics.json, checkpoint.pt and accuracy_matrix.png per method to {a.out}")
    return 0


def _cmd_eval(a) -> int:
    import torch

    from circuits.hdsnn.task import ONE_MOTION_TEST
    from circuits.hdsnn.evaluate import evaluate_hdsnn

    torch.set_num_threads(a.threads)
    one_motion = {**ONE_MOTION_TEST, **_given(n_movies=a.one_motion_movies, n_steps=a.one_motion_steps)}
    s = evaluate_hdsnn(a.run, progress=not a.no_progress, one_motion=one_motion, per_class=a.per_class,
                       **_given(fractions=a.prune, core_movies=a.core_movies, core_size=a.core_size,
                                core_fraction=a.core_fraction, finetune_epochs=a.finetune_epochs, finetune_lr=a.finetune_lr))
    print(f"HD-SNN {a.run}: held-out accuracy against the fraction of active weights "
          f"(input: {s['input_events_per_s']:.3g} events/s). Per movie: one decision for each of "
          f"{one_motion['n_movies']} held-out movies of one motion ({one_motion['n_steps']} steps; the paper's test), "
          f"from the averaged logits or from the evidence alone (the bias beta left out: naive Bayes counts the prior "
          f"once, not once per position); the other columns: a decision at every step of the saccadic held-out movies")
    sweeps = [("", "rows", "pruned once, every class to the same number of synapses (its largest |K|)" if a.per_class
               else "pruned once (the paper's pruning: the largest |K| of the whole layer)")]
    if "rows_finetuned" in s:
        sweeps.append(("finetuned_", "rows_finetuned", f"pruned iteratively, retrained {s['finetune']['epochs']} epoch(s) "
                                                        f"at each fraction"))
    for prefix, key_rows, title in sweeps:
        print(title + ":")
        print("| active weights | fraction | 36 classes, per movie | 12 directions, per movie "
              "| 36 classes, per movie, evidence alone | 12 directions, per movie, evidence alone | 36 classes, every step "
              "| 12 directions, every step | 36 classes, settled steps | 12 directions, settled steps "
              "| synaptic ops per s of input |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in sorted(s[key_rows], key=lambda r: -r["active_fraction"]):
            print(f"| {r['active_weights']:,} | {r['active_fraction']:.4f} | {r['movie_accuracy']:.3f} "
                  f"| {r['movie_direction_accuracy']:.3f} | {r['movie_accuracy_no_bias']:.3f} "
                  f"| {r['movie_direction_accuracy_no_bias']:.3f} | {r['accuracy']:.3f} | {r['direction_accuracy']:.3f} "
                  f"| {r['accuracy_settled']:.3f} | {r['direction_accuracy_settled']:.3f} | {r['synaptic_ops_per_s']:.3g} |")
        for key, what in (("movie_direction_accuracy", "12-direction (per movie)"), ("movie_accuracy", "36-class (per movie)"),
                          ("movie_direction_accuracy_no_bias", "12-direction (per movie, evidence alone)"),
                          ("movie_accuracy_no_bias", "36-class (per movie, evidence alone)"),
                          ("direction_accuracy", "12-direction (every step)"), ("accuracy", "36-class (every step)"),
                          ("direction_accuracy_settled", "12-direction (settled)"), ("accuracy_settled", "36-class (settled)")):
            f = s[f"{prefix}half_{key}_fraction"]
            print(f"  {what} accuracy falls halfway to chance at " + (f"{f:.4f} of the weights" if f else "no swept fraction"))
    print(f"settled steps (the whole {s['n_delays']}-step delay window in one motion): {s['settled_fraction']:.0%} of the steps")
    c = s["core"]
    print(f"core simulator, layer pruned to {c['active_weights']:,} weights{' and retrained' if c['finetuned'] else ''}, "
          f"{c['movies']} held-out movies ({c['crop']} px crops): "
          f"same decision at {c['decision_agreement']:.2%} of {c['positions_times']:,} positions x steps; synaptic events "
          f"{c['synaptic_events_measured']:,} measured, {c['synaptic_events_expected']:,} = active weights x input events")
    print(f"wrote {', '.join(s['files'])} to {a.run}")
    return 0


def _given(**options) -> dict:
    """The options the user set (argparse default None): the rest keep the library's defaults."""
    return {k: v for k, v in options.items() if v is not None}


def _resume_hint(a) -> str:
    """How to continue an interrupted training run (or that there is nothing to continue)."""
    if a.task.startswith("astro-") or a.task == "hlop":
        args = [x for x in a.argv if x != "--overwrite"] + ([] if a.resume else ["--resume"])
        return ("Finished runs and the last checkpoint of the one in progress are kept; continue with:\n"
                f"  neurosim {' '.join(shlex.quote(x) for x in args)}")
    metrics = Path(a.out) / "metrics.json"
    if not (Path(a.out) / "checkpoint.pt").is_file() or not metrics.is_file():
        return "No epoch had finished, so there is nothing to resume."
    done = json.loads(metrics.read_text())[-1]["epoch"]
    args = [x for x in a.argv if x != "--overwrite"] + ([] if a.resume else ["--resume"])
    return (f"Epochs 1-{done} are saved in {a.out}/checkpoint.pt; continue with the same settings:\n"
            f"  neurosim {' '.join(shlex.quote(x) for x in args)}")


def _stimulus_names(spec: str, touch_neurons: dict) -> list:
    """Neuron names of a ``--stimulus`` value (``touch-anterior`` or ``AVAL,AVAR``),
    normalised. ``ValueError`` for unknown, repeated or no names."""
    import connectomes

    if spec.startswith("touch-"):
        where = spec.split("-", 1)[1]
        if where not in touch_neurons:
            raise ValueError(f"--stimulus {spec!r}: use {', '.join('touch-' + k for k in sorted(touch_neurons))} or neuron names")
        return list(touch_neurons[where])
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError(f"--stimulus {spec!r} names no neuron")
    try:
        names = [connectomes.normalize_name(n) for n in names]
    except KeyError as err:
        raise ValueError(f"--stimulus: {err.args[0]}") from None
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"--stimulus lists {', '.join(repeated)} more than once (each listing would add another drive)")
    return names


def _deploy_network(a):
    """The core Network a deploy target reads: 'cuba' (default) or a Network.save file."""
    if a.model in (None, "cuba"):
        from circuits.reference.cuba import cuba_network

        return cuba_network(4000, seed=a.seed)
    from neurosim.network import Network

    return Network.load(a.model)


def _deploy_spinnaker(a) -> int:
    from hardware.spinnaker import Machine, map_network
    from hardware.spinnaker.report import plot_machine_load

    try:
        net = _deploy_network(a)
        kw = {"neurons_per_core": a.neurons_per_core, "timestep": a.dt}
        machine = Machine.torus(*a.torus, **kw) if a.torus else Machine.board(**kw)
        mapping = map_network(net, machine, a.placement, a.seed)
        r = mapping.report()
        print(f"{r['slices']} slices on {r['cores_used']} cores of {r['chips_used']} chips (machine: {r['chips']} chips x "
              f"{machine.cores_per_chip} cores); mapped in {sum(mapping.seconds.values()):.2f} s")
        print(f"routing tables: largest {r['max_table_before']} -> {r['max_table_after']} entries after compression "
              f"(limit {r['table_size']}), {r['total_entries_before']} -> {r['total_entries_after']} in all")
        print(f"link traversals if every neuron fires once: {r['link_traversals_per_spike_wave']:.3g}")
        stats = None
        if a.simulate:
            from hardware.spinnaker.simulate import simulate_fixed

            res, stats = simulate_fixed(net, mapping, a.simulate)
            n_spk = sum(len(t) for t in res.spikes.values())
            steps = int(round(a.simulate / machine.timestep))
            print(f"s16.15 run of {a.simulate:g} s: {n_spk} spikes, {sum(stats['packets_per_link'].values()) / steps:.1f} link "
                  f"packets per step, max link load {stats['max_link_packets_per_step']} packets in a step, "
                  f"{stats['dropped_packets']} dropped, CPU load per core up to {100 * stats['cpu_load'].max():.1f}% of a step")
        if a.heatmap:
            plot_machine_load(mapping, stats, a.heatmap)
            print(f"wrote {a.heatmap}")
        if a.pynn:
            from hardware.spinnaker.pynn_export import export_pynn

            script = export_pynn(net, a.pynn, a.simulate or 1.0, machine.timestep)
            print(f"wrote the PyNN script {script} (and network.npz beside it): `python {script}` runs it on SpiNNaker, "
                  f"`python {script} pyNN.brian2 spikes.npz` on Brian2")
    except (ValueError, FileNotFoundError) as err:
        print(f"neurosim deploy: error: {err}", file=sys.stderr)
        return 2
    return 0


def _deploy_pynn(a) -> int:
    from hardware.spinnaker.pynn_export import export_pynn

    try:
        script = export_pynn(_deploy_network(a), a.out or "runs/pynn", a.simulate or 1.0, a.dt)
    except (ValueError, FileNotFoundError) as err:
        print(f"neurosim deploy: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote the PyNN script {script} (and network.npz beside it): `python {script}` runs it on SpiNNaker (sPyNNaker), "
          f"`python {script} pyNN.brian2 spikes.npz` on Brian2")
    return 0


def _deploy_nir(a) -> int:
    from hardware import nir as hnir

    from .runlock import file_lock

    model = None
    try:
        model_path = Path(a.model or "runs/nmnist")
        if model_path.suffix == ".npz" or a.model == "cuba":
            net = _deploy_network(a)
            graph, what = hnir.network_to_nir(net, a.dt), f"network {model_path.name}"
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
        print(f"neurosim deploy: error: {err}", file=sys.stderr)
        return 2
    kinds = {}
    for node in graph.nodes.values():
        kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
    print(f"wrote {out}: {what} as {len(graph.nodes)} NIR nodes ({', '.join(f'{v} {k}' for k, v in kinds.items())}), "
          f"discretisation: {a.nir_for}")
    if a.check and model is None:
        print("--check compares a trained model with snnTorch or Norse; a core network has no peer run here", file=sys.stderr)
        return 2
    if a.check:
        return _check_nir(a, model, settings, graph, dt)
    return 0


def _check_nir(a, model, settings, graph, dt) -> int:
    """Run held-out samples in the peer the graph was written for and compare with neurosim."""
    import numpy as np
    import torch

    from circuits.nmnist.classifier import load_frames
    from hardware.nir.peers import run_norse, run_snntorch, spike_agreement
    from neurosim.nn import Sequential

    if a.nir_for == "exact":
        print("--check runs the graph in snnTorch or Norse: write it with --for snntorch or --for norse")
        return 2
    frames, _, _ = load_frames(a.data, settings["time_bins"])
    x = frames[-a.check:].astype(np.float32)
    theirs = run_snntorch(graph, x) if a.nir_for == "snntorch" else run_norse(graph, x, dt)
    with torch.no_grad():
        ours = [o.transpose(0, 1).numpy() for o in Sequential(*model.layers()).outputs(torch.from_numpy(x).transpose(0, 1))]
    ours = [o for o, layer in zip(ours, model.layers()) if hasattr(layer, "neuron")]
    worst = 1.0
    for (name, rec), mine in list(zip(theirs.items(), ours))[:-1]:  # the last is the readout membrane
        if rec["spikes"].any() or mine.any():
            ag = spike_agreement(mine, rec["spikes"])
            worst = min(worst, ag["within_one_step"])
            print(f"  {name}: {ag['n_ours']} spikes in neurosim, {ag['n_theirs']} in {a.nir_for}; identical {100 * ag['identical']:.2f}%, "
                  f"within one step {100 * ag['within_one_step']:.2f}%")
    v_peer = list(theirs.values())[-1]["v"]
    same = float(np.mean(ours[-1].max(1).argmax(-1) == v_peer.max(1).argmax(-1)))
    print(f"  readout membrane: largest difference {np.abs(ours[-1] - v_peer).max():.2e} (of values up to "
          f"{np.abs(ours[-1]).max():.2f}); decisions: {100 * same:.1f}% of {x.shape[0]} held-out samples the same")
    return 0 if worst >= 0.99 and same == 1.0 else 1


def _cmd_deploy(a) -> int:
    if a.target == "spinnaker":
        return _deploy_spinnaker(a)
    if a.target == "pynn":
        return _deploy_pynn(a)
    if a.target == "nir":
        return _deploy_nir(a)
    import torch

    torch.set_num_threads(a.threads)
    from circuits.nmnist.loihi import deploy_nmnist

    try:
        out = deploy_nmnist(a.model or "runs/nmnist", a.data, a.out or "runs/loihi_nmnist", n_samples=a.samples, lava_samples=a.lava_samples,
                            threshold_bits=a.threshold_bits, progress=not a.no_progress)
    except ValueError as err:
        print(f"neurosim deploy: error: {err}", file=sys.stderr)
        return 2
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


def _cmd_sweep(a) -> int:
    import circuits.reference.sweep  # noqa: F401 - registers the built-in tasks (worm, cuba)
    import circuits.worm.sweep  # noqa: F401

    from .sweep import SweepSpec, resolve_task, run_sweep

    spec = SweepSpec.load(a.spec)
    resolve_task(spec.task, a.allow_module_task)  # an unknown task is refused before the cluster starts
    where = a.scheduler or f"a LocalCluster of {a.workers} worker process(es)"
    print(f"sweep: {spec.n_points} points of {spec.task} on {where}; results in {a.out}/")
    try:
        df = run_sweep(spec, a.out, scheduler=a.scheduler, n_workers=a.workers, resume=a.resume, progress=not a.no_progress,
                       allow_module_tasks=a.allow_module_task)
    except KeyboardInterrupt:
        print(f"\nneurosim sweep: interrupted; the finished points are in {a.out}/points and {a.out}/results.parquet; "
              "rerun with --resume to finish", file=sys.stderr)
        return 130
    failed = df[df["status"] != "ok"]
    print(f"{len(df) - len(failed)} of {len(df)} points done, {len(failed)} failed; wrote {a.out}/results.parquet")
    for _, row in failed.head(5).iterrows():
        print(f"  point {row['point']} failed: {row['error']}")
    return 0 if failed.empty else 1


BENCHMARKS = ["cuba", "scale", "worm", "train_lif", "astro_coba", "loihi_fixed_point", "spinnaker_mapping", "sweep", "input_memory"]


def _cmd_bench(a) -> int:
    script = Path(__file__).resolve().parents[1] / "benchmarks" / f"{a.name}.py"
    if not script.is_file():
        print(f"error: benchmark script {script} not found; benchmarks run from a source checkout "
              f"(available: {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, str(script), *a.args])


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="neurosim", description="Spiking and neuromorphic simulation on one neuron/synapse core.")
    sub = ap.add_subparsers(dest="command", required=True)

    c = sub.add_parser("cuba", help="simulate the Brette et al. (2007) CUBA network and plot a raster")
    c.add_argument("--n", type=_number(int, 80), default=4000,
                   help="number of neurons, >= 80 (default 4000; other sizes keep 80 inputs per neuron)")
    c.add_argument("--duration", type=_POSITIVE, default=1.0, help="biological time in s (default 1)")
    c.add_argument("--dt", type=_POSITIVE, default=1e-4, help="time step in s (default 1e-4)")
    c.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    c.add_argument("--seed", type=_INT0, default=0)
    c.add_argument("--out", default="runs/cuba", help="output folder (default runs/cuba)")
    c.add_argument("--raster-neurons", type=_INT1, default=500, help="neurons shown in the raster")
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(func=_cmd_cuba)

    w = sub.add_parser("worm", help="simulate the whole C. elegans worm (Kunert et al. 2014) and compare with the Randi 2023 atlas")
    w.add_argument("--connectome", default="cook2019_herm", help="dataset (default cook2019_herm; see connectomes.available())")
    w.add_argument("--stimulus", default="touch-anterior",
                   help="comma-separated neuron names (e.g. AVAL,AVAR) or touch-anterior / touch-posterior (default touch-anterior)")
    w.add_argument("--depolarization", type=_FINITE, default=10e-3,
                   help="stimulus drive in V (default 0.01): each stimulated neuron gets the current that would move it by this "
                        "much were its partners held at rest")
    w.add_argument("--stim-start", type=_NONNEG, default=1.0, help="stimulus onset in s (default 1)")
    w.add_argument("--stim-duration", type=_POSITIVE, default=2.0, help="stimulus length in s (default 2)")
    w.add_argument("--duration", type=_POSITIVE, default=10.0, help="worm time in s (default 10)")
    w.add_argument("--dt", type=_POSITIVE, default=1e-3,
                   help="time step in s (default 1e-3); with the adaptive solver the first step and the sampling unit")
    w.add_argument("--fixed-step", action="store_true", help="fixed-step BDF2 instead of the adaptive solver")
    w.add_argument("--sample", type=_POSITIVE, default=0.01, help="trace sampling interval in s (default 0.01)")
    w.add_argument("--strain", choices=["wt", "unc31"], default="wt", help="atlas strain for the comparison")
    w.add_argument("--no-compare", action="store_true", help="skip the atlas comparison")
    w.add_argument("--out", default="runs/worm", help="output folder (default runs/worm)")
    w.add_argument("--params", default="fitted",
                   help="model parameters: fitted (default: the shipped fit to the Randi 2023 atlas, circuits/data/worm_fit.json), "
                        "kunert (Kunert et al. 2014's own) or a params.json written by `neurosim fit worm`")
    w.add_argument("--no-progress", action="store_true")
    w.set_defaults(func=_cmd_worm)

    fw = sub.add_parser("fit", help="fit: worm (the whole-worm model's transmitter gains, reversal potentials, gap and "
                                    "sigmoid against the Randi 2023 atlas, validated on held-out stimulated neurons)")
    fw.add_argument("model", choices=["worm"])
    fw.add_argument("--connectome", default="cook2019_herm")
    fw.add_argument("--strain", choices=["wt", "unc31"], default="wt")
    fw.add_argument("--folds", type=_INT1, default=5, help="folds of stimulated neurons (default 5)")
    fw.add_argument("--seed", type=_INT0, default=0, help="seed of the split into folds")
    fw.add_argument("--steps", type=_INT1, default=300, help="Adam steps per fit (default 300)")
    fw.add_argument("--shuffle", type=_INT0, default=None, metavar="SEED",
                    help="fit a degree-preserving shuffle of the connectome instead (the null)")
    fw.add_argument("--out", default="runs/fit_worm", help="output folder (default runs/fit_worm)")
    fw.add_argument("--resume", action="store_true", help="continue a fit in --out, skipping finished folds")
    fw.add_argument("--ablation", action="store_true",
                    help="instead: fit every model variant (receptor signs, extrasynaptic networks, a per-class readout) on "
                         "the same folds and compare held-out rho (writes --out/ablation.json)")
    fw.add_argument("--no-progress", action="store_true")
    fw.set_defaults(func=_cmd_fit)

    ac = sub.add_parser("activity", help="compare the worm model's spontaneous activity (noise-driven, linearised) with "
                                         "whole-brain recordings by label-free correlation statistics")
    ac.add_argument("--connectome", default="cook2019_herm")
    ac.add_argument("--params", nargs="+", default=["kunert", "fitted"], help="parameter sets (kunert, fitted, or params.json files)")
    ac.add_argument("--recordings", default=str(SHARED_DATA / "celegans_activity"),
                    help="folder of Flavell-lab HDF5 recordings (default ../shared/data/celegans_activity)")
    ac.add_argument("--tau-indicator", type=_NONNEG, default=1.0, help="calcium-indicator time constant in s (default 1; 0: voltage)")
    ac.add_argument("--shuffle", type=_INT0, default=0, metavar="SEED", help="seed of the degree-preserving shuffle (default 0)")
    ac.add_argument("--out", default="runs/worm_activity", help="output folder (default runs/worm_activity)")
    ac.set_defaults(func=_cmd_activity)

    at = sub.add_parser("atlas", help="compare whole-worm signal propagation with the Randi 2023 atlas for several connectomes")
    at.add_argument("--connectomes", nargs="+", default=["cook2019_herm", "witvliet2021_8", "white1986_whole"])
    at.add_argument("--strain", choices=["wt", "unc31"], default="wt")
    at.add_argument("--depolarization", type=_FINITE, default=10e-3, help="stimulus drive in V (see neurosim worm --help)")
    at.add_argument("--dt", type=_POSITIVE, default=1e-3)
    at.add_argument("--seed", type=_INT0, default=0, help="seed of the degree-preserving shuffle")
    at.add_argument("--json", default=None, help="also write the metrics here")
    at.add_argument("--no-progress", action="store_true")
    at.set_defaults(func=_cmd_atlas)

    t = sub.add_parser("train", help="train: nmnist (N-MNIST classifier), hdsnn (HD-SNN motion detection), astro-memory "
                                     "(delayed recall) or astro-lm (Tiny Shakespeare) for AM-SU, recurrent LIF and LSTM, hlop (continual learning on "
                                     "permuted MNIST)")
    t.add_argument("task", choices=["nmnist", "hdsnn", "astro-memory", "astro-lm", "hlop"])
    t.add_argument("--data", default=None,
                   help="nmnist: N-MNIST subset folder (default ../shared/data/nmnist_small); hlop: MNIST folder with "
                        "t10k-*-ubyte.gz (default ../shared/data/mnist)")
    t.add_argument("--epochs", type=_INT1, default=None, help="default 30 (nmnist), 12 (hdsnn); hlop: per task (default 3)")
    t.add_argument("--batch-size", type=_INT1, default=None, help="default 25 (nmnist), 8 (hdsnn), 32 (astro-*), 64 (hlop)")
    t.add_argument("--lr", type=_POSITIVE, default=None, help="Adam learning rate; default 2e-3 (nmnist, hdsnn), 3e-3 (astro-memory), 1e-2 (astro-lm); "
                                                                   "hlop: SGD learning rate (default 0.05, momentum 0.9)")
    t.add_argument("--time-bins", type=_INT1, default=20, help="nmnist: frames per ~300 ms sample (the layers' dt is the bin width)")
    t.add_argument("--movies", type=_INT1, default=None, help="hdsnn: training movies (default 400)")
    t.add_argument("--test-movies", type=_INT1, default=None, help="hdsnn: held-out movies, from other photographs (default 30)")
    t.add_argument("--l1", type=_NONNEG, default=None,
                   help="hdsnn: L1 penalty on the kernel, l1 x sum |K| added to the loss (default 0: off)")
    t.add_argument("--models", nargs="+", choices=["amsu", "lif", "lstm"], default=None,
                   help="astro-*: models to train (default amsu lif lstm)")
    t.add_argument("--delays", nargs="+", type=_INT1, default=None, help="astro-memory: delays in steps (default 50 100 250 500 1000)")
    t.add_argument("--hidden", type=_INT1, default=None,
                   help="astro-*: AM-SU units (the others get its parameter count; default 64 memory, 256 lm)")
    t.add_argument("--iterations", type=_INT1, default=None, help="astro-*: training iterations per model (default 300 memory, 2000 lm)")
    t.add_argument("--tau-astro", type=_POSITIVE, default=None, help="astro-*: astrocyte time constant in s (default 2 memory, 0.1 lm; dt 1 ms)")
    t.add_argument("--seq-len", type=_INT1, default=None, help="astro-lm: training window in characters (default 128)")
    t.add_argument("--text", default=str(SHARED_DATA / "text" / "tinyshakespeare.txt"),
                   help="astro-lm: UTF-8 text file (default ../shared/data/text/tinyshakespeare.txt)")
    t.add_argument("--method", choices=["baseline", "ewc", "hlop", "multitask", "all"], default=None,
                   help="hlop: continual-learning method, or all four in OUT/<method> (default all)")
    t.add_argument("--tasks", type=_INT1, default=None, help="hlop: permuted-MNIST tasks (default 10)")
    t.add_argument("--train-size", type=_INT1, default=None,
                   help="hlop: training images per task from the 10,000 (the rest are held out; default 8000)")
    t.add_argument("--spiking-lateral", action="store_true", help="hlop: spiking lateral neurons (quantised responses)")
    t.add_argument("--ewc-lambda", type=_number(float, 0), default=None, help="hlop --method ewc: penalty strength")
    t.add_argument("--seed", type=_INT0, default=0)
    t.add_argument("--threads", type=_INT1, default=2)
    t.add_argument("--limit", type=_INT1, default=None, help="nmnist: use only this many training samples (quick checks)")
    t.add_argument("--ddp", type=_INT1, default=1, metavar="N",
                   help="nmnist: train data-parallel in N local processes (torch.distributed, gloo); on several machines "
                        "start `neurosim train nmnist` with torchrun instead (README)")
    t.add_argument("--out", default=None, help="run folder (default runs/<task>)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt (with the same settings)")
    t.add_argument("--overwrite", action="store_true", help="replace a run already in OUT (without it, an existing run is refused)")
    t.add_argument("--stop-after", type=_INT1, default=None,
                   help="stop after this epoch (astro-*: iteration of each model; hlop: epoch of each method, counted over "
                        "all tasks) and resume later with --resume")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("eval", help="evaluate a trained model: hdsnn (pruning sweep and event-driven core run)")
    e.add_argument("task", choices=["hdsnn"])
    e.add_argument("--run", default="runs/hdsnn", help="run folder of neurosim train hdsnn (default runs/hdsnn)")
    e.add_argument("--prune", type=_fractions, default=None,
                   help="comma-separated fractions of active weights to keep (default 1,0.3,0.1,0.05,...,0.001)")
    e.add_argument("--core-fraction", type=_number(float, 0, lo_open=True), default=None,
                   help="fraction of weights of the layer run in the core simulator (default 0.05)")
    e.add_argument("--core-movies", type=_INT1, default=None, help="held-out movies run in the core simulator (default 2)")
    e.add_argument("--core-size", type=_INT1, default=None, help="crop (pixels) of the movies run in the core simulator (default 20)")
    e.add_argument("--finetune-epochs", type=_number(int, 0), default=None,
                   help="also prune iteratively, retraining the surviving weights this many epochs at each fraction "
                        "(Han et al. 2015; default 0: only the paper's one-shot pruning)")
    e.add_argument("--finetune-lr", type=_POSITIVE, default=None, help="Adam learning rate of the retraining (default 3e-4)")
    e.add_argument("--per-class", action="store_true",
                   help="prune every class to the same number of synapses (its largest |K|) instead of the largest |K| of "
                        "the whole layer (the paper's); writes pruning_per_class.json etc. beside the whole-layer results")
    e.add_argument("--one-motion-movies", type=_INT1, default=None,
                   help="held-out movies of one motion for the paper's per-movie accuracy (default 72)")
    e.add_argument("--one-motion-steps", type=_INT1, default=None, help="their length in 1 ms steps (default 64)")
    e.add_argument("--threads", type=_INT1, default=2)
    e.add_argument("--no-progress", action="store_true")
    e.set_defaults(func=_cmd_eval)

    d = sub.add_parser("deploy", help="deploy: nir (write the trained N-MNIST classifier or a network as a NIR graph for "
                                      "snnTorch, Norse and other NIR tool chains); loihi (quantise the trained N-MNIST classifier "
                                      "to Loihi 2, run it on the fixed-point engine and Lava's simulator); spinnaker (map a network "
                                      "onto a SpiNNaker-style machine, optionally run it in s16.15); pynn (a PyNN script of a network)")
    d.add_argument("target", choices=["nir", "loihi", "spinnaker", "pynn"])
    d.add_argument("model", nargs="?", default=None,
                   help="nir, loihi: folder of `neurosim train nmnist` (default runs/nmnist), nir also a network (.npz or "
                        "'cuba'); spinnaker, pynn: 'cuba' (the 4000-neuron CUBA network, default) or a network saved with "
                        "Network.save (.npz)")
    d.add_argument("--for", dest="nir_for", choices=["exact", "snntorch", "norse"], default="exact",
                   help="nir: the discretisation written: exact (NIR's ODEs in neurosim's SI time constants, default), "
                        "snntorch or norse (forward Euler at the step that importer takes; see hardware/nir/neurons.py)")
    d.add_argument("--check", type=_INT1, default=None, metavar="N",
                   help="nir: run N held-out samples in the peer of --for and compare spikes and decisions with neurosim")
    d.add_argument("--torus", type=_INT1, nargs=2, metavar=("W", "H"), default=None,
                   help="spinnaker: a W x H toroidal machine instead of one 48-chip board")
    d.add_argument("--neurons-per-core", type=_INT1, default=256, help="spinnaker: neurons per core (default 256)")
    d.add_argument("--placement", choices=["locality", "random"], default="locality", help="spinnaker: placement (default locality)")
    d.add_argument("--dt", type=float, choices=[1e-3, 1e-4], default=1e-3,
                   help="spinnaker, pynn, nir of a network: time step in s (1e-3 or 1e-4)")
    d.add_argument("--simulate", type=_POSITIVE, default=None, metavar="SECONDS",
                   help="spinnaker: also run the mapped network for this long in s16.15 fixed point; pynn: the run's "
                        "duration (default 1 s)")
    d.add_argument("--heatmap", default=None, help="spinnaker: write the machine's load (per chip) as a PNG here")
    d.add_argument("--pynn", default=None, metavar="FOLDER",
                   help="spinnaker: also export the network as a PyNN script (IF_curr_exp, FromListConnector) for sPyNNaker")
    d.add_argument("--seed", type=_INT0, default=0)
    d.add_argument("--data", default=str(SHARED_DATA / "nmnist_small"),
                   help="N-MNIST subset folder (default ../shared/data/nmnist_small)")
    d.add_argument("--out", default=None, help="loihi: output folder (default runs/loihi_nmnist); nir: the .nir file (default "
                                               "runs/nir/<model>-<for>.nir); pynn: the script's folder (default runs/pynn)")
    d.add_argument("--samples", type=_INT1, default=None, help="held-out samples to deploy (default all)")
    d.add_argument("--lava-samples", type=_INT0, default=None,
                   help="of those, how many also run on Lava (default all; 0 skips Lava, whose Python loop is slow)")
    d.add_argument("--threshold-bits", type=_number(int, 1), default=14, help="threshold mantissa 2**bits (1..16; default 14)")
    d.add_argument("--threads", type=_INT1, default=2)
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_cmd_deploy)

    sw = sub.add_parser("sweep", help="run a parameter sweep (TOML or JSON spec: task worm|cuba, base, grid, random, samples, "
                                      "seed, retries, traces, max_points, timeout) as Dask tasks; results in a Parquet table")
    sw.add_argument("spec", help="the sweep spec (.toml or .json)")
    sw.add_argument("--out", default="runs/sweep", help="output folder (default runs/sweep)")
    sw.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                    help="run on this existing Dask cluster (default: a LocalCluster on this machine)")
    sw.add_argument("--workers", type=_INT1, default=2, help="LocalCluster worker processes (default 2)")
    sw.add_argument("--resume", action="store_true", help="continue a sweep in --out, skipping the points it finished")
    sw.add_argument("--allow-module-task", action="store_true",
                    help="let the spec's task be a 'module:function' path, which is imported and run on the workers: only "
                         "for specs you wrote yourself (default: registered task names only: worm, cuba)")
    sw.add_argument("--no-progress", action="store_true")
    sw.set_defaults(func=_cmd_sweep)

    b = sub.add_parser("bench", help="run a benchmark against its peer (benchmarks/<name>.py)")
    b.add_argument("name", choices=BENCHMARKS)
    b.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the benchmark (see its --help)")
    b.set_defaults(func=_cmd_bench)
    ap.commands = sub.choices  # name -> subcommand parser, for errors found after parsing
    return ap


def _output_paths(a) -> list:
    """(path, is_folder) of every output the command will write, to check before any work."""
    if a.command == "deploy":
        folder_target = a.target in ("loihi", "pynn")
        return [(p, f) for p, f in ((a.out, folder_target), (a.pynn, True), (a.heatmap, False)) if p]
    if a.command == "atlas":
        return [(a.json, False)] if a.json else []
    out = getattr(a, "out", None)
    return [(out, True)] if out else []


def _check_args(ap, a) -> None:
    """Checks that involve several arguments or the data packages: before any work starts."""
    sub = ap.commands[a.command]  # its error line names the subcommand
    if a.command in ("worm", "atlas"):
        import connectomes

        names = [a.connectome] if a.command == "worm" else a.connectomes
        flag = "--connectome" if a.command == "worm" else "--connectomes"
        for name in names:
            if name not in connectomes.available():
                sub.error(f"{flag} {name!r}: choose from {', '.join(connectomes.available())}")
        if len(set(names)) < len(names):
            sub.error(f"{flag} lists a connectome more than once")
    if a.command == "worm" and a.stim_start >= a.duration:
        sub.error(f"--stim-start {a.stim_start:g} s is not before the end of the run (--duration {a.duration:g} s)")
    if a.command == "train":
        if a.resume and a.overwrite:
            sub.error("--resume and --overwrite exclude each other")
        a.out = a.out or f"runs/{a.task}"
        if a.data is None:
            data = {"nmnist": "nmnist_small", "hlop": "mnist"}.get(a.task)
            a.data = str(SHARED_DATA / data) if data else None
        hlop_only = {"--method": a.method, "--tasks": a.tasks, "--train-size": a.train_size, "--ewc-lambda": a.ewc_lambda,
                     "--spiking-lateral": a.spiking_lateral or None}
        if a.task != "hlop":
            for flag, value in hlop_only.items():
                if value is not None:
                    sub.error(f"{flag} is for hlop")
        elif a.train_size is not None and a.train_size >= 10000:
            sub.error(f"--train-size {a.train_size}: must leave held-out images among the 10,000 (< 10000)")
        if a.task != "nmnist" and a.ddp > 1:
            sub.error("--ddp is for nmnist")
        if a.task in ("hdsnn", "hlop") and a.limit is not None:
            sub.error("--limit is for nmnist" + ("; use --movies for hdsnn" if a.task == "hdsnn" else "; use --train-size for hlop"))
        if a.task in ("nmnist", "hlop") and (a.movies is not None or a.test_movies is not None):
            sub.error("--movies and --test-movies are for hdsnn")
        if a.task != "hdsnn" and a.l1 is not None:
            sub.error("--l1 is for hdsnn")
        astro_only = {"--models": a.models, "--delays": a.delays, "--hidden": a.hidden, "--iterations": a.iterations,
                      "--tau-astro": a.tau_astro, "--seq-len": a.seq_len}
        if not a.task.startswith("astro-"):
            for flag, value in astro_only.items():
                if value is not None:
                    sub.error(f"{flag} is for astro-memory and astro-lm")
        else:
            for flag, value in (("--epochs", a.epochs), ("--limit", a.limit), ("--movies", a.movies)):
                if value is not None:
                    sub.error(f"{flag} is not an option of {a.task} (it trains by --iterations)")
            if a.task == "astro-lm" and a.delays is not None:
                sub.error("--delays is for astro-memory")
            if a.task == "astro-memory" and a.seq_len is not None:
                sub.error("--seq-len is for astro-lm")
            if a.models is not None and len(set(a.models)) < len(a.models):
                sub.error("--models lists a model more than once")


def _outputs(a) -> list:
    if a.command == "atlas":
        return [Path(a.json).parent] if a.json else []
    if getattr(a, "out", None) is None:
        return []
    return [Path(a.out).parent] if a.command == "deploy" and a.target == "nir" else [Path(a.out)]


def _missing_folders(paths) -> list:
    """The folders of ``paths`` (and their parents) that do not exist yet, innermost first."""
    missing = []
    for p in paths:
        p = Path(p).absolute()
        while not p.exists():
            missing.append(p)
            p = p.parent
    return missing


def _remove_if_empty(folders) -> None:
    for d in folders:
        try:
            d.rmdir()  # only succeeds on an empty folder
        except OSError:
            pass


# errors that bad input or a bad environment cause: shown as one line (NEUROSIM_TRACEBACK=1 shows the traceback)
def _user_errors() -> tuple:
    from .runlock import OutputLockedError

    return (ValueError, KeyError, OSError, MemoryError, FloatingPointError, OutputLockedError)


def main(argv=None) -> int:
    """Entry point of the ``neurosim`` command; returns the exit status (0 ok, 2 bad input,
    130 interrupted). Errors caused by input are one line on stderr, never a traceback,
    and a failed run removes the output folders it created while they are empty."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = _parser()
    a = ap.parse_args(argv)
    _check_args(ap, a)
    a.argv = argv
    created = _missing_folders(_outputs(a))
    rc = 1
    try:
        from .atomic import check_output_path

        for path, folder in _output_paths(a):  # an output that cannot be written is found before any work
            check_output_path(path, folder=folder)
        rc = a.func(a)
    except KeyboardInterrupt:
        print(f"\nneurosim {a.command}: interrupted", file=sys.stderr)
        rc = 130
    except _user_errors() as exc:
        if os.environ.get("NEUROSIM_TRACEBACK"):
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"neurosim {a.command}: error: {msg or type(exc).__name__}", file=sys.stderr)
        rc = 2
    finally:
        if rc != 0:
            _remove_if_empty(created)
    return rc


if __name__ == "__main__":
    sys.exit(main())
