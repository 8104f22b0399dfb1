"""``neurosim train nmnist|hdsnn|astro-memory|astro-lm|hlop`` and ``neurosim eval hdsnn``:
each task is a subcommand with only its own options. The handlers call the families'
training functions (``circuits.nmnist``, ``circuits.hdsnn``, ``circuits.astro``,
``circuits.hlop``) and print what they return."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from .args import INT0, INT1, NONNEG, POSITIVE, SHARED_DATA, add_group, fractions, given, number

TASKS = {
    "nmnist": "train the N-MNIST classifier (a convolutional CuBa-LIF network) on event frames",
    "hdsnn": "train the HD-SNN heterogeneous-delay layer on motion movies",
    "astro-memory": "delayed recall for AM-SU, a recurrent LIF SNN and an LSTM of equal size",
    "astro-lm": "Tiny Shakespeare language modelling for AM-SU, a recurrent LIF SNN and an LSTM",
    "hlop": "continual learning on permuted MNIST: fine-tuning, EWC, HLOP and multitask",
}


def _common(p, epochs_help=None, batch_help=None, lr_help=None) -> None:
    """The options of every training task: run folder, resume/overwrite, seed, threads."""
    if epochs_help:
        p.add_argument("--epochs", type=INT1, default=None, help=epochs_help)
    p.add_argument("--batch-size", type=INT1, default=None, help=batch_help)
    p.add_argument("--lr", type=POSITIVE, default=None, help=lr_help)
    p.add_argument("--seed", type=INT0, default=0)
    p.add_argument("--threads", type=INT1, default=2)
    p.add_argument("--ddp", type=INT1, default=1, metavar="N",
                   help="train data-parallel in N local processes (torch.distributed, gloo), the same steps as one process "
                        "on the whole batches; on several machines start this command with torchrun instead "
                        "(docs/guide/distributed.md)")
    p.add_argument("--out", default=None, help="run folder (default runs/<task>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt (with the same settings)")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in OUT (without it, an existing run is refused)")
    p.add_argument("--no-progress", action="store_true")


def add(sub) -> None:
    """Add ``neurosim train TASK`` and ``neurosim eval hdsnn`` to the subcommands ``sub``."""
    p = add_group(sub, "train", help="train: " + ", ".join(TASKS), description="Train a model family; see neurosim train TASK --help.",
                  dest="task", choices=TASKS)
    n = p["nmnist"]
    n.add_argument("--data", default=str(SHARED_DATA / "nmnist_small"),
                   help="N-MNIST subset folder (root/train1K.txt, root/train/<id>.bs2; default ../shared/data/nmnist_small)")
    _common(n, "epochs (default 30)", "default 25", "Adam learning rate (default 2e-3)")
    n.add_argument("--time-bins", type=INT1, default=20, help="frames per ~300 ms sample (the layers' dt is the bin width)")
    n.add_argument("--limit", type=INT1, default=None, help="use only this many training samples (quick checks)")
    n.add_argument("--stop-after", type=INT1, default=None, help="stop after this epoch and resume later with --resume")
    h = p["hdsnn"]
    _common(h, "epochs (default 12)", "default 8", "Adam learning rate (default 2e-3)")
    h.add_argument("--movies", type=INT1, default=None, help="training movies (default 400)")
    h.add_argument("--test-movies", type=INT1, default=None, help="held-out movies, from other photographs (default 30)")
    h.add_argument("--l1", type=NONNEG, default=None, help="L1 penalty on the kernel, l1 x sum |K| added to the loss (default 0: off)")
    h.add_argument("--stop-after", type=INT1, default=None, help="stop after this epoch and resume later with --resume")
    for name, default_hidden, default_iter, default_lr, default_tau in (("astro-memory", 64, 300, "3e-3", 2),
                                                                       ("astro-lm", 256, 2000, "1e-2", 0.1)):
        t = p[name]
        _common(t, None, "default 32", f"Adam learning rate (default {default_lr})")
        t.add_argument("--models", nargs="+", choices=["amsu", "lif", "lstm"], default=None,
                       help="models to train (default amsu lif lstm)")
        t.add_argument("--hidden", type=INT1, default=None,
                       help=f"AM-SU units (the others get its parameter count; default {default_hidden})")
        t.add_argument("--iterations", type=INT1, default=None, help=f"training iterations per model (default {default_iter})")
        t.add_argument("--tau-astro", type=POSITIVE, default=None,
                       help=f"astrocyte time constant in s (default {default_tau:g}; dt 1 ms)")
        t.add_argument("--stop-after", type=INT1, default=None,
                       help="stop after this iteration of each model and resume later with --resume")
    p["astro-memory"].add_argument("--delays", nargs="+", type=INT1, default=None, help="delays in steps (default 50 100 250 500 1000)")
    p["astro-lm"].add_argument("--seq-len", type=INT1, default=None, help="training window in characters (default 128)")
    p["astro-lm"].add_argument("--text", default=str(SHARED_DATA / "text" / "tinyshakespeare.txt"),
                               help="UTF-8 text file (default ../shared/data/text/tinyshakespeare.txt)")
    c = p["hlop"]
    c.add_argument("--data", default=str(SHARED_DATA / "mnist"),
                   help="MNIST folder with t10k-*-ubyte.gz (default ../shared/data/mnist)")
    _common(c, "epochs per task (default 3)", "default 64", "SGD learning rate (default 0.05, momentum 0.9)")
    c.add_argument("--method", choices=["baseline", "ewc", "hlop", "multitask", "all"], default=None,
                   help="continual-learning method, or all four in OUT/<method> (default all)")
    c.add_argument("--tasks", type=INT1, default=None, help="permuted-MNIST tasks (default 10)")
    c.add_argument("--train-size", type=INT1, default=None,
                   help="training images per task from the 10,000 (the rest are held out; default 8000)")
    c.add_argument("--spiking-lateral", action="store_true", help="spiking lateral neurons (quantised responses)")
    c.add_argument("--ewc-lambda", type=number(float, 0), default=None, help="--method ewc: penalty strength")
    c.add_argument("--stop-after", type=INT1, default=None,
                   help="stop after this epoch of each method, counted over all tasks, and resume later with --resume")
    for name, parser in p.items():
        parser.set_defaults(func=run_train, parser=parser, validate=check_train)

    e = add_group(sub, "eval", help="evaluate a trained model: hdsnn (pruning sweep and event-driven core run)",
                  description="Evaluate a trained model; see neurosim eval TASK --help.", dest="task",
                  choices={"hdsnn": "prune the trained HD-SNN layer, measure held-out accuracy, run it in the core simulator"})
    h = e["hdsnn"]
    h.add_argument("--run", default="runs/hdsnn", help="run folder of neurosim train hdsnn (default runs/hdsnn)")
    h.add_argument("--prune", type=fractions, default=None,
                   help="comma-separated fractions of active weights to keep (default 1,0.3,0.1,0.05,...,0.001)")
    h.add_argument("--core-fraction", type=number(float, 0, lo_open=True), default=None,
                   help="fraction of weights of the layer run in the core simulator (default 0.05)")
    h.add_argument("--core-movies", type=INT1, default=None, help="held-out movies run in the core simulator (default 2)")
    h.add_argument("--core-size", type=INT1, default=None, help="crop (pixels) of the movies run in the core simulator (default 20)")
    h.add_argument("--finetune-epochs", type=number(int, 0), default=None,
                   help="also prune iteratively, retraining the surviving weights this many epochs at each fraction "
                        "(Han et al. 2015; default 0: only the paper's one-shot pruning)")
    h.add_argument("--finetune-lr", type=POSITIVE, default=None, help="Adam learning rate of the retraining (default 3e-4)")
    h.add_argument("--per-class", action="store_true",
                   help="prune every class to the same number of synapses (its largest |K|) instead of the largest |K| of "
                        "the whole layer (the paper's); writes pruning_per_class.json etc. beside the whole-layer results")
    h.add_argument("--one-motion-movies", type=INT1, default=None,
                   help="held-out movies of one motion for the paper's per-movie accuracy (default 72)")
    h.add_argument("--one-motion-steps", type=INT1, default=None, help="their length in 1 ms steps (default 64)")
    h.add_argument("--threads", type=INT1, default=2)
    h.add_argument("--no-progress", action="store_true")
    h.set_defaults(func=run_eval, parser=h)


def check_train(a) -> None:
    """Checks of ``neurosim train`` that involve several options (``parser.error`` on failure)."""
    if a.resume and a.overwrite:
        a.parser.error("--resume and --overwrite exclude each other")
    a.out = a.out or f"runs/{a.task}"
    if a.task == "hlop" and a.train_size is not None and a.train_size >= 10000:
        a.parser.error(f"--train-size {a.train_size}: must leave held-out images among the 10,000 (< 10000)")
    if a.task.startswith("astro-") and a.models is not None and len(set(a.models)) < len(a.models):
        a.parser.error("--models lists a model more than once")


def run_train(a) -> int:
    """``neurosim train TASK``: train (in ``--ddp`` processes) and print the results; returns the exit status (130 when interrupted)."""
    import torch

    torch.set_num_threads(a.threads)
    try:
        if a.task == "nmnist":
            return _train_nmnist(a)
        if a.task.startswith("astro-"):
            return _train_astro(a)
        if a.task == "hlop":
            return _train_hlop(a)
        from circuits.hdsnn.task import train_hdsnn

        history = _distributed(a, train_hdsnn, a.out, resume=a.resume, overwrite=a.overwrite, progress=not a.no_progress,
                               stop_after=a.stop_after, seed=a.seed,
                               **given(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, n_train=a.movies, n_test=a.test_movies,
                                       l1=a.l1))
        if history is None:
            return 0
        files = "settings.json, metrics.json, checkpoint.pt, model_state.pt, kernels.png, confusion.png, accuracy.png"
    except KeyboardInterrupt:
        print(f"\nneurosim train: interrupted. {_resume_hint(a)}", file=sys.stderr)
        return 130
    return _report(a, history, files)


def _distributed(a, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` as ``--ddp`` asks: in ``a.ddp`` local processes (rank 0's
    result), or in this process, which joins the process group torchrun describes when it
    started it (``None`` on ranks other than 0: they print nothing)."""
    from .. import parallel

    if a.ddp > 1:
        return parallel.spawn(fn, a.ddp, *args, **kwargs)
    parallel.init_from_env()
    result = fn(*args, **kwargs)
    return result if parallel.is_main() else None


