"""The multi-threaded engine: one network's steps run by ``T`` threads at once, with the
same spikes, bit for bit, for any ``T`` (``Simulator(..., threads=T)``).

**Partition.** Thread ``t`` owns a contiguous block of neurons (``blocks``, multiples of
64 neurons) and, for spike delivery, the synaptic-current columns of its neurons (both
channels) in every row of the delay ring buffer. Each CSR row is sorted by target neuron
(``sort_rows``: stable, so every target still receives its inputs in the same order), so a
thread's synapses are one contiguous piece of each row (``row_offsets``).

**One step, per thread** (the serial kernel's order, ``kernels.run_chunk``): (A) arrivals
into its columns, its monitor samples, its external currents, its neurons' update and
threshold, its spikes into its own list (thread 0 also fires the input sources, so the
Poisson generator draws in the serial order); a barrier; (B) every thread's list, in thread
order and then the sources (the serial order of spikes), delivered into its own columns
only. Nothing is written by two threads, and each current receives its additions in the
serial order: the sums, and so the spikes, are those of one thread. The spike lists are
double-buffered by step parity, so one barrier per step suffices. The barrier spins on
atomics (LLVM ``store atomic``/``load atomic``; Numba has none of its own): each thread
announces its step in its own cache line and reads the others'; after ``SPINS`` checks a
waiting thread yields its core (``sched_yield``), so more threads than free cores slow a
run down instead of stalling it.

**What runs threaded**: networks of spiking populations with static synapses (any delays),
spike-time and Poisson sources, current injections, spike and state monitors. Gap
junctions, graded neurons or synapses, dynamic or plastic synapses and astrocytes run on
the serial kernel (``eligible`` says why).

Threads are plain Python threads, each running the compiled step loop without the GIL.
"""
from __future__ import annotations

import threading

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .kernels import fire_sources, record_sample

__all__ = ["eligible", "blocks", "sort_rows", "row_offsets", "ThreadedRunner"]

_NJIT = dict(cache=True, nogil=True, error_model="numpy")


