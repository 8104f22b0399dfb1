"""Simulation checkpoints: every array a ``Simulator`` carries from one step to the next,
written to one ``.npz`` file and read back into a simulator of the same network
(``Simulator.save_state`` / ``load_state``).

What is saved: the state matrix (membranes, adaptation, ... of every model), the synaptic
currents, refractory counters, external-input drive, the delay ring buffer, gap-junction
and graded-synapse drives, the dynamic synapses' state, the spike-schedule pointer, the
Poisson generator's state, the implicit solvers' history (BDF2) and clock, every plastic
projection's weights, traces, eligibilities, spike history and neuromodulators, and the
step. Continuing from a checkpoint is therefore the same computation as never stopping:
``run(T1)``, save, load into a new simulator, ``run(T2)`` gives the spikes of ``run(T1 +
T2)`` bit for bit (tested). With adaptive steps (``Simulator(adaptive=True)``) the solver
lands a step on the end of every run, so the step sequence depends on where runs stop:
there, load + ``run(T2)`` gives what ``run(T1)`` + ``run(T2)`` in one simulator gives.

A checkpoint fits one network only: it stores a SHA-256 fingerprint of the flattened
network (connectivity, weights, delays, coefficients, inputs), ``dt``, the float type and
the solver, and ``load_state`` refuses a file whose fingerprint or array shapes differ.
Nothing is pickled: files are read with ``allow_pickle=False``.
"""
from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["FORMAT", "state_arrays", "fingerprint", "save_state", "load_state"]

#: The format tag written into every simulation checkpoint (``meta/format``); ``load_state`` refuses others.
FORMAT = "neurosim-checkpoint-1"

_SIMULATOR = ("X", "isyn", "refrac", "iext", "spiked", "ring", "gap_drive", "g_syn", "g_syn_e", "dyn_S", "sched_ptr",
              "rng_state", "v_prev", "s_prev", "bdf_started", "bdf_scratch", "clock", "solver_stats")  # restart: per chunk
_LEARNING = ("W", "S", "Tpre", "Tpost", "last_pre", "last_post", "applied", "ph_step", "ph_val", "ph_len", "mod", "hist",
             "hist_n")


def state_arrays(sim) -> dict[str, np.ndarray]:
    """The simulator's state by name (the arrays themselves, not copies)."""
    out = {f"sim/{k}": getattr(sim, k) for k in _SIMULATOR}
    out.update({f"scratch/{i}": a for i, a in enumerate(sim.graded_scratch)})
    out.update({f"learning/{k}": getattr(sim.learning, k) for k in _LEARNING})
    return out


def fingerprint(sim) -> str:
    """SHA-256 over what makes two simulators run the same network: the layout's arrays,
    ``dt``, the float type, the graded solver and the step-size mode."""
    h = hashlib.sha256()
    h.update(repr((sim.dt, sim.dtype.name, sim.graded_method, sim.adaptive, sim.atol_v, sim.atol_s, sim.max_step)).encode())
    for name, value in sorted(vars(sim.layout).items()):
        for key, arr in (sorted(value.items()) if isinstance(value, dict) else [("", value)]):
            if isinstance(arr, np.ndarray) and not arr.dtype.hasobject:
                h.update(f"{name}/{key}{arr.dtype}{arr.shape}".encode())
                h.update(np.ascontiguousarray(arr).tobytes())
            elif isinstance(arr, (int, float, str, np.integer, np.floating)):
                h.update(f"{name}/{key}={arr!r}".encode())
    return h.hexdigest()


def save_state(sim, path):
    """Write ``sim``'s state to ``path`` (``.npz``) atomically; returns the path."""
    from ..atomic import atomic_savez

    arrays = dict(state_arrays(sim))
    arrays.update({"meta/format": np.array(FORMAT), "meta/fingerprint": np.array(fingerprint(sim)),
                   "meta/step": np.array(sim.step, np.int64), "meta/seed": np.array(sim.seed, np.int64)})
    return atomic_savez(path, arrays)


def load_state(sim, path) -> None:
    """Read a checkpoint written by ``save_state`` into ``sim`` (in place). Raises
    ``FileNotFoundError``, and ``ValueError`` naming the file and the reason for a file that
    is not a readable checkpoint (truncated, another format) or belongs to another network,
    ``dt``, float type or solver; ``sim`` is left untouched then."""
    import zipfile
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        with np.load(path, allow_pickle=False) as f:
            saved = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable neurosim checkpoint ({exc})") from None
    if str(saved.get("meta/format", "")) != FORMAT:
        raise ValueError(f"{path}: not a neurosim checkpoint (format {saved.get('meta/format', 'missing')!s}; "
                         f"expected {FORMAT})")
    if str(saved["meta/fingerprint"]) != fingerprint(sim):
        raise ValueError(f"{path}: the checkpoint was written for another network, dt, float type or solver "
                         "(its fingerprint differs); load it into a Simulator built like the one that saved it")
    target = state_arrays(sim)
    for key, arr in target.items():
        if key not in saved or saved[key].shape != arr.shape or saved[key].dtype != arr.dtype:
            got = "missing" if key not in saved else f"{saved[key].dtype}{saved[key].shape}"
            raise ValueError(f"{path}: state array {key!r} is {got}, expected {arr.dtype}{arr.shape}")
    for key, arr in target.items():  # in place: the simulator's views (v, s, ie, ii) stay valid
        arr[...] = saved[key]
    sim.step = int(saved["meta/step"])