def _report(a, history, files) -> int:
    best = max(h["test_accuracy"] for h in history)
    print(f"final held-out accuracy {history[-1]['test_accuracy']:.3f} (best {best:.3f}); wrote {files} to {a.out}")
    return 0


def _train_nmnist(a) -> int:
    from circuits.nmnist.classifier import train_nmnist

    root = Path(a.data)
    if not (root / "train1K.txt").is_file():
        print(f"neurosim train: error: --data {root}: no train1K.txt there (the N-MNIST subset: root/train1K.txt, "
              f"root/train/<id>.bs2)", file=sys.stderr)
        return 2
    kw = dict(time_bins=a.time_bins, seed=a.seed, resume=a.resume, progress=not a.no_progress, limit=a.limit,
              stop_after=a.stop_after, overwrite=a.overwrite, **given(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr))
    history = _distributed(a, train_nmnist, root, a.out, **kw)
    if history is None:
        return 0
    return _report(a, history, "metrics.json, checkpoint.pt, model_state.pt, confusion.png, accuracy.png")


def _train_astro(a) -> int:
    from circuits.astro import language, memory
    from circuits.astro.tasks import MODEL_NAMES

    common = dict(resume=a.resume, overwrite=a.overwrite, progress=not a.no_progress, stop_after=a.stop_after, seed=a.seed,
                  **given(models=a.models, n_hidden=a.hidden, iterations=a.iterations, batch_size=a.batch_size, lr=a.lr,
                          tau_astro=a.tau_astro))
    if a.task == "astro-memory":
        r = _distributed(a, memory.train_memory, a.out, **common, **given(delays=a.delays))
        if r is None:
            return 0
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
        r = _distributed(a, language.train_language, a.text, a.out, **common, **given(seq_len=a.seq_len))
        if r is None:
            return 0
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
                               **given(n_tasks=a.tasks, n_train=a.train_size, epochs=a.epochs, lr=a.lr,
                                       batch_size=a.batch_size, ewc_lambda=a.ewc_lambda))
    methods = hlop.METHODS if a.method in (None, "all") else (a.method,)
    runs = _distributed(a, hlop.train_all, a.out, methods, cfg, data_root=a.data, resume=a.resume, overwrite=a.overwrite,
                        progress=not a.no_progress, stop_after=a.stop_after)
    if runs is None:
        return 0
    done = [r for r in runs if r["complete"]]
    print(f"permuted MNIST, {cfg.n_tasks} tasks, {cfg.n_train} training / {10000 - cfg.n_train} held-out images per task, "
          f"{cfg.epochs} epoch(s) per task, " + (f"{a.ddp} processes" if a.ddp > 1 else f"{torch.get_num_threads()} threads"))
    print("| method | ACC (%) | BWT (%) | training time (s) |\n|---|---|---|---|")
    for r in done:
        bwt = "-" if r["BWT"] is None else f"{100 * r['BWT']:+.2f}"
        print(f"| {r['method']} | {100 * r['ACC']:.2f} | {bwt} | {r['training_seconds']:.0f} |")
    if len(done) < len(runs):
        print(f"stopped early; continue with --resume ({len(done)} of {len(runs)} methods finished)")
    print(f"wrote results.json, metrics.json, checkpoint.pt and accuracy_matrix.png per method to {a.out}")
    return 0


