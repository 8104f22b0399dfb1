"""What a simulator run records: monitors checked against the network, the buffers the
kernels write spikes and samples into, and their contents collected, chunk by chunk, into
the core's ``SpikeTrains`` and ``Traces``. Memory is bounded before the run: state traces
by their size (``MAX_TRACE_VALUES``), spikes by each monitor's ``max_spikes``."""
from __future__ import annotations

import numpy as np

from ..monitors import SpikeMonitor, StateMonitor, resolve_neurons
from ..network import Network
from ..results import SpikeTrains, Traces
from .registry import state_slots

__all__ = ["MAX_TRACE_VALUES", "check_monitors", "Recording", "flush_monitors"]

MAX_TRACE_VALUES = 500_000_000
"""4 GB in float64: a StateMonitor that would store more values is refused."""


def check_monitors(network: Network, monitors, n_steps: int) -> tuple[list, list]:
    """``(spike monitors, state monitors)`` of ``monitors`` (one monitor or a sequence) for a
    run of ``n_steps``. Raises ``ValueError`` for an unknown population or variable, a
    population monitored twice, spikes of a graded population, a trace over
    ``MAX_TRACE_VALUES`` values or an object that is no monitor."""
    if isinstance(monitors, (SpikeMonitor, StateMonitor)):
        monitors = [monitors]
    spk, st = [], []
    names = {n.name for n in (*network.populations, *network.sources)}
    for m in monitors:
        if isinstance(m, SpikeMonitor):
            if m.population not in names:
                raise ValueError(f"SpikeMonitor: unknown population {m.population!r}; known: {sorted(names)}")
            if any(o.population == m.population for o in spk):
                raise ValueError(f"SpikeMonitor: {m.population!r} is monitored twice; use one monitor per population")
            node = network.node(m.population)
            if not getattr(node, "spiking", True):
                raise ValueError(f"SpikeMonitor: {m.population!r} is a graded (non-spiking) population; record its 'v' with a StateMonitor")
            resolve_neurons(f"SpikeMonitor({m.population!r})", m.neurons, node.size)
            spk.append(m)
        elif isinstance(m, StateMonitor):
            pops = {p.name: p for p in network.populations}
            if m.population not in pops:
                raise ValueError(f"StateMonitor: unknown population {m.population!r}; known: {sorted(pops)}")
            if any(o.population == m.population for o in st):
                raise ValueError(f"StateMonitor: {m.population!r} is monitored twice; list all variables in one monitor")
            model = pops[m.population].model
            for var in m.variables:
                if var not in model.state_vars:
                    raise ValueError(f"StateMonitor({m.population!r}): unknown variable {var!r}; {type(model).__name__} has {list(model.state_vars)}")
            idx = resolve_neurons(f"StateMonitor({m.population!r})", m.neurons, pops[m.population].size)
            total = len(range(0, n_steps, m.every)) * idx.size * len(m.variables)
            if total > MAX_TRACE_VALUES and m.file is None:
                raise ValueError(f"StateMonitor({m.population!r}) would store {total:,} values; record fewer neurons, raise "
                                 "every, or stream them to a file (file=...)")
            st.append(m)
        else:
            raise ValueError(f"monitors must be SpikeMonitor or StateMonitor objects, got {type(m).__name__}")
    return spk, st


def flush_monitors(cols, mon_buf, mon_count, written) -> None:
    """Move the kernel's per-column sample buffers into the trace arrays. The columns of one
    (monitor, variable) are consecutive and advance together, so each such block is one
    strided copy (a per-column loop costs more than the simulation for big monitors)."""
    c = 0
    while c < len(cols):
        tr, var = cols[c][0], cols[c][1]
        end = c + 1
        while end < len(cols) and cols[end][0] is tr and cols[end][1] == var and mon_count[end] == mon_count[c] \
                and written[end] == written[c]:
            end += 1
        cnt, w0 = mon_count[c], written[c]
        first_col = cols[c][2]
        tr.data[var][w0 : w0 + cnt, first_col : first_col + (end - c)] = mon_buf[c:end, :cnt].T
        written[c:end] += cnt
        c = end
    mon_count[:] = 0


