"""Parameter sweeps and ensembles on Dask: many independent simulations, each a task.

A sweep is a base configuration plus a grid (every combination of the listed values) and/or
random samples of parameters, run by a task function ``fn(params) -> {metric: scalar, ...}``
(a ``"traces"`` entry of numeric arrays, if returned, is saved beside the table). Each point
runs as a Dask task on a ``dask.distributed`` cluster: by default a ``LocalCluster`` of
single-threaded worker processes on this machine, or any running cluster given its scheduler
address (``tcp://host:port``), whose workers must have neurosim installed.

**Tasks are named, not imported from data.** A spec names its task by a name registered in
Python (``register_task``: the CLI imports ``circuits.worm.sweep`` and
``circuits.reference.sweep``, which register ``worm`` and ``cuba``,
and users register their own in their own code), so a spec file cannot make a worker run
code of its choosing. A ``"module:function"`` path in a spec is refused unless the caller
opts in (``run_sweep(..., allow_module_tasks=True)``, ``neurosim sweep --allow-module-task``):
that imports and runs whatever the spec names, so use it only for specs you wrote yourself.

**Bounded work.** The number of points is counted from the spec before any is built, and a
spec of more than ``max_points`` (default ``MAX_POINTS``) is refused unless the spec raises
that limit; points are generated lazily and at most a few per worker are queued on the
cluster at a time. A spec's ``timeout`` (seconds) runs each point in a process of its own
and stops it when it runs longer (the point is recorded as failed with ``TimeoutError``;
Dask's retries apply to it as to any failure).

Fault tolerance: a point that raises is retried ``retries`` times (Dask's task retries),
then recorded as failed with its error; a worker that dies mid-task has its tasks moved to
other workers by the scheduler (up to ``distributed.scheduler.allowed-failures``, then the
point is recorded as failed). Every finished point is written at once, atomically and with
its SHA-256 (``neurosim.integrity``), to ``points/<key>.json`` under the output folder, so
an interrupted sweep loses nothing it finished; ``resume=True`` skips every point already
recorded as done (a record that fails its checksum is run again). The table of all points,
one row each (parameters, metrics, status, error, seconds), is written atomically as
``results.parquet`` (pandas + pyarrow) at the end and when interrupted. The output folder
is locked while the sweep runs (``neurosim.runlock``).
"""
from .points import read_points, run_point
from .run import run_sweep
from .spec import MAX_POINTS, SweepSpec, point_key
from .tasks import register_task, registered_tasks, resolve_task

__all__ = ["SweepSpec", "run_sweep", "register_task", "registered_tasks", "resolve_task", "read_points", "MAX_POINTS",
           "point_key", "run_point"]
