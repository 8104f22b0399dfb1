"""The clock-driven, event-driven Numba simulator."""
from __future__ import annotations

import math
import time

import numpy as np

from .engine import kernels
from .engine.external import external_currents, input_chunk, input_segments
from .engine.graded_implicit import run_graded_adaptive, run_graded_bdf2
from .engine.interrupts import deferred_sigint
from .engine.layout import build_layout
from .engine.learning import PlasticState, chunk_spikes
from .engine.recording import Recording, check_monitors, flush_monitors
from .engine.registry import kernel_table, state_slots, synapse_table
from .engine.streaming import open_streams
from .models.base import check_dt
from .monitors import SpikeMonitor, StateMonitor, WeightMonitor
from .network import Network, spike_steps
from .results import Results

__all__ = ["Simulator"]


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

    ``threads``: how many threads run the network's steps (``neurosim.engine.threads``; None:
    every core this process may use). The spikes are the same, bit for bit, for any number
    of threads. Networks of spiking neurons with static synapses (any delays), sources,
    current injections and spike/state monitors run threaded when each thread gets at least
    64 neurons; others run on one thread (``serial_reason`` says why; ``threads`` holds
    the number used). Threads pay off for large networks (2 threads: 2.2x on 100,000
    neurons, 1.45x on 32,000; slower than one on 4000, where a step takes about 2 us: see
    ``benchmarks/threads.py``).

    Raises ``ValueError`` for a bad ``dt``, ``dtype``, ``seed``, ``threads``, ``graded_method``,
    tolerance or network, and for a weight, current, conductance or initial value beyond
    the range of ``dtype``; ``run`` raises ``FloatingPointError`` when the state becomes
    NaN or infinite (checked after every chunk of steps), naming the population.
    """

    def __init__(self, network: Network, dt: float = 1e-4, dtype=np.float64, seed: int = 0, graded_method: str = "auto",
                 adaptive: bool = False, atol_v: float = 1e-5, atol_s: float = 1e-4, max_step: float = 1.0,
                 threads: int | None = 1):
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
        self._threads(threads)
        self.reset()

    def _threads(self, threads) -> None:
        """``threads`` (None: every core this process may use) -> ``self.threads``, the
        threads the run uses, 1 where the network needs the serial kernel
        (``self.serial_reason``)."""
        import os

        if threads is None:
            threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
            raise ValueError(f"threads = {threads!r} is invalid: an integer >= 1, or None for every core")
        from .engine.threads import ThreadedRunner, eligible

        self.serial_reason = eligible(self.network) if threads > 1 else None
        self.threads = 1 if self.serial_reason is not None or self.layout.n_neurons < 64 * threads else int(threads)
        if threads > 1 and self.serial_reason is None and self.threads == 1:
            self.serial_reason = f"fewer than 64 neurons per thread ({self.layout.n_neurons} neurons)"
        self._runner = ThreadedRunner(self.layout, self.threads, max(4 * self.layout.n_total, 1 << 18)) if self.threads > 1 \
            else None

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
        self.learning = PlasticState(lay, self.dtype)  # plastic projections: weights, traces, modulators
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

    def weights(self, projection: str) -> np.ndarray:
        """The current weights of the plastic ``projection`` (n_syn,) in its CSR order and
        weight unit (a float64 copy). Raises ``KeyError`` for an unknown projection and
        ``ValueError`` for one with fixed weights (read those from the ``Network``)."""
        return self.learning.W[self.learning.slice_of(projection, self.network)].astype(np.float64)

    def learned_network(self) -> Network:
        """The network with every plastic projection's weights replaced by the learned ones
        (rules kept, in the weights' own dtype): save it with ``Network.save`` and continue
        learning from it with a new ``Simulator`` (its traces, eligibilities and
        neuromodulators start again from zero)."""
        import dataclasses

        projections = tuple(dataclasses.replace(pr, weights=self.weights(pr.name).astype(pr.weights.dtype))
                            if pr.plasticity is not None else pr for pr in self.network.projections)
        return dataclasses.replace(self.network, projections=projections)

    def save_state(self, path):
        """Write the whole simulation state (every variable, refractory counter, delay ring
        buffer, plastic weight and trace, the Poisson generator and the time) to ``path``
        (``.npz``), atomically; ``load_state`` continues from it bit for bit
        (``neurosim.engine.checkpoint``). Returns the path."""
        from .engine.checkpoint import save_state

        return save_state(self, path)

    def load_state(self, path) -> None:
        """Continue from a checkpoint of ``save_state``: ``run(T1)``, ``save_state``, then in
        a new ``Simulator`` of the same network, ``dt``, ``dtype`` and solver, ``load_state``
        and ``run(T2)`` give the spikes of one ``run(T1 + T2)``, bit for bit. Raises
        ``FileNotFoundError``, or ``ValueError`` (naming the file and the reason) for a file
        that is not a readable checkpoint or belongs to another network or setting; the
        state is then left as it was."""
        from .engine.checkpoint import load_state

        load_state(self, path)

    def _state_row(self, pop, var) -> np.ndarray:
        """The whole-network array (n_neurons,) holding ``var`` of ``pop``'s model."""
        code = state_slots(pop.model)[var]
        return self.X[code] if code >= 0 else (self.ie if code == -1 else self.ii)

    # ------------------------------------------------------------------ running
    def run(self, duration: float, monitors=(), progress: bool = False, chunk_steps: int = 10_000, reward=None) -> Results:
        """Advance ``duration`` seconds (rounded to whole steps) recording ``monitors``
        (``SpikeMonitor``, ``StateMonitor``, ``WeightMonitor``).

        ``reward``: the neuromodulator input of reward-modulated learning rules
        (``RewardSTDP``): an array (n_steps,) with one value per step for every modulated
        projection, ``{projection: array (n_steps,)}``, or a callable ``reward(t_start,
        n_steps, spikes) -> array (n_steps,)`` asked before every chunk of ``chunk_steps``
        steps with the spikes the run's spike monitors recorded since it was last asked.

        Returns ``Results`` with ``spikes`` and ``traces`` keyed by population name,
        ``weights`` keyed by projection and the number of ``synaptic_events`` (spikes
        delivered through synapses). Raises ``ValueError`` for a bad duration, monitor
        request or reward (wrong shape, not finite, or no modulated projection).
        """
        if isinstance(duration, bool) or not isinstance(duration, (int, float, np.floating, np.integer)) or not math.isfinite(duration) or duration <= 0:
            raise ValueError(f"duration = {duration!r} is invalid: must be a finite time > 0 s")
        n_steps = int(round(duration / self.dt))
        if n_steps < 1:
            raise ValueError(f"duration = {duration} s is shorter than one step (dt = {self.dt} s)")
        chunk_steps = input_chunk(self.network, max(1, int(chunk_steps)))
        lay = self.layout
        monitors = [monitors] if isinstance(monitors, (SpikeMonitor, StateMonitor, WeightMonitor)) else list(monitors)
        spk_mons, st_mons = check_monitors(self.network, [m for m in monitors if not isinstance(m, WeightMonitor)], n_steps)
        step0 = self.step
        streams = open_streams(spk_mons, st_mons, self.network, self.dt, step0 * self.dt, n_steps * self.dt, self.dtype)
        if streams and self.adaptive:
            raise ValueError("monitors with a file (streaming) need fixed steps: use adaptive=False")
        rec = Recording(self.network, lay, spk_mons, st_mons, n_steps, step0, self.dt, self.dtype, chunk_steps, streams)
        learn = self.learning
        w_rec = learn.monitors(self.network, monitors, n_steps, step0, self.dt)
        rewards = learn.rewards(reward, n_steps)
        t_hooks = time.perf_counter()
        hooks = learn.hooks() if learn.active else None  # compiled (or loaded from the cache) here: counted as compile time
        hooks_time = time.perf_counter() - t_hooks
        chunk_rewards = np.zeros((0, len(learn.mod)))  # none for the compiling call; set per chunk

        has_ext = bool(self.network.inputs) or lay.gap_i.size > 0 or lay.dyn["ag_i"].size > 0
        spike_list = np.zeros(lay.n_total, np.int64)
        syn_events = np.zeros(1, np.int64)
        empty_tab = np.zeros((0, 0), self.dtype)

        if self.adaptive:
            wall, compile_time = self._run_adaptive(n_steps, step0, rec, progress)
            self._check_finite(step0)
            return Results({}, rec.traces, step0 * self.dt, n_steps * self.dt, self.dt, wall, compile_time)

        step_kernels = kernel_table(self.dtype, lay.pop_code)
        features = self._features(lay)

        def explicit_call(steps, bias, tab, tab_idx, tab_step, at_step):
            return kernels.run_chunk(
                at_step, steps,
                lay.pop_code, lay.pop_lo, lay.pop_hi, lay.coef, step_kernels,
                self.X, self.isyn, self.refrac, self.iext, self.spiked,
                has_ext, bias, tab, tab_idx, tab_step,
                lay.indptr, lay.indices, lay.weights, lay.delays, lay.uniform_delay, self.ring,
                lay.src_lo, self.sched_step, lay.sched_id, self.sched_ptr, lay.pois_lo, self.pois_p, self.rng_state,
                rec.rec_mask, rec.rec_step, rec.rec_id, rec.rec_count, step0, rec.mon_var, rec.mon_idx, rec.mon_every,
                rec.mon_buf, rec.mon_count,
                spike_list, syn_events,
                *features, learn.step_args(chunk_rewards, hooks, w_rec.arrays(), step0) if learn.active else None,
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
                step0, rec.mon_var, rec.mon_idx, rec.mon_every, rec.mon_buf, rec.mon_count,
                tol_v, 10_000, self.bdf_scratch,
                self.solver_stats,
            )
            if ran < 0:
                raise RuntimeError(f"graded solver: the linear solve did not converge at t = {(at_step - ran - 1) * self.dt:.6g} s")
            return ran

        def threaded_call(steps, bias, tab, tab_idx, tab_step, at_step):
            ran = self._runner.run(self, lay, rec, step_kernels, at_step, steps, has_ext, bias, tab, tab_idx, tab_step)
            syn_events[0] += self._runner.syn_events.sum()
            return ran

        call = implicit_call if self.graded_method == "bdf2" else explicit_call
        if self._runner is not None:
            call = threaded_call

        # Ctrl-C is taken between chunks: raised inside Numba's call or compile it would be
        # lost there (neurosim.engine.interrupts)
        with deferred_sigint() as check_interrupt:
            # Compile (or load from cache) with a zero-step call, timed apart from the run.
            t0 = time.perf_counter()
            call(0, np.zeros(lay.n_neurons, self.dtype), empty_tab, np.zeros(0, np.int64), np.zeros(1, np.int64), self.step)
            compile_time = time.perf_counter() - t0 + hooks_time

            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=n_steps, unit="step", desc="simulating", leave=False)
            wall = 0.0
            done = 0
            asked = 0  # chunks of recorded spikes the reward callback has seen
            started, completed = [], False
            try:
                for stream in streams.values():
                    stream.start()
                    started.append(stream)
                while done < n_steps:
                    steps = min(chunk_steps, n_steps - done)
                    if learn.active:
                        chunk_rewards = rewards.chunk(done, steps, self.t, chunk_spikes(rec, asked, self.network, lay, self.dt)
                                                   if rewards.callback is not None else {})
                        asked = len(rec.got_steps)
                    bias, tab, tab_idx, tab_step, self.restart = external_currents(
                        self.network, lay, self.dt, self.dtype, self.step, steps, self.graded_method == "bdf2")
                    t0 = time.perf_counter()
                    ran = call(steps, bias, tab, tab_idx, tab_step, self.step)
                    wall += time.perf_counter() - t0
                    self.step += ran
                    done += ran
                    rec.collect(done)  # before the finiteness check: a streamed file keeps the chunk that went wrong
                    self._check_finite(self.step - ran)
                    if bar is not None:
                        bar.update(ran)
                    check_interrupt()  # Ctrl-C: here, with the state consistent and the chunk recorded
                completed = True
            finally:
                if bar is not None:
                    bar.close()
                learn.flush(self.step, self.isyn)  # deferred weight updates applied: weights() and the state are current
                for stream in started:
                    stream.close(finished=completed)

        traces = {pop: tr for pop, tr in rec.traces.items() if pop not in rec.streamed_traces}
        files = {pop: str(st.path) for pop, st in [*rec.streamed_spikes.items(), *(
            (p, e[0]) for p, e in rec.streamed_traces.items())]}
        return Results(rec.spikes(), traces, step0 * self.dt, n_steps * self.dt, self.dt, wall, compile_time,
                       int(syn_events[0]), weights=w_rec.results(), files=files)

    # ------------------------------------------------------------------ helpers
    def _features(self, lay) -> tuple:
        """The ``coupling``, ``graded``, ``dynamic`` and ``astro`` bundles of
        ``kernels.run_chunk``, each None where the network lacks the feature (its code is then
        not compiled)."""
        dyn = lay.dyn
        graded = None
        if self.has_graded:
            graded = (lay.neuron_coef, *self.graded_scratch)
        coupling = None
        if graded is not None or lay.gap_i.size > 0 or lay.gs_indptr.size > 1:
            coupling = (lay.gap_i, lay.gap_j, lay.gap_g, lay.g_gap_sum, self.gap_drive, lay.gs_indptr, lay.gs_pre, lay.gs_w,
                        lay.gs_erev, self.g_syn, self.g_syn_e)
        dynamic = None
        if dyn["post"].size > 0:
            dynamic = (self.dt, dyn["indptr"], dyn["post"], dyn["w"], dyn["delay"], dyn["code"], dyn["row"], dyn["coef"],
                       self.dyn_S, dyn["mod_row"], dyn["mod_col"], dyn["sense"], dyn["sense_w"],
                       synapse_table(self.dtype, dyn["code"]))
        astro = None
        if dyn["ag_i"].size > 0:
            astro = (dyn["ag_i"], dyn["ag_j"], dyn["ag_row"], dyn["ag_par"], dyn["ag_every"])
        return coupling, graded, dynamic, astro

    def _run_adaptive(self, n_steps, step0, rec: Recording, progress):
        lay, cols = self.layout, rec.cols
        t0 = step0 * self.dt
        t1 = (step0 + n_steps) * self.dt
        seg_t, seg_tab, seg_idx = input_segments(self.network, lay, t0, t1)
        mon_dt = rec.mon_every.astype(np.float64) * self.dt
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
                t0, rec.mon_var, rec.mon_idx, mon_dt, mon_k, mon_buf, mon_count,
                self.atol_v, self.atol_s, self.max_step, 1e-9, 10_000, self.bdf_scratch, self.solver_stats, 1e-3 * self.atol_v,
            )
            if ran < 0:
                raise RuntimeError(f"adaptive graded solver: step size underflow or solver failure near t = {self.clock[0]:.6g} s")
            flush_monitors(cols, mon_buf, mon_count, written)

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
