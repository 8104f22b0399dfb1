"""Tasks for the sweep tests, run in Dask worker processes (found through sys.path, which
the workers inherit): each logs its runs to a file so that tests can count recomputation."""
import os
import signal
from pathlib import Path


def _log(params):
    with open(params["log"], "a") as f:
        f.write(f"{params['x']}\n")


def square(params):
    """{"y": x**2}; raises for x in params["bad"]."""
    _log(params)
    if params["x"] in params.get("bad", []):
        raise RuntimeError(f"x = {params['x']} is not allowed")
    return {"y": params["x"] ** 2}


def flaky(params):
    """Fails the first time it runs for each x (a marker file remembers), then succeeds."""
    _log(params)
    marker = Path(params["log"]).with_name(f"flaky-{params['x']}")
    if not marker.exists():
        marker.touch()
        raise OSError("transient failure")
    return {"y": params["x"] ** 2}


def kill_worker_once(params):
    """Kills its own worker process the first time it runs for x == params["victim"]."""
    _log(params)
    marker = Path(params["log"]).with_name("killed")
    if params["x"] == params["victim"] and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return {"y": params["x"] ** 2}
