"""The learning state a ``Simulator`` holds for its plastic projections: weights, per-synapse
state, traces, neuromodulators, the spike history for delayed arrivals; weight monitors;
and the reward each run supplies (``neurosim.engine.plastic`` runs the rules)."""
from __future__ import annotations

import numpy as np

from ..monitors import WeightMonitor
from ..results import SpikeTrains, Traces
from .plastic import HISTORY, flush_all, plastic_arrays
from .recording import MAX_TRACE_VALUES
from .registry import plasticity_tables

__all__ = ["PlasticState"]


class PlasticState:
    """Learning state of one simulator (``layout.plastic``; see ``neurosim.engine.plastic``)."""

    def __init__(self, layout, dtype):
        self.pl = layout.plastic
        self.dtype = np.dtype(dtype)
        self.active = self.pl["P"] > 0
        self.arrays = plastic_arrays(self.pl)
        self.reset()

    def reset(self) -> None:
        """Weights back to the network's, traces, eligibilities and modulators to zero."""
        pl, f = self.pl, self.dtype
        self.W = pl["W0"].copy()
        self.S = np.zeros((max(1, pl["n_S"]), self.W.size if pl["n_S"] else 0), f)
        self.Tpre = np.zeros((pl["tr_rows"], pl["n_tpre"]), np.float64)
        self.Tpost = np.zeros((pl["tr_rows"], pl["n_tpost"]), np.float64)
        self.last_pre = np.zeros(pl["n_tpre"], np.int64)
        self.last_post = np.zeros(pl["n_tpost"], np.int64)
        self.applied = np.zeros(pl["n_tpre"], np.int64)  # postsynaptic spikes from this step on are pending
        self.ph_step = np.zeros((pl["n_tpost"], HISTORY if self.active else 0), np.int64)
        self.ph_val = np.zeros((pl["n_tpost"], HISTORY if self.active else 0), np.float64)
        self.ph_len = np.zeros(pl["n_tpost"], np.int64)
        self.mod = np.zeros(max(1, pl["P"]), np.float64)
        # the spike lists of the last hist_len steps (arrivals and delayed postsynaptic spikes read them)
        H = pl["hist_len"] if self.active else 1
        self.hist = np.zeros((H, pl["n_total"] if self.active else 0), np.int32)
        self.hist_n = np.zeros(H, np.int64)

    def step_args(self, rewards, hooks, monitor_arrays, step0) -> tuple:
        """``plastic_step``'s arguments after ``isyn`` (the ``plastic`` bundle of
        ``kernels.run_chunk``): ``rewards`` (chunk steps, P), the compiled ``hooks``, the
        weight monitors' arrays (``WeightRecording.arrays``) and the run's first step."""
        wm = monitor_arrays
        return (self.hist, self.hist_n, *self.arrays, self.W, self.S, self.Tpre, self.last_pre, self.Tpost, self.last_post,
                self.applied, self.ph_step, self.ph_val, self.ph_len, self.mod, rewards, *hooks, *wm[:4], step0, *wm[4:])

    def flush(self, step: int, isyn) -> None:
        """Bring every plastic weight up to date at ``step`` (after a run: ``W`` is then exact)."""
        if self.active:
            flush_all(step, isyn.size // 2, isyn, *self.arrays, self.W, self.S, self.Tpre, self.last_pre,
                      self.Tpost, self.last_post, self.applied, self.ph_step, self.ph_val, self.ph_len, self.hooks()[0])

    def hooks(self) -> tuple:
        return plasticity_tables(self.dtype, self.active, self.pl["code"])

    # ------------------------------------------------------------------ read back
    def slice_of(self, projection: str, network) -> slice:
        """Where ``projection``'s weights are in ``W``. Raises ``KeyError`` for an unknown
        projection and ``ValueError`` for one with fixed weights."""
        names = [p.name for p in network.projections]
        if projection not in names:
            raise KeyError(f"no projection named {projection!r}; known: {names}")
        if projection not in self.pl["pos"]:
            plastic = sorted(self.pl["pos"]) or "none"
            raise ValueError(f"projection {projection!r} has fixed weights (no learning rule); plastic projections: {plastic}")
        return self.pl["pos"][projection]

    # ------------------------------------------------------------------ weight monitors
    def monitors(self, network, monitors, n_steps: int, step0: int, dt: float) -> "WeightRecording":
        return WeightRecording(self, network, [m for m in monitors if isinstance(m, WeightMonitor)], n_steps, step0, dt)

    # ------------------------------------------------------------------ rewards
    def rewards(self, reward, n_steps: int) -> "Rewards":
        return Rewards(self.pl, reward, n_steps)


