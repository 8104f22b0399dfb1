"""External currents for the engine: the injected currents of a ``Network`` over a chunk of
steps, as a per-neuron bias plus a piecewise-constant table (O(segments x neurons), not
O(steps x neurons)), the breakpoints the adaptive graded solver steps onto, and the chunk
length that keeps sampled inputs bounded in memory."""
from __future__ import annotations

import numpy as np

from ..network import Network

__all__ = ["MAX_INPUT_VALUES", "input_chunk", "external_currents", "input_segments"]

MAX_INPUT_VALUES = 1 << 22
"""Sampled input currents per chunk (32 MB in float64)."""


def _targets(network: Network, layout, inj) -> tuple[np.ndarray, np.ndarray]:
    """(neurons within the target population, their global indices) of injection ``inj``."""
    pop = network.population(inj.target)
    neurons = inj.neurons if inj.neurons is not None else np.arange(pop.size)
    return neurons, layout.offsets[inj.target] + neurons


def input_chunk(network: Network, chunk_steps: int) -> int:
    """``chunk_steps`` bounded so that sampled inputs (arrays, functions: up to one row per
    step) stay under ``MAX_INPUT_VALUES`` values per chunk."""
    inputs = network.inputs
    if all(inj.kind == "step" for inj in inputs):
        return chunk_steps
    n_cols = sum(network.population(inj.target).size if inj.neurons is None else inj.neurons.size for inj in inputs)
    return max(1, min(chunk_steps, MAX_INPUT_VALUES // max(n_cols, 1)))


def external_currents(network: Network, layout, dt: float, dtype, step: int, steps: int, functions_at_step_end: bool):
    """External current (A) over ``steps`` steps from ``step``: ``(bias, tab, tab_idx,
    tab_step, restart)``: the bias (n_neurons,), constant over the chunk; the
    piecewise-constant table of the currents that change (one row per segment: ``tab`` (K,
    n_cols) into global neurons ``tab_idx`` (n_cols,), segment g from chunk step
    ``tab_step[g]``); and ``restart`` (steps,), 1 at the steps where a step or array current
    jumps (multistep solvers restart there). Functions are sampled at the start of each step,
    or at its end with ``functions_at_step_end`` (the implicit solver's right-hand side is
    evaluated there). Raises ``FloatingPointError`` for a current beyond ``dtype`` (or NaN)."""
    dtype = np.dtype(dtype)
    bias = np.zeros(layout.n_neurons, np.float64)
    cols, idx = [], []
    restart = np.zeros(steps, np.uint8)
    starts = np.zeros(1, np.int64)
    if network.inputs:
        t = (step + np.arange(steps)) * dt
        starts = np.unique(np.concatenate([starts, *(inj.change_points(t) for inj in network.inputs)]))
        for inj in network.inputs:
            neurons, gidx = _targets(network, layout, inj)
            t_eval = t + dt if (inj.kind == "function" and functions_at_step_end) else t
            rows = inj.sample(t_eval[starts], neurons.size)  # (segments, neurons)
            if inj.kind != "function":
                # compare with the previous step's value (also across chunk boundaries)
                prev = inj.sample(np.array([(step - 1) * dt]), neurons.size)[0] if step > 0 else np.zeros(neurons.size)
                jumps = np.any(np.diff(np.vstack([prev[None, :], rows]), axis=0) != 0, axis=1)
                restart[starts[jumps]] = 1
            if np.all(rows == rows[:1]):
                np.add.at(bias, gidx, rows[0])
            else:
                cols.append(np.asarray(rows))
                idx.append(gidx)
    top = float(np.finfo(dtype).max)
    for values in (bias, *cols):
        if values.size and not float(np.abs(values).max()) <= top:  # also NaN from a function
            j = int(np.argmax(~(np.abs(values) <= top)))
            raise FloatingPointError(f"the injected current reaches {values.ravel()[j]:.3g} A between t = {step * dt:g} "
                                     f"and {(step + steps) * dt:g} s, beyond {dtype.name} (largest {top:.3g})")
    tab = np.ascontiguousarray(np.concatenate(cols, axis=1), dtype) if cols else np.zeros((1, 0), dtype)
    tab_idx = np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, np.int64)
    return bias.astype(dtype), tab, tab_idx, starts.astype(np.int64), restart


def input_segments(network: Network, layout, t0: float, t1: float):
    """Breakpoints in [t0, t1] (s) of the piecewise-constant inputs and the injected current
    on each segment: ``(seg_t (K+1,), seg_tab (K, n_cols), seg_idx (n_cols,))``. Raises
    ``ValueError`` for a current that is a function of time."""
    points = {t0, t1}
    for inj in network.inputs:
        if inj.kind == "function":
            raise ValueError(f"current injection into {inj.target!r} is a function of time; the adaptive solver needs "
                             "piecewise-constant inputs (use CurrentInjection.from_array, or adaptive=False)")
        if inj.kind == "step":
            points.update(x for x in (inj.start, inj.stop) if t0 < x < t1)
        else:
            k = np.arange(inj.values.shape[0] + 1)
            tk = inj.start + k * inj.sample_dt
            points.update(tk[(tk > t0) & (tk < t1)].tolist())
    seg_t = np.array(sorted(points))
    seg_t = seg_t[np.concatenate([[True], np.diff(seg_t) > 1e-12])]
    mids = 0.5 * (seg_t[:-1] + seg_t[1:])
    cols, idx = [], []
    for inj in network.inputs:
        neurons, gidx = _targets(network, layout, inj)
        cols.append(inj.sample(mids, neurons.size))
        idx.append(gidx)
    seg_tab = np.ascontiguousarray(np.concatenate(cols, axis=1)) if cols else np.zeros((mids.size, 0))
    seg_idx = np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, np.int64)
    return seg_t, seg_tab, seg_idx
