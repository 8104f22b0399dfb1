"""The one flattening of a ``Network`` that every engine shares: one global neuron index, the
synapses of any set of projections merged into one CSR over that index, and the
discretisation of delays (seconds) into whole steps.

Global numbering (``node_offsets``): the neurons of all populations in order (0 .. N-1),
then the neurons of all sources (N .. N+S-1). A merged CSR (``merge_csr``) holds, for every
presynaptic neuron, its synapses in the order of the projections given and, within a
projection, in that projection's CSR order; the simulator's layout, the SpiNNaker model and
the Loihi fixed-point engine all build their synapse arrays from it.

Delays (``delay_steps``): a projection's delay is the time a spike spends in transit beyond
the one step every synapse takes (Brian2's and NIR's convention): a spike emitted in step
``n`` through a synapse of delay ``d`` seconds acts in step ``n + 1 + d / dt``. ``d`` must
be a whole number of steps at the chosen ``dt`` (within ``DELAY_TOLERANCE`` of a step).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["node_offsets", "delay_steps", "merge_csr", "FlatSynapses", "flatten_synapses", "DELAY_TOLERANCE", "MAX_DELAY_STEPS"]

DELAY_TOLERANCE = 1e-6
"""How far (in steps) a delay may be from a whole number of steps at the chosen ``dt``."""

MAX_DELAY_STEPS = 65535
"""The most steps a spike may take to arrive (a delay of ``MAX_DELAY_STEPS - 1`` steps)."""


def node_offsets(net) -> tuple[dict, int, int]:
    """(first global index of every population and source by name, neurons, neurons + source
    neurons): populations first, then sources."""
    offsets, lo = {}, 0
    for p in net.populations:
        offsets[p.name] = lo
        lo += p.size
    n_neurons = lo
    for s in net.sources:
        offsets[s.name] = lo
        lo += s.size
    return offsets, n_neurons, lo


def delay_steps(projection, dt: float, max_steps: int = MAX_DELAY_STEPS) -> np.ndarray:
    """The steps each synapse of ``projection`` takes at time step ``dt`` (s): ``1 +
    delay / dt`` (int64, shape (n_syn,)). Raises ``ValueError`` naming the projection for a
    delay that is not a whole number of steps at ``dt`` (beyond ``DELAY_TOLERANCE``) or that
    takes more than ``max_steps`` steps."""
    d = np.asarray(projection.delays, np.float64)
    if d.size == 0:
        return np.zeros(0, np.int64)
    extra = d / dt
    whole = np.round(extra)
    off = np.abs(extra - whole) > DELAY_TOLERANCE
    if np.any(off):
        k = int(np.flatnonzero(off)[0])
        raise ValueError(f"projection {projection.name!r}: a delay of {d[k]:.9g} s is {extra[k]:.6g} steps at dt = {dt:g} s; "
                         "delays must be whole numbers of steps at the simulation's dt")
    steps = whole.astype(np.int64) + 1
    if int(steps.max()) > max_steps:
        raise ValueError(f"projection {projection.name!r}: a delay of {d.max():.9g} s is {int(steps.max()) - 1} steps at dt = "
                         f"{dt:g} s, beyond the {max_steps - 1} steps this engine's delay buffer holds")
    return steps


def merge_csr(n_rows: int, rows: list, within: list | None = None, keep=None) -> tuple[np.ndarray, list]:
    """Merge per-part row indices (each an int array) into one CSR over ``n_rows`` rows:
    returns ``indptr`` (n_rows + 1,) and, for every part ``keep(k)`` is true of (default:
    all), the merged position of each of its entries (None for the others). Within a row,
    entries keep the order of the parts and, within a part, their own order (a stable merge).
    ``within[k]``: each entry's rank among its part's entries of the same row, when the
    caller knows it (a CSR part: ``arange - indptr[row]``); otherwise it is found by a stable
    sort."""
    counts = [np.bincount(r, minlength=n_rows) for r in rows]
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.sum(counts, axis=0) if counts else np.zeros(n_rows, np.int64), out=indptr[1:])
    fill = indptr[:-1].copy()
    positions = []
    for k, r in enumerate(rows):
        if within is not None and within[k] is not None:
            rank = within[k]
        else:
            order = np.argsort(r, kind="stable")
            sorted_rows = r[order]
            rank = np.empty(r.size, np.int64)
            rank[order] = np.arange(r.size) - np.searchsorted(sorted_rows, sorted_rows, side="left")
        positions.append(fill[r] + rank if keep is None or keep(k) else None)
        fill += counts[k]
    return indptr, positions


@dataclass(frozen=True)
class FlatSynapses:
    """Synapses of some projections merged into one CSR over global presynaptic neurons
    (``node_offsets``): ``indptr`` (n_total + 1,); per synapse, in merged order, ``post``
    (global postsynaptic neuron), ``channel`` (0 excitatory, 1 inhibitory), ``weight`` (the
    projection's unit), ``delay`` (steps, >= 1) and ``projection`` (index into the list
    given); ``positions[k]``: where projection k's synapses (its CSR order) went."""

    indptr: np.ndarray
    post: np.ndarray
    channel: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    projection: np.ndarray
    positions: list

    @property
    def pre(self) -> np.ndarray:
        """The global presynaptic neuron of every synapse, in merged order."""
        return np.repeat(np.arange(self.indptr.size - 1, dtype=np.int64), np.diff(self.indptr))


def flatten_synapses(net, dt: float, projections, max_steps: int = MAX_DELAY_STEPS, keep_positions: bool = True) -> FlatSynapses:
    """The current-based (``exc``/``inh``) ``projections`` of ``net`` merged into one CSR
    over global presynaptic neurons (``merge_csr``), with their delays in steps at ``dt``
    (``delay_steps``). Arrays are as small as their values allow (``post`` int32 when the
    network has fewer than 2**31 neurons, ``weight`` float32 when every projection's weights
    are); ``keep_positions=False`` drops ``positions`` (one int64 per synapse)."""
    offsets, _, n_total = node_offsets(net)
    rows, within = [], []
    for pr in projections:
        counts = np.diff(pr.indptr)
        rows.append(pr.pre_indices() + offsets[pr.pre])
        within.append(np.arange(pr.n_synapses) - np.repeat(pr.indptr[:-1], counts))  # CSR order within each row
    indptr, positions = merge_csr(n_total, rows, within)
    del rows, within
    nnz = int(indptr[-1])
    wdtype = np.result_type(*[pr.weights.dtype for pr in projections]) if projections else np.float64
    post = np.empty(nnz, np.int32 if n_total < 2**31 else np.int64)
    channel = np.empty(nnz, np.int8)
    weight = np.empty(nnz, wdtype)
    delay = np.empty(nnz, np.int32)
    proj = np.empty(nnz, np.int32)
    for k, (pr, pos) in enumerate(zip(projections, positions)):
        post[pos] = pr.indices + offsets[pr.post]
        channel[pos] = 0 if pr.target == "exc" else 1
        weight[pos] = pr.weights
        delay[pos] = delay_steps(pr, dt, max_steps)
        proj[pos] = k
    return FlatSynapses(indptr, post, channel, weight, delay, proj, positions if keep_positions else [])