class WeightRecording:
    """Buffers of the weight monitors of one run (sized for the whole run: bounded before it)."""

    def __init__(self, state: PlasticState, network, monitors, n_steps, step0, dt):
        self.monitors, self.traces = monitors, {}
        cols, every, seen, ks, rows = [], [], set(), [], []
        pl = state.pl
        for m in monitors:
            sl = state.slice_of(m.projection, network)
            if m.projection in seen:
                raise ValueError(f"WeightMonitor: projection {m.projection!r} is monitored twice; use one monitor per projection")
            seen.add(m.projection)
            n_syn = sl.stop - sl.start
            idx = np.arange(n_syn) if m.synapses is None else np.asarray(m.synapses)
            if idx.dtype.kind not in "iu" or idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= n_syn)):
                raise ValueError(f"WeightMonitor({m.projection!r}): synapses must be a 1-D sequence of indices in 0..{n_syn - 1}")
            cols.append(sl.start + idx.astype(np.int64))
            every.append(m.every)
            k = pl["names"].index(m.projection)
            ks.append(np.full(idx.size, k, np.int64))
            rows.append(network.projections[[p.name for p in network.projections].index(m.projection)].pre_indices()[idx])
            self.traces[m.projection] = Traces(m.projection, (step0 + np.arange(0, n_steps, m.every)) * dt, idx.astype(np.int64))
        if len(set(every)) > 1:
            raise ValueError(f"WeightMonitor: every differs between monitors ({sorted(set(every))}); use one sampling interval "
                             "per run")
        self.every = every[0] if every else 1
        self.syn = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        self.k = np.concatenate(ks) if ks else np.zeros(0, np.int64)  # projection and presynaptic neuron of each
        self.i = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
        n_samples = len(range(0, n_steps, self.every)) if cols else 0
        if n_samples * self.syn.size > MAX_TRACE_VALUES:
            raise ValueError(f"WeightMonitor would store {n_samples * self.syn.size:,} values (more than {MAX_TRACE_VALUES:,}); "
                             "record fewer synapses or raise every")
        self.buf = np.zeros((n_samples, self.syn.size), state.dtype)
        self.count = np.zeros(1, np.int64)

    def arrays(self) -> tuple:
        return (self.syn, self.k, self.i, np.int64(self.every), self.buf, self.count)

    def results(self) -> dict:
        """``{projection: Traces}`` with ``data["w"]`` (n_samples, n_synapses)."""
        c = 0
        for m in self.monitors:
            tr = self.traces[m.projection]
            tr.data["w"] = self.buf[: self.count[0], c : c + tr.neurons.size].copy()
            c += tr.neurons.size
        return self.traces


class Rewards:
    """The reward of one run for the modulated projections: ``None``; an array (n_steps,)
    for all of them, or ``{projection: array (n_steps,)}``; or a callable ``reward(t_start,
    n_steps, spikes) -> array (n_steps,)`` asked before every chunk, with the spikes the
    run's spike monitors recorded since it was last asked (``{population: SpikeTrains}``)."""

    def __init__(self, pl, reward, n_steps: int):
        self.pl, self.n_steps, self.callback = pl, n_steps, None
        modulated = [name for name, m in zip(pl["names"], pl["modulated"]) if m]
        self.table = None
        if reward is None:
            return
        if not modulated:
            raise ValueError("reward given, but no projection has a reward-modulated learning rule (e.g. RewardSTDP)")
        if callable(reward):
            self.callback = reward
            return
        per = reward if isinstance(reward, dict) else {name: reward for name in modulated}
        unknown = sorted(set(per) - set(modulated))
        if unknown:
            raise ValueError(f"reward for {unknown}: not reward-modulated projections; modulated: {modulated}")
        self.table = np.zeros((n_steps, max(1, pl["P"])), np.float64)
        for name, values in per.items():
            self.table[:, pl["names"].index(name)] = self._check(values, n_steps, f"reward for {name!r}")

    @staticmethod
    def _check(values, n_steps: int, where: str) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64) if np.asarray(values).dtype.kind in "iuf" else None
        if arr is None or arr.shape != (n_steps,):
            shape = np.shape(values) if arr is None else arr.shape
            raise ValueError(f"{where} has shape {shape}; it needs one value per step of the run: shape ({n_steps},)")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{where}: values must be finite (got NaN or infinity at step {int(np.flatnonzero(~np.isfinite(arr))[0])})")
        return arr

    def chunk(self, done: int, steps: int, t_start: float, spikes) -> np.ndarray:
        """Rewards (steps, P) for the steps ``done .. done + steps`` of the run."""
        if self.callback is not None:
            values = self._check(self.callback(t_start, steps, spikes), steps, "the reward callback's result")
            out = np.zeros((steps, max(1, self.pl["P"])), np.float64)
            for k, m in enumerate(self.pl["modulated"]):
                if m:
                    out[:, k] = values
            return out
        if self.table is None:
            return np.zeros((0, max(1, self.pl["P"])), np.float64)
        return np.ascontiguousarray(self.table[done : done + steps])


def chunk_spikes(rec, since: int, network, layout, dt) -> dict:
    """The spikes of ``rec``'s monitors recorded in its chunks from index ``since`` on, as
    ``{population: SpikeTrains}`` (for a reward callback)."""
    steps = np.concatenate(rec.got_steps[since:]) if len(rec.got_steps) > since else np.zeros(0, np.int64)
    ids = np.concatenate(rec.got_ids[since:]) if len(rec.got_ids) > since else np.zeros(0, np.int64)
    out = {}
    for m in rec.spike_monitors:
        node = network.node(m.population)
        lo = layout.offsets[m.population]
        sel = (ids >= lo) & (ids < lo + node.size)
        out[m.population] = SpikeTrains(m.population, steps[sel] * dt, ids[sel] - lo, node.size, 0.0)
    return out
