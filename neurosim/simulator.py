"""The clock-driven, event-driven Numba simulator."""
from __future__ import annotations

import math
import time

import numpy as np

from .engine import kernels
from .engine.graded_implicit import run_graded_adaptive, run_graded_bdf2
from .engine.layout import build_layout
from .engine.registry import kernel_table, state_slots, synapse_table
from .models.base import check_dt
from .monitors import SpikeMonitor, StateMonitor, resolve_neurons
from .network import Network, spike_steps
from .results import Results, SpikeTrains, Traces

__all__ = ["Simulator"]

_MAX_TRACE_VALUES = 500_000_000  # 4 GB in float64: beyond this a StateMonitor is refused
_MAX_INPUT_VALUES = 1 << 22  # sampled input currents per chunk (32 MB in float64)


def _flush_monitors(cols, mon_buf, mon_count, written):
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


class Simulator:
    """Runs a ``Network`` with the Numba engine (``neurosim.engine.kernels``).

    ``dt`` is the time step (s); ``dtype`` ``np.float32`` or ``np.float64`` sets the precision
    of state, coefficients and weights; ``seed`` seeds the Poisson sources (same seed, same
    result, bit for bit). State persists across ``run`` calls, which continue in time.

    ``graded_method``: how graded neurons are integrated. ``"bdf2"`` (for networks of graded
    neurons only) solves the voltages implicitly, for stiff connectome-scale networks
    (``neurosim.engine.graded_implicit``); ``"exponential"`` is the explicit exponential
    predictor-corrector that also runs mixed spiking/graded networks; ``"auto"`` picks
    ``"bdf2"`` when every population is graded.

    ``adaptive=True`` (with ``"bdf2"``) lets the step size follow the dynamics: variable-step
    BDF2 whose steps stay below the error tolerances ``atol_v`` (V) and ``atol_s`` (activation)
    and at most ``max_step`` (s); ``dt`` is then the first step and the unit of
    ``StateMonitor.every``, whose samples are interpolated onto the usual grid. Inputs must
    be piecewise constant (step or array current injections): steps land on their
    breakpoints. Long quiescent stretches then cost almost nothing.

    Raises ``ValueError`` for a bad ``dt``, ``dtype``, ``seed``, ``graded_method``,
    tolerance or network, and for a weight, current, conductance or initial value beyond
    the range of ``dtype``; ``run`` raises ``FloatingPointError`` when the state becomes
    NaN or infinite (checked after every chunk of steps), naming the population.
    """

    def __init__(self, network: Network, dt: float = 1e-4, dtype=np.float64, seed: int = 0, graded_method: str = "auto",
                 adaptive: bool = False, atol_v: float = 1e-5, atol_s: float = 1e-4, max_step: float = 1.0):
        if not isinstance(network, Network):
            raise ValueError(f"network must be a neurosim Network, got {type(network).__name__}")
        self.dt = check_dt(dt)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype = {dtype!r} is invalid: use numpy.float32 or numpy.float64")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed = {seed!r} is invalid: must be an integer >= 0")
        all_graded = all(not p.spiking for p in network.populations)
        if graded_method not in ("auto", "bdf2", "exponential"):
            raise ValueError(f"graded_method = {graded_method!r}: use 'auto', 'bdf2' or 'exponential'")
        if graded_method == "bdf2" and not all_graded:
            raise ValueError("graded_method = 'bdf2' needs a network of graded populations only; use 'exponential' for mixed networks")
        self.graded_method = "bdf2" if graded_method == "auto" and all_graded else ("exponential" if graded_method == "auto" else graded_method)
        self.solver_stats = np.zeros(4, np.int64)  # BDF2: steps, CG iterations, worst iterations, rejected steps
        if adaptive and self.graded_method != "bdf2":
            raise ValueError("adaptive=True needs the implicit graded solver: a network of graded populations only")
        for name, value in (("atol_v", atol_v), ("atol_s", atol_s), ("max_step", max_step)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} = {value!r} is invalid: must be a finite number > 0")
        self.adaptive, self.atol_v, self.atol_s, self.max_step = bool(adaptive), float(atol_v), float(atol_s), float(max_step)
        self.network = network
        self.seed = int(seed)
        self._check_dtype_range()
        self.layout = build_layout(network, self.dt, self.dtype)
        self.reset()

    def _check_dtype_range(self) -> None:
        """Refuse values that the simulation's float type cannot hold (float32 tops out at
        3.4e38: a larger weight, current or initial value would become infinite, and the
        membranes NaN)."""
        top = float(np.finfo(self.dtype).max)
        hint = "; use dtype=numpy.float64" if self.dtype == np.float32 else ""

        def check(where, values):
            values = np.asarray(values, np.float64)
            if values.size and float(np.abs(values).max()) > top:
                big = values.ravel()[int(np.argmax(np.abs(values)))]
                raise ValueError(f"{where}: {big:.3g} overflows {self.dtype.name} (largest {top:.3g}){hint}")

        for pop in self.network.populations:
            for var, values in pop.initial_state().items():
                check(f"population {pop.name!r}: initial {var}", values)
        for pr in self.network.projections:
            check(f"projection {pr.name!r}: a weight", pr.weights)
        for inj in self.network.inputs:
            check(f"current injection into {inj.target!r}: the amplitude", inj.amplitude)
            if inj.values is not None:
                check(f"current injection into {inj.target!r}: a value", inj.values)
        for gj in self.network.gap_junctions:
            check(f"gap junctions {gj.pop_a}<->{gj.pop_b}: a conductance", gj.g)

    def _check_finite(self, first_step: int) -> None:
        """After a chunk: the whole state must still be finite. A NaN or infinite membrane
        gives no spikes and poisons everything it reaches, so the run stops, naming the
        population, neuron and variable, and the steps in which it happened."""
        if np.isfinite(self.X).all() and np.isfinite(self.isyn).all():
            return
        n = self.layout.n_neurons
        bad_x = ~np.isfinite(self.X)
        bad_syn = ~np.isfinite(self.isyn.reshape(2, n))
        j = int(np.flatnonzero(bad_x.any(0) | bad_syn.any(0))[0])
        pop = next(p for p in self.network.populations if self.layout.offsets[p.name] <= j < self.layout.offsets[p.name] + p.size)
        slots = state_slots(pop.model)
        var = next((v for v, code in slots.items() if (code >= 0 and bad_x[code, j]) or (code < 0 and bad_syn[-1 - code, j])),
                   "a state variable")
        hint = " (float32: try dtype=numpy.float64)" if self.dtype == np.float32 else ""
        raise FloatingPointError(
            f"population {pop.name!r}: {var} of neuron {j - self.layout.offsets[pop.name]} became non-finite between step "
            f"{first_step} and step {self.step} (t = {first_step * self.dt:g} to {self.step * self.dt:g} s): an input, weight or "
            f"initial value too large, or unstable dynamics{hint}")

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to the network's initial state at t = 0."""
        lay, dt = self.layout, self.dtype
        n = lay.n_neurons
        # state matrix: row 0 v, further rows per model (see neurosim.engine.registry)
        self.X = np.zeros((lay.n_slots, n), dt)
        self.v, self.s = self.X[0], self.X[1]
        self.isyn = np.zeros(2 * n, dt)  # [i_e | i_i]: the spike-propagation target
        self.ie, self.ii = self.isyn[:n], self.isyn[n:]
        self.refrac = np.zeros(n, np.int32)
        self.iext = np.zeros(n, dt)
        self.spiked = np.zeros(-(-lay.n_total // 8) * 8, np.uint8)  # padded: the kernel scans 8 flags at a time
        # no ring buffer is needed when every delay is one step (see kernels.run_chunk)
        self.ring = np.zeros((lay.ring_len, 2 * n) if lay.uniform_delay != 1 else (1, 0), dt)
        self.gap_drive = np.zeros(n, dt)
        self.g_syn = np.zeros(n, dt)
        self.g_syn_e = np.zeros(n, dt)
        self.has_graded = any(not p.spiking for p in self.network.populations)
        # scratch of the explicit engine's graded predictor-corrector (the implicit solver has its own)
        explicit_graded = self.has_graded and self.graded_method != "bdf2"
        self.graded_scratch = [np.zeros(n if explicit_graded else 0, dt) for _ in range(11)]
        for pop in self.network.populations:
            lo = lay.offsets[pop.name]
            for var, values in pop.initial_state().items():
                self._state_row(pop, var)[lo : lo + pop.size] = values
        self.dyn_S = lay.dyn["S0"].copy()  # state of the dynamic synapses
        self.sched_step = spike_steps(lay.sched_step_times, self.dt)
        self.sched_ptr = np.zeros(1, np.int64)
        self.rng_state = np.array([self.seed * 0x9E3779B97F4A7C15 % 2**64], np.uint64)
        self.pois_p = lay.pois_rate * self.dt
        if np.any(self.pois_p > 1):
            raise ValueError(f"Poisson rate x dt = {self.pois_p.max():.3g} > 1: lower the rate or dt")
        self.v_prev = self.v.copy()
        self.restart = np.zeros(0, np.uint8)
        self.bdf_started = np.zeros(1, np.int64)
        self.bdf_scratch = np.zeros((12, n if self.graded_method == "bdf2" else 0), np.float64)
        self.s_prev = self.s.copy()
        self.clock = np.array([0.0, self.dt, self.dt, 0.0, 0.0])  # adaptive: t, h, h_prev, started, segment
        self.step = 0

    @property
    def t(self) -> float:
        """Current time (s)."""
        return self.step * self.dt

    def state(self, population: str) -> dict[str, np.ndarray]:
        """Copies of the state variables of ``population``: ``{name: array (size,)}``."""
        pop = self.network.population(population)
        lo = self.layout.offsets[population]
        return {var: self._state_row(pop, var)[lo : lo + pop.size].copy() for var in pop.model.state_vars}

    def synapse_state(self, projection: str) -> dict[str, np.ndarray]:
        """State of the dynamic synapses of ``projection`` at the end of the last step run,
        ``{name: array (n_syn,)}`` in the projection's CSR order (``TripartiteSynapse``:
        ``u_S``, ``x_S``, ``Y_S``). Raises ``KeyError`` for an unknown projection and
        ``ValueError`` for one with static synapses."""
        pr = {p.name: p for p in self.network.projections}.get(projection)
        if pr is None:
            raise KeyError(f"no projection named {projection!r}; known: {[p.name for p in self.network.projections]}")
        if pr.synapse is None:
            raise ValueError(f"projection {projection!r} has static synapses (no synapse model, no state)")
        pos = self.layout.dyn["pos"][projection]
        stored = {var: self.dyn_S[r, pos].astype(np.float64) for r, var in enumerate(pr.synapse.state_vars)}
        elapsed = np.maximum(self.step - 1 - stored["last_step"], 0.0) * self.dt
        return pr.synapse.observe(stored, elapsed)

    def _state_row(self, pop, var) -> np.ndarray:
        """The whole-network array (n_neurons,) holding ``var`` of ``pop``'s model."""
        code = state_slots(pop.model)[var]
        return self.X[code] if code >= 0 else (self.ie if code == -1 else self.ii)

    # ------------------------------------------------------------------ running
    def run(self, duration: float, monitors=(), progress: bool = False, chunk_steps: int = 10_000) -> Results:
        """Advance ``duration`` seconds (rounded to whole steps) recording ``monitors``.

        Returns ``Results`` with ``spikes`` and ``traces`` keyed by population name and the
        number of ``synaptic_events`` (spikes delivered through synapses). Raises ``ValueError`` for a bad duration or monitor request.
        """
        if isinstance(duration, bool) or not isinstance(duration, (int, float, np.floating, np.integer)) or not math.isfinite(duration) or duration <= 0:
            raise ValueError(f"duration = {duration!r} is invalid: must be a finite time > 0 s")
        n_steps = int(round(duration / self.dt))
        if n_steps < 1:
            raise ValueError(f"duration = {duration} s is shorter than one step (dt = {self.dt} s)")
        chunk_steps = self._input_chunk(max(1, int(chunk_steps)))
        lay = self.layout
        spk_mons, st_mons = self._check_monitors(monitors, n_steps)
        step0 = self.step

        rec_mask = np.zeros(lay.n_total, np.bool_)
        caps = {}  # population -> [global lo, hi, max_spikes, recorded so far]
        for m in spk_mons:
            node = self.network.node(m.population)
            idx = resolve_neurons(f"SpikeMonitor({m.population!r})", m.neurons, node.size)
            rec_mask[lay.offsets[m.population] + idx] = True
            if m.max_spikes is not None:
                lo = lay.offsets[m.population]
                caps[m.population] = [lo, lo + node.size, m.max_spikes, 0]
        rec_cap = max(4 * lay.n_total, 1 << 18)
        rec_step = np.zeros(rec_cap, np.int64)
        rec_id = np.zeros(rec_cap, np.int64)
        rec_count = np.zeros(1, np.int64)
        got_steps, got_ids = [], []

        cols = []  # per recorded column: (Traces, variable, column in it, every, global neuron index)
        traces = {}
        mon_var = []
        for k, m in enumerate(st_mons):
            pop = self.network.population(m.population)
            slots = state_slots(pop.model)
            idx = resolve_neurons(f"StateMonitor({m.population!r})", m.neurons, pop.size)
            n_samp = len(range(0, n_steps, m.every))
            tr = Traces(m.population, (step0 + np.arange(0, n_steps, m.every)) * self.dt, idx,
                        {var: np.zeros((n_samp, idx.size), self.dtype) for var in m.variables})
            traces[m.population] = tr
            for var in m.variables:
                for c, j in enumerate(idx):
                    cols.append((tr, var, c, m.every, lay.offsets[m.population] + j))
                    mon_var.append(slots[var])
        mon_var = np.array(mon_var, np.int64)
        mon_idx = np.array([c[4] for c in cols], np.int64)
        mon_every = np.array([c[3] for c in cols], np.int64)
        min_every = int(mon_every.min()) if cols else 1
        mon_buf = np.zeros((len(cols), chunk_steps // min_every + 2), self.dtype)
        mon_count = np.zeros(len(cols), np.int64)
        mon_written = np.zeros(len(cols), np.int64)

        has_ext = bool(self.network.inputs) or lay.gap_i.size > 0 or lay.dyn["ag_i"].size > 0
        spike_list = np.zeros(lay.n_total, np.int64)
        syn_events = np.zeros(1, np.int64)
        empty_tab = np.zeros((0, 0), self.dtype)

        if self.adaptive:
            wall, compile_time = self._run_adaptive(n_steps, step0, cols, mon_var, mon_idx, mon_every, progress)
            self._check_finite(step0)
            return Results({}, traces, step0 * self.dt, n_steps * self.dt, self.dt, wall, compile_time)

        step_kernels = kernel_table(self.dtype)
        syn_kernels = synapse_table(self.dtype)
        dyn = lay.dyn

        def explicit_call(steps, bias, tab, tab_idx, tab_step, at_step):
            return kernels.run_chunk(
                at_step, steps,
                lay.pop_code, lay.pop_lo, lay.pop_hi, lay.coef, lay.neuron_coef, step_kernels,
                self.X, self.isyn, self.refrac, self.iext, self.spiked,
                has_ext, bias, tab, tab_idx, tab_step,
                lay.gap_i, lay.gap_j, lay.gap_g, lay.g_gap_sum, self.gap_drive,
                lay.gs_indptr, lay.gs_pre, lay.gs_w, lay.gs_erev, self.g_syn, self.g_syn_e,
                lay.indptr, lay.indices, lay.weights, lay.delays, lay.uniform_delay, self.ring,
                dyn["indptr"], dyn["post"], dyn["w"], dyn["delay"], dyn["code"], dyn["row"], dyn["coef"], self.dyn_S,
                dyn["mod_row"], dyn["mod_col"], dyn["sense"], dyn["sense_w"], syn_kernels, self.dt,
                dyn["ag_i"], dyn["ag_j"], dyn["ag_row"], dyn["ag_par"], dyn["ag_every"],
                lay.src_lo, self.sched_step, lay.sched_id, self.sched_ptr, lay.pois_lo, self.pois_p, self.rng_state,
                rec_mask, rec_step, rec_id, rec_count, step0, mon_var, mon_idx, mon_every, mon_buf, mon_count,
                self.has_graded, *self.graded_scratch,
                spike_list, syn_events,
            )

        # per-step solve error accumulates over slow time constants (~tau/dt steps): keep it
        # far below the model's precision (1 pV in float64, 10 nV in float32)
        tol_v = 1e-12 if self.dtype == np.float64 else 1e-8

        def implicit_call(steps, bias, tab, tab_idx, tab_step, at_step):  # the stiff graded solver
            ran = run_graded_bdf2(
                at_step, steps, lay.neuron_coef, self.v, self.s, self.v_prev, self.bdf_started,
                has_ext, bias, tab, tab_idx, tab_step, self.restart, self.iext,
                lay.gap_i, lay.gap_j, lay.gap_g, lay.g_gap_sum,
                lay.gs_indptr, lay.gs_pre, lay.gs_w, lay.gs_erev,
                step0, mon_var, mon_idx, mon_every, mon_buf, mon_count,
                tol_v, 10_000, self.bdf_scratch,
                self.solver_stats,
            )
            if ran < 0:
                raise RuntimeError(f"graded solver: the linear solve did not converge at t = {(at_step - ran - 1) * self.dt:.6g} s")
            return ran

        call = implicit_call if self.graded_method == "bdf2" else explicit_call

        # Compile (or load from cache) with a zero-step call, timed apart from the run.
        t0 = time.perf_counter()
        call(0, np.zeros(lay.n_neurons, self.dtype), empty_tab, np.zeros(0, np.int64), np.zeros(1, np.int64), self.step)
        compile_time = time.perf_counter() - t0

        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_steps, unit="step", desc="simulating", leave=False)
        wall = 0.0
        done = 0
        try:
            while done < n_steps:
                steps = min(chunk_steps, n_steps - done)
                bias, tab, tab_idx, tab_step = self._external(self.step, steps)
                t0 = time.perf_counter()
                ran = call(steps, bias, tab, tab_idx, tab_step, self.step)
                wall += time.perf_counter() - t0
                self.step += ran
                done += ran
                self._check_finite(self.step - ran)
                if rec_count[0]:
                    got_steps.append(rec_step[: rec_count[0]].copy())
                    got_ids.append(rec_id[: rec_count[0]].copy())
                    rec_count[0] = 0
                    self._apply_caps(caps, got_ids[-1], rec_mask)
                _flush_monitors(cols, mon_buf, mon_count, mon_written)
                if bar is not None:
                    bar.update(ran)
        finally:
            if bar is not None:
                bar.close()

        all_steps = np.concatenate(got_steps) if got_steps else np.zeros(0, np.int64)
        all_ids = np.concatenate(got_ids) if got_ids else np.zeros(0, np.int64)
        spikes = {}
        for m in spk_mons:
            node = self.network.node(m.population)
            lo = lay.offsets[m.population]
            sel = (all_ids >= lo) & (all_ids < lo + node.size)
            st, ids = all_steps[sel], all_ids[sel] - lo
            truncated = m.max_spikes is not None and st.size >= m.max_spikes
            if m.max_spikes is not None:
                st, ids = st[: m.max_spikes], ids[: m.max_spikes]
            n_mon = resolve_neurons("", m.neurons, node.size).size
            spikes[m.population] = SpikeTrains(m.population, st * self.dt, ids, node.size, n_steps * self.dt, n_mon, truncated, step0 * self.dt)
        return Results(spikes, traces, step0 * self.dt, n_steps * self.dt, self.dt, wall, compile_time, int(syn_events[0]))

    # ------------------------------------------------------------------ helpers
    def _check_monitors(self, monitors, n_steps):
        if isinstance(monitors, (SpikeMonitor, StateMonitor)):
            monitors = [monitors]
        spk, st = [], []
        names = {n.name for n in (*self.network.populations, *self.network.sources)}
        for m in monitors:
            if isinstance(m, SpikeMonitor):
                if m.population not in names:
                    raise ValueError(f"SpikeMonitor: unknown population {m.population!r}; known: {sorted(names)}")
                if any(o.population == m.population for o in spk):
                    raise ValueError(f"SpikeMonitor: {m.population!r} is monitored twice; use one monitor per population")
                node = self.network.node(m.population)
                if not getattr(node, "spiking", True):
                    raise ValueError(f"SpikeMonitor: {m.population!r} is a graded (non-spiking) population; record its 'v' with a StateMonitor")
                resolve_neurons(f"SpikeMonitor({m.population!r})", m.neurons, node.size)
                spk.append(m)
            elif isinstance(m, StateMonitor):
                pops = {p.name: p for p in self.network.populations}
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
                if total > _MAX_TRACE_VALUES:
                    raise ValueError(f"StateMonitor({m.population!r}) would store {total:,} values; record fewer neurons or raise every")
                st.append(m)
            else:
                raise ValueError(f"monitors must be SpikeMonitor or StateMonitor objects, got {type(m).__name__}")
        return spk, st

    def _segments(self, t0, t1):
        """Breakpoints in [t0, t1] of the (piecewise-constant) inputs and the injected
        current on each segment: (seg_t (K+1,), seg_tab (K, n_cols), seg_idx (n_cols,))."""
        lay = self.layout
        points = {t0, t1}
        cols, idx = [], []
        for inj in self.network.inputs:
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
        for inj in self.network.inputs:
            pop = self.network.population(inj.target)
            neurons = inj.neurons if inj.neurons is not None else np.arange(pop.size)
            cols.append(inj.sample(mids, neurons.size))
            idx.append(lay.offsets[inj.target] + neurons)
        seg_tab = np.ascontiguousarray(np.concatenate(cols, axis=1)) if cols else np.zeros((mids.size, 0))
        seg_idx = np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, np.int64)
        return seg_t, seg_tab, seg_idx

    def _run_adaptive(self, n_steps, step0, cols, mon_var, mon_idx, mon_every, progress):
        lay = self.layout
        t0 = step0 * self.dt
        t1 = (step0 + n_steps) * self.dt
        seg_t, seg_tab, seg_idx = self._segments(t0, t1)
        mon_dt = mon_every.astype(np.float64) * self.dt
        mon_k = np.zeros(len(cols), np.int64)
        # a few calls are enough (each costs argument unboxing); more when a bar is shown
        chunk = max((t1 - t0) / (50.0 if progress else 10.0), 10 * self.dt)
        # samples are written one time at a time across all columns: lay the buffer out that
        # way ((rows, cols), passed as its transpose) so those writes are contiguous
        mon_buf = np.zeros((int(chunk / (mon_dt.min() if cols else chunk)) + 4, len(cols)), np.float64).T
        mon_count = np.zeros(len(cols), np.int64)
        written = np.zeros(len(cols), np.int64)
        self.clock[0] = t0
        self.clock[4] = 0.0

        def call(t_stop):
            ran = run_graded_adaptive(
                self.clock, t_stop, lay.neuron_coef, self.v, self.s, self.v_prev, self.s_prev,
                seg_t, seg_tab, seg_idx, self.iext,
                lay.gap_i, lay.gap_j, lay.gap_g, lay.g_gap_sum,
                lay.gs_indptr, lay.gs_pre, lay.gs_w, lay.gs_erev,
                t0, mon_var, mon_idx, mon_dt, mon_k, mon_buf, mon_count,
                self.atol_v, self.atol_s, self.max_step, 1e-9, 10_000, self.bdf_scratch, self.solver_stats, 1e-3 * self.atol_v,
            )
            if ran < 0:
                raise RuntimeError(f"adaptive graded solver: step size underflow or solver failure near t = {self.clock[0]:.6g} s")
            _flush_monitors(cols, mon_buf, mon_count, written)

        t_start = time.perf_counter()
        clock0 = self.clock.copy()
        call(t0)  # compile or load from cache (no step is taken)
        self.clock[:] = clock0
        compile_time = time.perf_counter() - t_start
        bar = None
        if progress:
            from tqdm.auto import tqdm

            # whole milliseconds of model time: float seconds would print as 0.8400000000000003
            bar = tqdm(total=int(round((t1 - t0) * 1e3)), unit="ms", desc="simulating (adaptive, model time)", leave=False)
        wall = 0.0
        try:
            t = t0
            while t < t1 - 1e-12:
                t_next = min(t + chunk, t1)
                a = time.perf_counter()
                call(t_next)
                wall += time.perf_counter() - a
                if bar is not None:
                    bar.update(int(round((t_next - t0) * 1e3)) - bar.n)
                t = t_next
        finally:
            if bar is not None:
                bar.close()
        self.step = step0 + n_steps
        return wall, compile_time

    def _external(self, step, steps):
        """External current over ``steps`` steps from ``step``: the bias (constant over the
        chunk), the piecewise-constant table of the currents that change (one row per
        segment: ``tab`` (K, n_cols) into neurons ``tab_idx``, segment g from chunk step
        ``tab_step[g]``), and the steps at which a step or array current jumps (multistep
        solvers restart there: ``self.restart``). Steps and arrays cost O(segments x
        neurons), not O(steps x neurons); functions are sampled every step (``run`` bounds
        the chunk so that this stays under ``_MAX_INPUT_VALUES``)."""
        lay = self.layout
        bias = np.zeros(lay.n_neurons, np.float64)
        cols, idx = [], []
        self.restart = np.zeros(steps, np.uint8)
        starts = np.zeros(1, np.int64)
        if self.network.inputs:
            t = (step + np.arange(steps)) * self.dt
            starts = np.unique(np.concatenate([starts, *(inj.change_points(t) for inj in self.network.inputs)]))
            for inj in self.network.inputs:
                pop = self.network.population(inj.target)
                neurons = inj.neurons if inj.neurons is not None else np.arange(pop.size)
                # the implicit solver evaluates its right-hand side at the end of the step:
                # smooth (function) inputs are sampled there; steps and arrays hold per step
                t_eval = t + self.dt if (inj.kind == "function" and self.graded_method == "bdf2") else t
                rows = inj.sample(t_eval[starts], neurons.size)  # (segments, neurons)
                if inj.kind != "function":
                    # compare with the previous step's value (also across chunk boundaries)
                    prev = inj.sample(np.array([(step - 1) * self.dt]), neurons.size)[0] if step > 0 else np.zeros(neurons.size)
                    jumps = np.any(np.diff(np.vstack([prev[None, :], rows]), axis=0) != 0, axis=1)
                    self.restart[starts[jumps]] = 1
                gidx = lay.offsets[inj.target] + neurons
                if np.all(rows == rows[:1]):
                    np.add.at(bias, gidx, rows[0])
                else:
                    cols.append(np.asarray(rows))
                    idx.append(gidx)
        top = float(np.finfo(self.dtype).max)
        for values in (bias, *cols):
            if values.size and not float(np.abs(values).max()) <= top:  # also NaN from a function
                j = int(np.argmax(~(np.abs(values) <= top)))
                raise FloatingPointError(f"the injected current reaches {values.ravel()[j]:.3g} A between t = {step * self.dt:g} "
                                         f"and {(step + steps) * self.dt:g} s, beyond {self.dtype.name} (largest {top:.3g})")
        tab = np.ascontiguousarray(np.concatenate(cols, axis=1), self.dtype) if cols else np.zeros((1, 0), self.dtype)
        tab_idx = np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, np.int64)
        return bias.astype(self.dtype), tab, tab_idx, starts.astype(np.int64)

    def _input_chunk(self, chunk_steps: int) -> int:
        """``chunk_steps`` bounded so that sampled inputs (arrays, functions: up to one row
        per step) stay under ``_MAX_INPUT_VALUES`` values per chunk."""
        inputs = self.network.inputs
        if all(inj.kind == "step" for inj in inputs):
            return chunk_steps
        n_cols = sum(self.network.population(inj.target).size if inj.neurons is None else inj.neurons.size for inj in inputs)
        return max(1, min(chunk_steps, _MAX_INPUT_VALUES // max(n_cols, 1)))

    @staticmethod
    def _apply_caps(caps, new_ids, rec_mask):
        """Stop recording a population once its ``max_spikes`` is reached (memory bound:
        at most one chunk's spikes beyond the cap are held until results are trimmed)."""
        for cap in caps.values():
            lo, hi, limit, seen = cap
            cap[3] = seen + int(np.count_nonzero((new_ids >= lo) & (new_ids < hi)))
            if cap[3] >= limit:
                rec_mask[lo:hi] = False
