"""``neurosim worm``, ``fit worm``, ``activity`` and ``atlas``: the C. elegans commands
(``circuits.worm``). Each parses its options, calls the family's function and prints what it
returns."""
from __future__ import annotations

from pathlib import Path

from .args import FINITE, INT0, INT1, NONNEG, POSITIVE, SHARED_DATA


def add(sub) -> None:
    """Add ``neurosim worm``, ``fit worm``, ``activity`` and ``atlas`` to the subcommands ``sub``."""
    w = sub.add_parser("worm", help="simulate the whole C. elegans worm (Kunert et al. 2014) and compare with the Randi 2023 atlas")
    w.add_argument("--connectome", default="cook2019_herm", help="dataset (default cook2019_herm; see connectomes.available())")
    w.add_argument("--stimulus", default="touch-anterior",
                   help="comma-separated neuron names (e.g. AVAL,AVAR) or touch-anterior / touch-posterior (default touch-anterior)")
    w.add_argument("--depolarization", type=FINITE, default=10e-3,
                   help="stimulus drive in V (default 0.01): each stimulated neuron gets the current that would move it by this "
                        "much were its partners held at rest")
    w.add_argument("--stim-start", type=NONNEG, default=1.0, help="stimulus onset in s (default 1)")
    w.add_argument("--stim-duration", type=POSITIVE, default=2.0, help="stimulus length in s (default 2)")
    w.add_argument("--duration", type=POSITIVE, default=10.0, help="worm time in s (default 10)")
    w.add_argument("--dt", type=POSITIVE, default=1e-3,
                   help="time step in s (default 1e-3); with the adaptive solver the first step and the sampling unit")
    w.add_argument("--fixed-step", action="store_true", help="fixed-step BDF2 instead of the adaptive solver")
    w.add_argument("--sample", type=POSITIVE, default=0.01, help="trace sampling interval in s (default 0.01)")
    w.add_argument("--strain", choices=["wt", "unc31"], default="wt", help="atlas strain for the comparison")
    w.add_argument("--no-compare", action="store_true", help="skip the atlas comparison")
    w.add_argument("--out", default="runs/worm", help="output folder (default runs/worm)")
    w.add_argument("--params", default="fitted",
                   help="model parameters: fitted (default: the shipped fit to the Randi 2023 atlas, "
                        "circuits/worm/data/worm_fit.json), kunert (Kunert et al. 2014's own) or a params.json written by "
                        "`neurosim fit worm`")
    w.add_argument("--no-progress", action="store_true")
    w.set_defaults(func=run_worm, parser=w, validate=check_worm)

    fw = sub.add_parser("fit", help="fit: worm (the whole-worm model's transmitter gains, reversal potentials, gap and "
                                    "sigmoid against the Randi 2023 atlas, validated on held-out stimulated neurons)")
    fw.add_argument("model", choices=["worm"])
    fw.add_argument("--connectome", default="cook2019_herm")
    fw.add_argument("--strain", choices=["wt", "unc31"], default="wt")
    fw.add_argument("--folds", type=INT1, default=5, help="folds of stimulated neurons (default 5)")
    fw.add_argument("--seed", type=INT0, default=0, help="seed of the split into folds")
    fw.add_argument("--steps", type=INT1, default=300, help="Adam steps per fit (default 300)")
    fw.add_argument("--shuffle", type=INT0, default=None, metavar="SEED",
                    help="fit a degree-preserving shuffle of the connectome instead (the null)")
    fw.add_argument("--out", default="runs/fit_worm", help="output folder (default runs/fit_worm)")
    fw.add_argument("--resume", action="store_true", help="continue a fit in --out, skipping finished folds")
    fw.add_argument("--ablation", action="store_true",
                    help="instead: fit every model variant (receptor signs, extrasynaptic networks, a per-class readout) on "
                         "the same folds and compare held-out rho (writes --out/ablation.json)")
    fw.add_argument("--joint", action="store_true",
                    help="instead: fit model variants jointly to the atlas and to the recordings' spontaneous class "
                         "correlations; held-out worms (leave one recording out, also on a shuffled connectome) beside "
                         "held-out stimulated neurons (writes --out/joint.json)")
    fw.add_argument("--recordings", default=str(SHARED_DATA / "celegans_activity"),
                    help="with --joint: folder of Flavell-lab HDF5 recordings (default ../shared/data/celegans_activity)")
    fw.add_argument("--labels", default=str(SHARED_DATA / "celegans_activity" / "neuropal_labels.csv"),
                    help="with --joint: their NeuroPAL labels (CSV)")
    fw.add_argument("--no-progress", action="store_true")
    fw.set_defaults(func=run_fit, parser=fw)

    ac = sub.add_parser("activity", help="compare the worm model's spontaneous activity (noise-driven, linearised) with "
                                         "whole-brain recordings: class pair by class pair (NeuroPAL labels) and by "
                                         "label-free correlation statistics")
    ac.add_argument("--connectome", default="cook2019_herm")
    ac.add_argument("--params", nargs="+", default=["kunert", "fitted"], help="parameter sets (kunert, fitted, or params.json files)")
    ac.add_argument("--recordings", default=str(SHARED_DATA / "celegans_activity"),
                    help="folder of Flavell-lab HDF5 recordings (default ../shared/data/celegans_activity)")
    ac.add_argument("--labels", default=str(SHARED_DATA / "celegans_activity" / "neuropal_labels.csv"),
                    help="NeuroPAL labels of the recordings' traces (CSV; default ../shared/data/celegans_activity/"
                         "neuropal_labels.csv); 'none': the label-free comparison only")
    ac.add_argument("--tau-indicator", type=NONNEG, default=1.0, help="calcium-indicator time constant in s (default 1; 0: voltage)")
    ac.add_argument("--shuffle", type=INT0, default=0, metavar="SEED", help="seed of the degree-preserving shuffle (default 0)")
    ac.add_argument("--out", default="runs/worm_activity", help="output folder (default runs/worm_activity)")
    ac.set_defaults(func=run_activity, parser=ac)

    at = sub.add_parser("atlas", help="compare whole-worm signal propagation with the Randi 2023 atlas for several connectomes")
    at.add_argument("--connectomes", nargs="+", default=["cook2019_herm", "witvliet2021_8", "white1986_whole"])
    at.add_argument("--strain", choices=["wt", "unc31"], default="wt")
    at.add_argument("--depolarization", type=FINITE, default=10e-3, help="stimulus drive in V (see neurosim worm --help)")
    at.add_argument("--dt", type=POSITIVE, default=1e-3)
    at.add_argument("--seed", type=INT0, default=0, help="seed of the degree-preserving shuffle")
    at.add_argument("--json", default=None, help="also write the metrics here")
    at.add_argument("--no-progress", action="store_true")
    at.set_defaults(func=run_atlas, parser=at, validate=check_atlas)