@intrinsic
def _atomic_load(typingctx, arr, idx):
    """``arr[idx]`` read atomically with acquire ordering (int64 array)."""
    sig = types.int64(arr, idx)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [args[1]])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def _atomic_store(typingctx, arr, idx, val):
    """``arr[idx] = val`` atomically with release ordering (int64 array)."""
    sig = types.void(arr, idx, val)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [args[1]])
        builder.store_atomic(context.cast(builder, args[2], sig.args[2], types.int64), ptr, "release", 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _sched_yield(typingctx):
    """libc's ``sched_yield()``: give the core away (a thread waiting for one that the OS has
    descheduled, when there are more threads than free cores)."""
    sig = types.int32()

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
        return builder.call(fn, [])

    return sig, codegen


SPINS = 4000
"""Busy-wait iterations of the barrier before it yields the core between checks."""


@njit(**_NJIT)
def barrier(flags, t, n_threads, n):
    """Thread ``t`` has finished phase A of step ``n``: wait until every thread has
    (``flags``: int64, one slot per thread 8 apart, so each on its own cache line; a thread
    announces ``n`` in its slot and reads the others', one cache-line transfer each way)."""
    _atomic_store(flags, 8 * t, n)
    for u in range(n_threads):
        if u != t:
            spins = 0
            while _atomic_load(flags, 8 * u) < n:
                spins += 1
                if spins > SPINS:
                    _sched_yield()


def eligible(network) -> str | None:
    """None when ``network`` runs threaded (module docstring), else the reason it does not."""
    if any(not p.spiking for p in network.populations):
        return "graded neurons"
    if network.gap_junctions:
        return "gap junctions"
    if network.glia:
        return "astrocytes"
    for pr in network.projections:
        if pr.target == "graded":
            return "graded synapses"
        if pr.synapse is not None:
            return "dynamic synapses"
        if pr.plasticity is not None:
            return "plastic synapses"
    return None


def blocks(n_neurons: int, threads: int) -> np.ndarray:
    """Block boundaries (threads + 1,): ``[0, ..., n_neurons]``, inner ones multiples of 64."""
    bounds = [0]
    for t in range(1, threads):
        bounds.append(min(n_neurons, int(round(n_neurons * t / threads / 64)) * 64))
    bounds.append(n_neurons)
    return np.maximum.accumulate(np.array(bounds, np.int64))


def sort_rows(indptr, indices, weights, delays, n_neurons: int):
    """The CSR with each row sorted by target neuron (``indices % n_neurons``), stably: every
    target's inputs keep their order, so sums and spikes do not change. Returns the new
    (indices, weights, delays); the arrays themselves when already sorted."""
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    key = rows * n_neurons + indices.astype(np.int64) % n_neurons
    if key.size < 2 or np.all(key[1:] >= key[:-1]):
        return indices, weights, delays
    order = np.argsort(key, kind="stable")
    return indices[order], weights[order], (delays[order] if delays.size else delays)


def row_offsets(indptr, indices, n_neurons: int, bounds) -> np.ndarray:
    """(n_rows, threads + 1) positions: thread t's synapses of row j are
    ``[off[j, t], off[j, t + 1])`` (rows sorted by ``sort_rows``)."""
    n_rows = indptr.size - 1
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
    key = rows * n_neurons + indices.astype(np.int64) % n_neurons
    want = np.arange(n_rows, dtype=np.int64)[:, None] * n_neurons + np.asarray(bounds, np.int64)[None, :]
    off = np.searchsorted(key, want.ravel(), side="left").reshape(n_rows, -1)
    off[:, -1] = indptr[1:]
    return off.astype(np.int64)


@njit(**_NJIT)
def thread_chunk(
    t, n_threads, bounds, step0, n_steps,
    pop_code, pop_lo, pop_hi, coef, step_kernels,
    X, isyn, refrac, iext, spiked,
    has_ext, bias, tab, tab_idx, tab_step,
    indptr, indices, weights, delays, uniform_delay, ring, row_off,
    n_total, src_lo, sched_step, sched_id, sched_ptr, pois_lo, pois_p, rng_state,
    rec_mask, rec_step, rec_id, rec_count,
    mon_step0, mon_var, mon_idx, mon_every, mon_buf, mon_count, mon_owner,
    lists, counts, src_list, src_count, bar, stop, syn_events, pieces, sink,
):
    """Thread ``t``'s share of ``n_steps`` steps from ``step0`` (module docstring). Returns
    the number of steps done: fewer when a thread's spike record buffer (``rec_step[t]``)
    would overflow in the next step (every thread stops at the same step)."""
    a = bounds[t]
    b = bounds[t + 1]
    v = X[0]
    n_neurons = v.shape[0]
    ie = isyn[:n_neurons]
    ii = isyn[n_neurons:]
    direct = uniform_delay == 1
    L = ring.shape[0]
    n_pops = pop_code.shape[0]
    n_mon = mon_var.shape[0]
    cap = rec_step.shape[1]
    room = (b - a) + (n_total - src_lo if t == 0 else 0)  # the most one step can record here
    n_syn = 0
    seg = 0
    n_seg = tab.shape[0]
    piece_lo = pieces[t, 0]
    piece_hi = pieces[t, 1]
    words = spiked.view(np.uint64)  # spiked is padded to a multiple of 8; blocks start at multiples of 64
    for k in range(n_steps):
        n = step0 + k
        par = n & 1
        own_list = lists[t, par]
        # (A) arrivals, monitors, currents, update, own spikes
        if not direct:
            arrivals = ring[n % L]
            _take(ie[a:b], arrivals[a:b])
            _take(ii[a:b], arrivals[n_neurons + a : n_neurons + b])
        for m in range(n_mon):
            if mon_owner[m] == t and (n - mon_step0) % mon_every[m] == 0:
                record_sample(m, X, ie, ii, mon_var, mon_idx, mon_buf, mon_count)
        if has_ext:
            _copy(iext[a:b], bias[a:b])
            if tab.shape[1] > 0:
                while seg + 1 < n_seg and tab_step[seg + 1] <= k:
                    seg += 1
                for c in range(tab.shape[1]):
                    if a <= tab_idx[c] < b:
                        iext[tab_idx[c]] += tab[seg, c]
        for p in range(n_pops):
            lo = max(pop_lo[p], a)
            hi = min(pop_hi[p], b)
            if lo < hi:
                step_kernels[pop_code[p]](coef[p], X, lo, hi, n, ie, ii, refrac, iext, has_ext, spiked)
        cnt = 0
        for q in range(a // 8, b // 8):
            if words[q] != 0:
                for j in range(8 * q, 8 * q + 8):
                    if spiked[j]:
                        own_list[cnt] = j
                        cnt += 1
        for j in range(max(a, 8 * (b // 8)), b):  # the last thread's tail (blocks are multiples of 64 otherwise)
            if spiked[j]:
                own_list[cnt] = j
                cnt += 1
        counts[t, par, 0] = cnt
        r = rec_count[t, 0]
        for q in range(cnt):
            j = own_list[q]
            if rec_mask[j]:
                rec_step[t, r] = n
                rec_id[t, r] = j
                r += 1
        if t == 0:
            fire_sources(n, src_lo, n_total, spiked, sched_step, sched_id, sched_ptr, pois_lo, pois_p, rng_state)
            sc = 0
            for j in range(src_lo, n_total):
                if spiked[j]:
                    src_list[par, sc] = j
                    sc += 1
                    if rec_mask[j]:
                        rec_step[t, r] = n
                        rec_id[t, r] = j
                        r += 1
            src_count[par, 0] = sc
        rec_count[t, 0] = r
        if r + room > cap:
            _atomic_store(stop, 0, n + 1)
        barrier(bar, t, n_threads, n)
        # (B) every list, in the serial order, into this thread's columns. First gather the
        #     pieces (independent loads, so their cache misses overlap, as do the first
        #     index and weight of each piece), then deliver them.
        m = 0
        touch = 0.0
        for u in range(n_threads + 1):
            c_u = counts[u, par, 0] if u < n_threads else src_count[par, 0]
            for q in range(c_u):
                j = lists[u, par, q] if u < n_threads else src_list[par, q]
                s0 = row_off[j, t]
                s1 = row_off[j, t + 1]
                if s1 > s0:
                    piece_lo[m] = s0
                    piece_hi[m] = s1
                    touch += weights[s0] + indices[s0]
                    m += 1
        sink[0] += touch
        for q in range(m):
            s0 = piece_lo[q]
            s1 = piece_hi[q]
            n_syn += s1 - s0
            if uniform_delay > 0:
                target = isyn if direct else ring[(n + uniform_delay) % L]
                for syn in range(s0, s1):
                    target[indices[syn]] += weights[syn]
            else:
                for syn in range(s0, s1):
                    ring[(n + delays[syn]) % L, indices[syn]] += weights[syn]
        if _atomic_load(stop, 0) == n + 1:
            syn_events[t] += n_syn
            return k + 1
    syn_events[t] += n_syn
    return n_steps


@njit(**_NJIT)
def _take(dst, src):
    """dst += src; src = 0 (slices: a loop from 0 vectorises, one from a variable start does not)."""
    for j in range(dst.shape[0]):
        dst[j] += src[j]
        src[j] = 0.0


@njit(**_NJIT)
def _copy(dst, src):
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@njit(**_NJIT)
def merge_records(rec_step, rec_id, rec_count, src_lo, out_step, out_id, at):
    """The threads' recorded spikes in the serial kernel's order, written from ``out[at]``:
    by step; within a step the neurons of thread 0, 1, ... (each ascending), then the
    input sources (recorded by thread 0 after its neurons). Returns the new count."""
    n_threads = rec_step.shape[0]
    pos = np.zeros(n_threads, np.int64)
    while True:
        step = -1
        for t in range(n_threads):  # the earliest step still waiting
            if pos[t] < rec_count[t, 0] and (step < 0 or rec_step[t, pos[t]] < step):
                step = rec_step[t, pos[t]]
        if step < 0:
            return at
        for t in range(n_threads):
            while pos[t] < rec_count[t, 0] and rec_step[t, pos[t]] == step and rec_id[t, pos[t]] < src_lo:
                out_step[at] = step
                out_id[at] = rec_id[t, pos[t]]
                at += 1
                pos[t] += 1
        while pos[0] < rec_count[0, 0] and rec_step[0, pos[0]] == step:  # thread 0's sources of the step
            out_step[at] = step
            out_id[at] = rec_id[0, pos[0]]
            at += 1
            pos[0] += 1


class ThreadedRunner:
    """The per-simulator arrays of ``thread_chunk`` (lists, record buffers, barrier, row
    offsets) and ``run``, which advances the simulator's state by up to ``n_steps`` steps
    with ``threads`` threads and leaves the recorded spikes in the serial kernel's buffers
    (``Recording.rec_step``/``rec_id``/``rec_count``), in the serial order."""

    def __init__(self, layout, threads: int, rec_cap: int):
        n = layout.n_neurons
        self.threads = threads
        self.bounds = blocks(n, threads)
        self.row_off = row_offsets(layout.indptr, layout.indices, n, self.bounds)
        width = int(np.diff(self.bounds).max()) if n else 1
        self.lists = np.zeros((threads, 2, max(width, 1)), np.int64)
        self.counts = np.zeros((threads, 2, 8), np.int64)  # [t, parity, 0]: a cache line per entry
        n_src = layout.n_total - layout.src_lo
        self.src_list = np.zeros((2, max(n_src, 1)), np.int64)
        self.src_count = np.zeros((2, 8), np.int64)
        self.bar = np.zeros(8 * threads, np.int64)
        self.stop = np.zeros(8, np.int64)
        self.syn_events = np.zeros(threads, np.int64)
        self.pieces = np.zeros((threads, 2, max(layout.n_total, 1)), np.int64)  # a step's pieces of rows, per thread
        self.sink = np.zeros((threads, 8))  # where the prefetching loads go (kept, so not optimised away)
        room = int(np.diff(self.bounds).max()) + n_src  # the most one step records in one thread
        cap = max(rec_cap // threads, 4 * room)
        self.rec_step = np.zeros((threads, cap), np.int64)
        self.rec_id = np.zeros((threads, cap), np.int64)
        self.rec_count = np.zeros((threads, 8), np.int64)

    def run(self, sim, lay, rec, step_kernels, at_step: int, steps: int, has_ext, bias, tab, tab_idx, tab_step) -> int:
        mon_owner = np.searchsorted(self.bounds, rec.mon_idx, side="right") - 1
        self.stop[0] = -1
        self.bar[:] = -1  # steps only grow within a run; reset() may have gone back to 0
        self.rec_count[:] = 0
        self.syn_events[:] = 0
        done = np.zeros(self.threads, np.int64)

        def work(t):
            done[t] = thread_chunk(
                t, self.threads, self.bounds, at_step, steps,
                lay.pop_code, lay.pop_lo, lay.pop_hi, lay.coef, step_kernels,
                sim.X, sim.isyn, sim.refrac, sim.iext, sim.spiked,
                has_ext, bias, tab, tab_idx, tab_step,
                lay.indptr, lay.indices, lay.weights, lay.delays, lay.uniform_delay, sim.ring, self.row_off,
                lay.n_total, lay.src_lo, sim.sched_step, lay.sched_id, sim.sched_ptr, lay.pois_lo, sim.pois_p, sim.rng_state,
                rec.rec_mask, self.rec_step, self.rec_id, self.rec_count,
                rec.step0, rec.mon_var, rec.mon_idx, rec.mon_every, rec.mon_buf, rec.mon_count, mon_owner,
                self.lists, self.counts, self.src_list, self.src_count, self.bar, self.stop, self.syn_events,
                self.pieces, self.sink[t],
            )

        others = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(1, self.threads)]
        for th in others:
            th.start()
        try:
            work(0)
        finally:
            for th in others:
                th.join()
        ran = int(done[0])
        c = int(rec.rec_count[0])
        total = int(self.rec_count[:, 0].sum())
        if c + total > rec.rec_step.size:  # room for what the threads recorded together
            rec.rec_step = np.resize(rec.rec_step, c + total)
            rec.rec_id = np.resize(rec.rec_id, c + total)
        rec.rec_count[0] = merge_records(self.rec_step, self.rec_id, self.rec_count, lay.src_lo, rec.rec_step, rec.rec_id, c)
        return ran
