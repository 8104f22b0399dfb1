"""One sweep point: the task run (in a process of its own when the spec has a ``timeout``),
timed, and what it returns checked; ``read_points`` reads the records finished points left."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from ..integrity import CorruptFileError, read_checked_json

__all__ = ["run_point", "read_points"]


def _call_task(fn, name: str, params: dict) -> dict:
    """Run the task and check what it returns: a dict of scalar metrics, and optionally
    ``"traces"``: a dict of numeric arrays."""
    out = fn(dict(params))
    if not isinstance(out, dict):
        raise TypeError(f"task {name!r} returned a {type(out).__name__}; a task returns a dict of scalar metrics")
    out = dict(out)
    traces = out.pop("traces", None)
    for k, v in out.items():
        if not isinstance(v, (int, float, str, bool, np.integer, np.floating, np.bool_)):
            raise TypeError(f"task {name!r} returned {k!r} = {type(v).__name__}; metrics must be scalars (arrays go under 'traces')")
    if traces is not None:
        if not isinstance(traces, dict):
            raise TypeError(f"task {name!r} returned traces as a {type(traces).__name__}; give a dict of arrays")
        checked = {}
        for k, v in traces.items():
            try:
                arr = np.asarray(v)
            except ValueError as exc:
                raise TypeError(f"task {name!r}: trace {k!r} is not one array ({exc})") from None
            if arr.dtype.hasobject:
                raise TypeError(f"task {name!r}: trace {k!r} holds Python objects (dtype object); traces are saved without "
                                "pickle, so give numeric arrays")
            checked[str(k)] = arr
        traces = checked
    return {"metrics": {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}, "traces": traces}


def _child_main() -> None:
    """In a point's own process (``timeout``): read (task, name, params) from stdin, run it,
    write the outcome to stdout. Anything the task prints goes to stderr."""
    import os
    import sys

    import cloudpickle

    result_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the task's prints must not mix with the result
    fn, name, params = cloudpickle.loads(sys.stdin.buffer.read())
    try:
        outcome = ("ok", _call_task(fn, name, params))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as the point's error
        outcome = ("error", type(exc).__name__, str(exc))
    result_out.write(cloudpickle.dumps(outcome))
    result_out.close()


def _run_in_process(fn, name: str, params: dict, timeout: float) -> dict:
    """Run the task in a new Python process and stop it (and its children) after
    ``timeout`` s. The payload is our own, pickled by this process, never a user's file."""
    import os
    import signal
    import subprocess
    import sys

    import cloudpickle

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-c", "from neurosim.sweep.points import _child_main; _child_main()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(cloudpickle.dumps((fn, name, params)), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise TimeoutError(f"task {name!r} ran longer than timeout = {timeout:g} s and was stopped") from None
    if proc.returncode != 0 or not out:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"task {name!r}: its process ended with exit code {proc.returncode}: {' | '.join(tail)}")
    outcome = cloudpickle.loads(out)
    if outcome[0] == "error":
        raise RuntimeError(f"{outcome[1]}: {outcome[2]}")
    return outcome[1]


def run_point(fn, name: str, params: dict, timeout: float | None = None) -> dict:
    """What a worker runs: the task (in a process of its own when there is a
    ``timeout``), timed; metrics and traces checked."""
    t0 = time.perf_counter()
    out = _run_in_process(fn, name, params, timeout) if timeout is not None else _call_task(fn, name, params)
    return {**out, "seconds": time.perf_counter() - t0}


def read_points(out_dir) -> list[dict]:
    """The point records written so far under ``out_dir/points``; a record that is not
    readable or fails its checksum is skipped with a warning (its point runs again)."""
    records = []
    for f in sorted((Path(out_dir) / "points").glob("*.json")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # records written before checksums
                records.append(read_checked_json(f, "sweep point record"))
        except (OSError, CorruptFileError) as exc:
            warnings.warn(f"{exc}; that point runs again", UserWarning, stacklevel=2)
    return records