def _check_connectomes(parser, names, flag) -> None:
    import connectomes

    for name in names:
        if name not in connectomes.available():
            parser.error(f"{flag} {name!r}: choose from {', '.join(connectomes.available())}")
    if len(set(names)) < len(names):
        parser.error(f"{flag} lists a connectome more than once")


def check_worm(a) -> None:
    """Checks of ``neurosim worm`` that involve several options (``parser.error`` on failure)."""
    _check_connectomes(a.parser, [a.connectome], "--connectome")
    if a.stim_start >= a.duration:
        a.parser.error(f"--stim-start {a.stim_start:g} s is not before the end of the run (--duration {a.duration:g} s)")


def check_atlas(a) -> None:
    """Checks of ``neurosim atlas`` that involve several options (``parser.error`` on failure)."""
    _check_connectomes(a.parser, a.connectomes, "--connectomes")


def run_worm(a) -> int:
    """``neurosim worm``: simulate the whole worm, compare it with the atlas and the recordings; returns the exit status."""
    from circuits.worm.experiment import run_worm

    s = run_worm(a.connectome, a.stimulus, a.depolarization, a.stim_start, a.stim_duration, a.duration, a.dt, a.fixed_step,
                 a.sample, a.strain, not a.no_compare, a.params, a.out, progress=not a.no_progress)
    steps, cg = s["solver_stats"][0], s["solver_stats"][1]
    mode = "fixed step" if a.fixed_step else "adaptive BDF2"
    print(f"  simulated in {s['wall_time']:.3f} s ({a.duration / max(s['wall_time'], 1e-9):.0f}x real time; {mode}, "
          f"{steps} steps, {cg / max(steps, 1):.1f} CG iterations per step)")
    metrics = s["metrics"]
    if metrics is not None:
        print("  | predictor | Spearman rho vs dF/F | sign agreement |")
        print("  |---|---|---|")
        for key in ("model", "connectome (chemical + gap counts)", "connectome (chemical counts)"):
            m = metrics[key]
            print(f"  | {key} | {m['spearman']:+.3f} | {m['sign_agreement']:.3f} |")
        print(f"  ({metrics['model']['pairs']} pairs; {metrics['directly connected fraction']:.0%} directly connected; "
              f"{metrics['fraction of pairs with dF/F > 0']:.0%} have dF/F > 0)")
        if s["in_sample"]:
            print("  (in-sample: these parameters were fitted to these pairs; held-out numbers: `neurosim fit worm`)")
    files = [str(f) for f in s["files"]]
    labels = SHARED_DATA / "celegans_activity" / "neuropal_labels.csv"
    if not a.no_compare and labels.is_file():
        import connectomes
        from circuits.worm.activity import model_correlations

        print("  spontaneous activity (noise-driven, linearised, same parameters) against the whole-brain recordings of "
              "Dag et al. 2023, class pair by class pair (`neurosim activity` for more):")
        con = connectomes.load(a.connectome)
        _class_pairs(SHARED_DATA / "celegans_activity", labels, Path(a.out), con, model_correlations(con, (a.params,)))
        files.append(str(Path(a.out) / "worm_class_pairs.png"))
    print("  wrote " + ", ".join(files))
    return 0


