"""``neurosim sweep SPEC``: a parameter sweep on Dask (``neurosim.sweep``) of a registered
task (``worm``: ``circuits.worm.sweep``; ``cuba``: ``circuits.reference.sweep``)."""
from __future__ import annotations

import sys
from pathlib import Path

from .args import INT1


def add(sub) -> None:
    """Add ``neurosim sweep`` to the subcommands ``sub``."""
    sw = sub.add_parser("sweep", help="run a parameter sweep (TOML or JSON spec: task worm|cuba, base, grid, random, samples, "
                                      "seed, retries, traces, max_points, timeout) as Dask tasks; results in a Parquet table")
    sw.add_argument("spec", help="the sweep spec (.toml or .json)")
    sw.add_argument("--out", default="runs/sweep", help="output folder (default runs/sweep)")
    sw.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                    help="run on this existing Dask cluster (default: a LocalCluster on this machine)")
    sw.add_argument("--workers", type=INT1, default=2, help="LocalCluster worker processes (default 2)")
    sw.add_argument("--resume", action="store_true", help="continue a sweep in --out, skipping the points it finished")
    sw.add_argument("--allow-module-task", action="store_true",
                    help="let the spec's task be a 'module:function' path, which is imported and run on the workers: only "
                         "for specs you wrote yourself (default: registered task names only: worm, cuba)")
    sw.add_argument("--params", default=None, metavar="fitted|kunert|PATH",
                    help="task worm: the parameter set every point starts from (the shipped fit, Kunert et al.'s, or a "
                         "JSON file of `neurosim fit worm`); overrides the spec's base 'params' (default: the spec's, else kunert)")
    sw.add_argument("--no-progress", action="store_true")
    sw.set_defaults(func=run, parser=sw)


def run(a) -> int:
    """``neurosim sweep SPEC``: run the sweep on Dask and print how many points finished; returns the exit status (1 if any failed)."""
    import circuits.reference.sweep  # noqa: F401 - registers the task cuba
    import circuits.worm.sweep  # noqa: F401 - registers the task worm

    import dataclasses

    from ..sweep import SweepSpec, resolve_task, run_sweep

    spec = SweepSpec.load(a.spec)
    if a.params is not None:
        if spec.task != "worm":
            a.parser.error(f"--params sets the worm's parameter set; this spec's task is {spec.task!r}")
        from circuits.worm.model import load_worm_params

        load_worm_params(a.params)  # a bad set is refused here, not once per point
        # a file by its absolute path: workers elsewhere (or in another folder) find the same file
        params = a.params if a.params in ("fitted", "kunert") else str(Path(a.params).resolve())
        spec = dataclasses.replace(spec, base={**spec.base, "params": params})
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