class Recording:
    """The recording of one run of ``n_steps`` from step ``step0``: the arrays the kernels
    fill (``rec_mask``, ``rec_step``, ``rec_id``, ``rec_count`` for spikes; ``mon_var``,
    ``mon_idx``, ``mon_every``, ``mon_buf``, ``mon_count`` for state samples, one column per
    (monitor, variable, neuron): ``cols``), ``traces`` by population, and ``collect`` and
    ``spikes`` to gather them. Monitors with a ``file`` go to ``streams`` ({path: Stream},
    ``neurosim.engine.streaming``) chunk by chunk instead: their traces hold one chunk."""

    def __init__(self, network: Network, layout, spike_monitors, state_monitors, n_steps: int, step0: int, dt: float, dtype,
                 chunk_steps: int, streams: dict | None = None):
        from pathlib import Path

        self.network, self.layout, self.spike_monitors = network, layout, spike_monitors
        self.n_steps, self.step0, self.dt = n_steps, step0, dt
        self.streams = streams or {}
        # population -> its Stream, for the monitors that stream
        self.streamed_spikes = {m.population: self.streams[Path(m.file).resolve()] for m in spike_monitors if m.file is not None}
        self.streamed_traces = {}  # population -> (Stream, every, samples so far)
        self.rec_mask = np.zeros(layout.n_total, np.bool_)
        self.caps = {}  # population -> [global lo, hi, max_spikes, recorded so far]
        for m in spike_monitors:
            node = network.node(m.population)
            idx = resolve_neurons(f"SpikeMonitor({m.population!r})", m.neurons, node.size)
            self.rec_mask[layout.offsets[m.population] + idx] = True
            if m.max_spikes is not None:
                lo = layout.offsets[m.population]
                self.caps[m.population] = [lo, lo + node.size, m.max_spikes, 0]
        rec_cap = max(4 * layout.n_total, 1 << 18)
        self.rec_step = np.zeros(rec_cap, np.int64)
        self.rec_id = np.zeros(rec_cap, np.int64)
        self.rec_count = np.zeros(1, np.int64)
        self.got_steps, self.got_ids = [], []

        self.cols = []  # per recorded column: (Traces, variable, column in it, every, global neuron index)
        self.traces = {}
        mon_var = []
        for m in state_monitors:
            pop = network.population(m.population)
            slots = state_slots(pop.model)
            idx = resolve_neurons(f"StateMonitor({m.population!r})", m.neurons, pop.size)
            n_samp = len(range(0, n_steps, m.every))
            times = (step0 + np.arange(0, n_steps, m.every)) * dt
            if m.file is not None:  # one chunk's samples at a time
                n_samp, times = chunk_steps // m.every + 2, np.zeros(0)
                self.streamed_traces[m.population] = [self.streams[Path(m.file).resolve()], m.every, 0]
            tr = Traces(m.population, times, idx, {var: np.zeros((n_samp, idx.size), dtype) for var in m.variables})
            self.traces[m.population] = tr
            for var in m.variables:
                for c, j in enumerate(idx):
                    self.cols.append((tr, var, c, m.every, layout.offsets[m.population] + j))
                    mon_var.append(slots[var])
        self.mon_var = np.array(mon_var, np.int64)
        self.mon_idx = np.array([c[4] for c in self.cols], np.int64)
        self.mon_every = np.array([c[3] for c in self.cols], np.int64)
        min_every = int(self.mon_every.min()) if self.cols else 1
        self.mon_buf = np.zeros((len(self.cols), chunk_steps // min_every + 2), dtype)
        self.mon_count = np.zeros(len(self.cols), np.int64)
        self.mon_written = np.zeros(len(self.cols), np.int64)

    def collect(self, steps_done: int | None = None) -> None:
        """After a chunk: take the recorded spikes and samples out of the kernel's buffers;
        hand the streamed ones, with ``steps_done`` (steps of the run finished), to their
        files."""
        steps = self.rec_step[: self.rec_count[0]].copy()
        ids = self.rec_id[: self.rec_count[0]].copy()
        self.rec_count[0] = 0
        out: dict = {}  # Stream -> (spikes, traces) of this chunk
        for pop, stream in self.streamed_spikes.items():
            lo = self.layout.offsets[pop]
            sel = (ids >= lo) & (ids < lo + self.network.node(pop).size)
            out.setdefault(stream, ({}, {}))[0][pop] = (steps[sel], ids[sel] - lo)
            steps, ids = steps[~sel], ids[~sel]
        if steps.size:
            self.got_steps.append(steps)
            self.got_ids.append(ids)
            self._apply_caps(ids)
        flush_monitors(self.cols, self.mon_buf, self.mon_count, self.mon_written)
        for pop, entry in self.streamed_traces.items():
            stream, every, seen = entry
            tr = self.traces[pop]
            cols = np.array([k for k, c in enumerate(self.cols) if c[0] is tr])
            n = int(self.mon_written[cols[0]])
            sample_steps = self.step0 + every * (seen + np.arange(n, dtype=np.int64))
            out.setdefault(stream, ({}, {}))[1][pop] = (sample_steps, {var: v[:n].copy() for var, v in tr.data.items()})
            self.mon_written[cols] = 0
            entry[2] = seen + n
        for stream, (spk, trc) in out.items():
            stream.put(steps_done if steps_done is not None else 0, spk, trc)

    def _apply_caps(self, new_ids) -> None:
        """Stop recording a population once its ``max_spikes`` is reached (memory bound: at
        most one chunk's spikes beyond the cap are held until results are trimmed)."""
        for cap in self.caps.values():
            lo, hi, limit, seen = cap
            cap[3] = seen + int(np.count_nonzero((new_ids >= lo) & (new_ids < hi)))
            if cap[3] >= limit:
                self.rec_mask[lo:hi] = False

    def spikes(self) -> dict[str, SpikeTrains]:
        """The recorded spikes of every spike monitor, trimmed to its ``max_spikes``."""
        all_steps = np.concatenate(self.got_steps) if self.got_steps else np.zeros(0, np.int64)
        all_ids = np.concatenate(self.got_ids) if self.got_ids else np.zeros(0, np.int64)
        out, dt = {}, self.dt
        for m in self.spike_monitors:
            if m.population in self.streamed_spikes:
                continue
            node = self.network.node(m.population)
            lo = self.layout.offsets[m.population]
            sel = (all_ids >= lo) & (all_ids < lo + node.size)
            st, ids = all_steps[sel], all_ids[sel] - lo
            truncated = m.max_spikes is not None and st.size >= m.max_spikes
            if m.max_spikes is not None:
                st, ids = st[: m.max_spikes], ids[: m.max_spikes]
            n_mon = resolve_neurons("", m.neurons, node.size).size
            out[m.population] = SpikeTrains(m.population, st * dt, ids, node.size, self.n_steps * dt, n_mon, truncated,
                                            self.step0 * dt)
        return out