def run_fit(a) -> int:
    """``neurosim fit worm``: fit the worm model to the atlas (or compare model terms, or fit jointly); returns the exit status."""
    import torch

    torch.set_num_threads(2)
    what = f"{a.connectome}" + (f" (degree-preserving shuffle, seed {a.shuffle})" if a.shuffle is not None else "")
    if a.ablation and a.joint:
        a.parser.error("--ablation and --joint: choose one")
    if a.ablation:
        return _run_ablation(a, what)
    if a.joint:
        return _run_joint(a, what)
    from circuits.worm.fit import cross_validate

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


def _run_ablation(a, what: str) -> int:
    from circuits.worm.ablation import ablation

    from ..atomic import atomic_write_json

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


def _run_joint(a, what: str) -> int:
    from circuits.worm.joint import held_out

    from ..atomic import atomic_write_json

    null = 0 if a.shuffle is None else a.shuffle
    print(f"fit worm --joint: {what} fitted to the {a.strain} atlas and to the class-pair correlations of the recordings "
          f"in {a.recordings}; held out: each recording in turn (also on a degree-preserving shuffle, seed {null}) and "
          f"{a.folds} folds of stimulated neurons (seed {a.seed}, linear response)")
    res = held_out(a.connectome, recordings=a.recordings, labels=a.labels, strain=a.strain, folds=a.folds, seed=a.seed,
                   steps=a.steps, shuffle_seed=null, progress=not a.no_progress)
    print("  | variant | held-out worms: Spearman per recording | mean | anticorrelated pairs predicted negative | "
          "shuffled connectome: mean | atlas held-out rho (linear) | atlas sign agreement | GABA E_rev (mV) |")
    print("  |---|---|---|---|---|---|---|---|")
    for name, v in res["variants"].items():
        per = ", ".join(f"{s['spearman']:+.3f}" for s in v["recordings"].values())
        rho, sg = v["atlas"]["spearman"], v["atlas"]["sign_agreement"]
        gaba = ", ".join(f"{e * 1e3:+.1f}" for c, e in v["e_rev"].items() if c.startswith("gaba"))
        print(f"  | {name} | {per} | {v['spearman']:+.3f} | {v['negative_predicted']:.2f} | {v['shuffled']['spearman']:+.3f} | "
              f"{rho['mean']:+.3f} +- {rho['sd']:.3f} | {sg['mean']:.3f} | {gaba} |")
    per = ", ".join(f"{s['spearman']:+.3f}" for s in res["between_worms"].values())
    mean = sum(s["spearman"] for s in res["between_worms"].values()) / len(res["between_worms"])
    print(f"  | the other recordings' mean (no model) | {per} | {mean:+.3f} | | | | | |")
    first = next(iter(res["variants"].values()))
    print(f"  always positive: atlas sign agreement {first['atlas']['always_positive']:.3f}")
    path = atomic_write_json(Path(a.out) / "joint.json", res)
    print(f"  wrote {path}")
    return 0