def _resume_hint(a) -> str:
    """How to continue an interrupted training run (or that there is nothing to continue)."""
    args = [x for x in a.argv if x != "--overwrite"] + ([] if a.resume else ["--resume"])
    command = f"  neurosim {' '.join(shlex.quote(x) for x in args)}"
    if a.task.startswith("astro-") or a.task == "hlop":
        return "Finished runs and the last checkpoint of the one in progress are kept; continue with:\n" + command
    metrics = Path(a.out) / "metrics.json"
    if not (Path(a.out) / "checkpoint.pt").is_file() or not metrics.is_file():
        return "No epoch had finished, so there is nothing to resume."
    done = json.loads(metrics.read_text())[-1]["epoch"]
    return f"Epochs 1-{done} are saved in {a.out}/checkpoint.pt; continue with the same settings:\n" + command


def run_eval(a) -> int:
    """``neurosim eval hdsnn``: the pruning sweep and the core-simulator run of a trained HD-SNN; returns the exit status."""
    import torch

    from circuits.hdsnn.evaluate import evaluate_hdsnn
    from circuits.hdsnn.task import ONE_MOTION_TEST

    torch.set_num_threads(a.threads)
    one_motion = {**ONE_MOTION_TEST, **given(n_movies=a.one_motion_movies, n_steps=a.one_motion_steps)}
    s = evaluate_hdsnn(a.run, progress=not a.no_progress, one_motion=one_motion, per_class=a.per_class,
                       **given(fractions=a.prune, core_movies=a.core_movies, core_size=a.core_size,
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