def run_activity(a) -> int:
    """``neurosim activity``: the worm's spontaneous activity against whole-brain recordings; returns the exit status."""
    import connectomes
    from circuits.worm import plots
    from circuits.worm.activity import activity_check, model_correlations

    from ..atomic import atomic_write_json

    print(f"activity: spontaneous activity of the worm model on {a.connectome} (independent white-noise currents, "
          f"indicator time constant {a.tau_indicator:g} s) against the recordings in {a.recordings}")
    con = connectomes.load(a.connectome)
    models = model_correlations(con, a.params, a.tau_indicator, a.shuffle)
    classes = None if a.labels == "none" else _class_pairs(a.recordings, a.labels, Path(a.out), con, models)
    res = activity_check(a.recordings, con, a.params, a.tau_indicator, a.shuffle, correlations=models)
    if classes is not None:
        res["class_pairs"] = classes
    keys = list(plots.ACTIVITY_STATS)
    print("  | | " + " | ".join(plots.ACTIVITY_STATS[k] for k in keys) + " |")
    print("  |---|" + "---|" * len(keys))
    for r in res["recordings"]:
        print(f"  | recording {r['recording']} ({r['neurons']} neurons) | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    size = res["settings"]["neurons_per_draw"]
    for name, m in res["models"].items():
        print(f"  | model: {name} ({size} random neurons, mean of {res['settings']['draws']}) | "
              + " | ".join(f"{m[k]:.3f}" for k in keys) + " |")
    out = Path(a.out)
    plots.activity_summary(res, out / "worm_activity_check.png",
                           f"spontaneous activity: model ({a.connectome}) vs recordings (Dag et al. 2023)")
    atomic_write_json(out / "worm_activity_check.json", res)
    print(f"  wrote {out / 'worm_activity_check.json'}, {out / 'worm_activity_check.png'}"
          + (f", {out / 'worm_class_pairs.png'}" if classes is not None else ""))
    return 0


def _class_pairs(recordings, labels, out: Path, con, models) -> dict:
    """Class pair by class pair (``circuits.worm.class_pairs``): every model, the contact
    baseline and the other worms, per recording and pooled; prints the table and draws the
    measured and predicted matrices of the first model."""
    from circuits.worm import class_pairs as cp
    from circuits.worm import plots

    tables = [cp.pair_table(r) for r in cp.read_labelled(recordings, labels)]
    predictors = {**models, "raw contacts (chemical both ways + gap)": cp.contact_matrix(con)}
    res = {"models": cp.compare(tables, predictors), "between_worms": cp.between_worms(tables),
           "recordings": {t.recording: {"class_pairs": int(t.measured.size), "partners": int(t.partner_r.size)} for t in tables}}
    print("  class pairs (labelled traces only; a class pair's value: its mean correlation over recorded neuron pairs): "
          + ", ".join(f"{w}: {r['class_pairs']}" for w, r in res["recordings"].items()))
    print("  | predictor | Spearman per recording | pooled Spearman | pooled Pearson | sign agreement | anticorrelated pairs "
          "(r < -0.1) predicted negative | L/R partners: predicted (measured) |")
    print("  |---|---|---|---|---|---|---|")
    for name, m in res["models"].items():
        per = ", ".join(f"{s['spearman']:+.3f}" for s in m["recordings"].values())
        p, lr = m["pooled"], m["partners"]
        print(f"  | {name} | {per} | {p['spearman']:+.3f} | {p['pearson']:+.3f} | {p['sign_agreement']:.3f} | "
              f"{p['negative_predicted']:.3f} of {p['negative_pairs']} | {lr['predicted']:.3f} ({lr['measured']:.3f}) |")
    per = ", ".join(f"{s['spearman']:+.3f}" for s in res["between_worms"].values())
    print(f"  | the other recordings (held-out worm from the others' mean) | {per} | | | | | |")
    n = next(iter(res["models"].values()))["neuron_pairs"]["pairs"]
    print(f"  neuron pair by neuron pair ({n} recorded pairs of labelled neurons, all recordings), Spearman: "
          + ", ".join(f"{name} {m['neuron_pairs']['spearman']:+.3f}" for name, m in res["models"].items()))
    first = next(iter(models))
    classes, meas, pred = cp.pooled(tables, [cp.predict(t, models[first]) for t in tables])
    plots.class_pair_figure(classes, meas, pred, f"model: {first}", out / "worm_class_pairs.png",
                            f"class-pair correlations, {len(tables)} recordings pooled (Dag et al. 2023, NeuroPAL labels)")
    return res


def run_atlas(a) -> int:
    """``neurosim atlas``: the signal-propagation table over connectomes; returns the exit status."""
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
        from ..atomic import atomic_write_json

        atomic_write_json(a.json, dict(rows))
    return 0
