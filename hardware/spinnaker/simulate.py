"""Run a mapped network as the SpiNNaker machine would: each core's neurons in s16.15
fixed point, spikes as multicast packets routed through the compressed tables.

**Arithmetic.** sPyNNaker's ``REAL`` is the ISO C ``accum`` type, s16.15: 32-bit integers
with 15 fractional bits, voltages in mV, currents in nA, resistances in MOhm. Products are
rounded to nearest, as sPyNNaker's LIF does (``MULT_ROUND_NEAREST_ACCUM``: add 2**14, shift
right by 15). The neuron update is the core's CuBa-LIF propagator
(``neurosim.models.CubaLIF``, the exact solution with exponentially decaying currents) with
every coefficient and state variable in s16.15; sPyNNaker's own LIF holds the input
constant over a step, so using the core's equations isolates the effect of the number
format, which is what ``tests/test_spinnaker.py`` measures against the float simulator.

**Packets.** Each slice's spikes go out with its key; the cores and links a key reaches are
found once per slice by following the compressed tables (``mapping.deliver``), and every
spike then counts one packet on each link of that route and at each router it crosses.
A synapse whose target core the route does not reach is an error (it would be lost). A
link carries at most ``link_packets_per_step`` packets per time step (default: 250 Mbit/s
links, 40-bit packets, 1 ms steps: 6,250); more are dropped and counted (the simulation
still delivers them, so that the dynamics stay comparable).

**CPU load** per core and step: ``cycles_per_neuron`` x neurons + ``cycles_per_synapse`` x
synaptic events + ``cycles_per_packet`` x packets received, over the cycles in a step at
200 MHz (estimates in the range reported for sPyNNaker's LIF; settings).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from neurosim.network import Network, spike_steps
from neurosim.network.flat import flatten_synapses, node_offsets
from neurosim.results import Results, SpikeTrains

from .mapping import Mapping, walk

__all__ = ["FRAC_BITS", "to_fixed", "simulate_fixed", "LoadModel"]

#: Fraction bits of SpiNNaker's s16.15 fixed point.
FRAC_BITS = 15
ONE = 1 << FRAC_BITS
MAX_RECORDED_SPIKES = 50_000_000


ACCUM_MIN, ACCUM_MAX = -(1 << 31), (1 << 31) - 1  # s16.15 in 32 bits: -65536 .. 65536 - 2**-15


def to_fixed(x, what: str = "value") -> np.ndarray:
    """``x`` (any shape, in the unit wanted: mV, nA, MOhm or a plain factor) as s16.15
    integers of the same shape (round to nearest). Raises ``ValueError`` naming ``what``
    for a value outside s16.15's range (``|x|`` < 65536 in its unit), which the 32-bit
    ``accum`` of the board cannot hold."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.round(np.asarray(x, np.float64) * ONE)
    bad = ~((scaled >= ACCUM_MIN) & (scaled <= ACCUM_MAX))
    if np.any(bad):
        k = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.ndim else ()
        raise ValueError(f"{what}: {np.asarray(x, np.float64)[k]:.6g} is outside the s16.15 range of SpiNNaker's "
                         f"32-bit accum (-65536 to 65536 in mV, nA or MOhm)")
    return scaled.astype(np.int64)


@dataclass(frozen=True)
class LoadModel:
    """Cost estimates of a core's work (cycles) and the link capacity (packets per step)."""

    cycles_per_neuron: int = 50
    cycles_per_synapse: int = 25
    cycles_per_packet: int = 100
    clock_hz: float = 200e6
    link_packets_per_step: int = 6250


@njit(cache=True, inline="always")
def _mul(a, b):
    return (a * b + (1 << (FRAC_BITS - 1))) >> FRAC_BITS


@njit(cache=True)
def _run(n_steps, coef, pop_of, v, ie, ii, refrac, iext, src_steps_ptr, src_ids, indptr, post, w, chan, delay,
         ring_e, ring_i, spk_step, spk_id, n_spk, overflow):
    """The run over the global numbering of ``neurosim.network.flat`` (neurons, then source
    neurons); ``overflow`` (step, neuron) is set and the run stops when a membrane or
    synaptic current leaves the s16.15 range (the board's 32-bit accum would wrap)."""
    n = v.shape[0]
    R = ring_e.shape[0]
    spiked = np.zeros(indptr.shape[0] - 1, np.bool_)
    for t in range(n_steps):
        slot = t % R
        for i in range(n):
            ie[i] += ring_e[slot, i]
            ii[i] += ring_i[slot, i]
            ring_e[slot, i] = 0
            ring_i[slot, i] = 0
        spiked[:] = False
        for k in range(src_steps_ptr[t], src_steps_ptr[t + 1]):
            spiked[src_ids[k]] = True
        for i in range(n):
            c = coef[pop_of[i]]
            a_m, a_e, a_i, k_e, k_i, k_ext, v_rest, v_th, v_reset = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
            r = refrac[i]
            if r > 0:
                r -= 1
            if ie[i] < ACCUM_MIN or ie[i] > ACCUM_MAX or ii[i] < ACCUM_MIN or ii[i] > ACCUM_MAX:
                overflow[0] = t
                overflow[1] = i
                return n_spk
            vn = v_rest + _mul(v[i] - v_rest, a_m) + _mul(k_e, ie[i]) + _mul(k_i, ii[i]) + _mul(k_ext, iext[i])
            if vn < ACCUM_MIN or vn > ACCUM_MAX:
                overflow[0] = t
                overflow[1] = i
                return n_spk
            if r > 0:
                vn = v[i]
            s = vn > v_th
            v[i] = v_reset if s else vn
            refrac[i] = c[9] if s else r
            ie[i] = _mul(ie[i], a_e)
            ii[i] = _mul(ii[i], a_i)
            if s:
                spiked[i] = True
                if n_spk < spk_step.shape[0]:  # past the buffer only counted (the caller raises)
                    spk_step[n_spk] = t
                    spk_id[n_spk] = i
                n_spk += 1
        for j in range(spiked.shape[0]):
            if not spiked[j]:
                continue
            for k in range(indptr[j], indptr[j + 1]):
                slot2 = (t + delay[k]) % R
                if chan[k] == 0:
                    ring_e[slot2, post[k]] += w[k]
                else:
                    ring_i[slot2, post[k]] += w[k]
    return n_spk


def simulate_fixed(network: Network, mapping: Mapping, duration: float, load: LoadModel | None = None) -> tuple[Results, dict]:
    """Run ``network`` (mapped by ``mapping``) for ``duration`` s at the machine's time step
    in s16.15. Returns (``Results`` with the spikes of every population; ``stats``:
    ``packets_per_link`` {(chip index, link): packets}, ``packets_per_router`` (n_chips,),
    ``max_link_packets_per_step``, ``dropped_packets``, ``cpu_load`` (n_slices, n_steps)
    fraction of each core's time step, ``synaptic_events``). Raises
    ``neurosim.backend.UnsupportedNetwork`` (a ``ValueError``) listing everything the model
    cannot run (``backend.SpiNNakerBackend``), and ``ValueError`` when a route misses a
    synapse's target core and for values outside the s16.15 range (weights, initial
    voltages, injected currents: before the run; a membrane voltage or synaptic current
    during it, naming the step and neuron)."""
    from .backend import SpiNNakerBackend  # the backend imports this module

    backend = SpiNNakerBackend(machine=mapping.machine)
    backend.check(network)  # every reason at once (neurosim.backend)
    load = load or LoadModel()
    dt = mapping.machine.timestep
    n_steps = int(round(duration / dt))
    if n_steps < 1:
        raise ValueError(f"duration = {duration} s is shorter than one step ({dt} s)")
    pops = network.populations
    offset, n, n_total = node_offsets(network)  # neurons, then source neurons (the core's one flattening)
    # per-population coefficients in mV, nA, MOhm (s16.15)
    coef = np.zeros((len(pops), 10), np.int64)
    pop_of = np.zeros(n, np.int64)
    v = np.zeros(n, np.int64)
    iext = np.zeros(n, np.int64)
    for k, p in enumerate(pops):
        row, ref_steps = backend.neuron_mapping(p).convert(p, dt)
        coef[k, :9] = to_fixed(row, f"population {p.name!r}: a parameter")
        coef[k, 9] = int(ref_steps)
        lo = offset[p.name]
        pop_of[lo: lo + p.size] = k
        v[lo: lo + p.size] = to_fixed(p.initial_state()["v"] * 1e3, f"population {p.name!r}: an initial v (mV)")
    for inj in network.inputs:
        idx = np.arange(network.node(inj.target).size) if inj.neurons is None else inj.neurons
        iext[offset[inj.target] + idx] += to_fixed(np.broadcast_to(inj.amplitude, idx.shape) * 1e9,
                                                   f"current injection into {inj.target!r} (nA)")
    to_fixed(iext / ONE, "the summed current injections (nA)")
    # synapses merged by presynaptic neuron (neurosim.network.flat), weights in nA
    for pr in network.projections:
        to_fixed(pr.weights.astype(np.float64) * 1e9, f"projection {pr.name!r}: a weight (nA)")  # names the one out of range
    flat = flatten_synapses(network, dt, list(network.projections))
    indptr = flat.indptr
    post, chan, delay = flat.post.astype(np.int64), flat.channel.astype(np.int64), flat.delay.astype(np.int64)
    w = to_fixed(flat.weight.astype(np.float64) * 1e9)
    # routes: the cores and links each slice's key reaches through the compressed tables
    node_slice = np.zeros(n_total, np.int64)  # the slice of every neuron and source neuron
    for k, s in enumerate(mapping.slices):
        node_slice[offset[s.node] + s.lo: offset[s.node] + s.hi] = k
    core_of_neuron = np.zeros(n, np.int64)
    populations = {p.name for p in pops}
    for k, s in enumerate(mapping.slices):
        if s.node in populations:
            core_of_neuron[offset[s.node] + s.lo: offset[s.node] + s.hi] = k
    reach, links = [], []
    for k, s in enumerate(mapping.slices):
        got, crossed = walk(mapping, s.key)
        reach.append(set(got))
        links.append(crossed)
    cores_needed = {}
    pre_slice = node_slice[flat.pre]
    post_slice = core_of_neuron[post]
    for a, b in set(zip(pre_slice.tolist(), post_slice.tolist())):
        t = mapping.slices[b]
        if (t.chip, t.core) not in reach[a]:
            s = mapping.slices[a]
            raise ValueError(f"the route of {s.node}[{s.lo}:{s.hi}] (key {s.key:#x}) misses core {t.core} of chip "
                             f"{mapping.machine.chips[t.chip]}, which holds targets")
        cores_needed[a] = cores_needed.get(a, 0) + 1
    # spike-source schedule
    steps_list, ids_list = [], []
    for s in network.sources:
        st = spike_steps(s.times, dt)
        keep = st < n_steps
        steps_list.append(st[keep])
        ids_list.append(s.ids[keep] + offset[s.name])
    st = np.concatenate(steps_list) if steps_list else np.zeros(0, np.int64)
    sid = np.concatenate(ids_list) if ids_list else np.zeros(0, np.int64)
    o = np.lexsort((sid, st))
    st, sid = st[o], sid[o]
    src_ptr = np.searchsorted(st, np.arange(n_steps + 1)).astype(np.int64)
    max_delay = int(delay.max()) if delay.size else 1
    ring_e = np.zeros((max_delay + 1, n), np.int64)
    ring_i = np.zeros((max_delay + 1, n), np.int64)
    ie, ii = np.zeros(n, np.int64), np.zeros(n, np.int64)
    refrac = np.zeros(n, np.int64)
    cap = min(n * n_steps, MAX_RECORDED_SPIKES) + 1
    spk_step, spk_id = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    t0 = time.perf_counter()
    overflow = np.full(2, -1, np.int64)
    n_spk = _run(n_steps, coef, pop_of, v, ie, ii, refrac, iext, src_ptr, sid, indptr, post, w, chan, delay,
                 ring_e, ring_i, spk_step, spk_id, 0, overflow)
    wall = time.perf_counter() - t0
    if overflow[0] >= 0:
        i = int(overflow[1])
        pop = next(p for p in pops if offset[p.name] <= i < offset[p.name] + p.size)
        raise ValueError(f"s16.15 overflow at step {int(overflow[0])} (t = {overflow[0] * dt:g} s): neuron {i - offset[pop.name]} "
                         f"of {pop.name!r} reached a membrane voltage or synaptic current beyond the range of SpiNNaker's "
                         "32-bit accum (-65536 to 65536 mV or nA), which the board would wrap; scale the weights down")
    if n_spk > cap:
        raise ValueError(f"the run produced {n_spk} spikes, more than the {cap} this simulation records; run a shorter "
                         "duration")
    spk_step, spk_id = spk_step[:n_spk], spk_id[:n_spk]
    spikes = {}
    for p in pops:
        sel = (spk_id >= offset[p.name]) & (spk_id < offset[p.name] + p.size)
        spikes[p.name] = SpikeTrains(p.name, spk_step[sel] * dt, spk_id[sel] - offset[p.name], p.size, n_steps * dt)
    stats = _traffic(mapping, network, n_steps, st, sid, spk_step, spk_id, node_slice, reach, links, indptr, post,
                     core_of_neuron, load)
    return Results(spikes, {}, 0.0, n_steps * dt, dt, wall), stats


def _traffic(mapping, network, n_steps, src_steps, src_ids, spk_step, spk_id, node_slice, reach, links, indptr, post,
             core_of_neuron, load: LoadModel) -> dict:
    """Packets per link and router, drops and CPU load from the spikes of the run."""
    m = mapping.machine
    n_sl = len(mapping.slices)
    # spikes per slice and step (sources and neurons)
    emit_step = np.concatenate([src_steps, spk_step])
    emit_node = np.concatenate([src_ids, spk_id])  # global numbering: source neurons already offset
    emit_slice = node_slice[emit_node]
    per = np.zeros((n_sl, n_steps), np.int64)
    np.add.at(per, (emit_slice, emit_step), 1)
    link_ids = {}
    for crossed in links:
        for lk in crossed:
            link_ids.setdefault(lk, len(link_ids))
    link_step = np.zeros((max(1, len(link_ids)), n_steps), np.int64)
    router = np.zeros(m.n_chips, np.int64)
    for k in range(n_sl):
        total = per[k].sum()
        if not total or not mapping.targets[k]:
            continue
        for lk in links[k]:
            link_step[link_ids[lk]] += per[k]
        chips = {c for c, _ in reach[k]} | {c for c, _ in links[k]} | {mapping.slices[k].chip}
        for c in chips:
            router[c] += total
    # work per core and step: its neurons, the synaptic events onto them, the packets it receives
    events = np.zeros((n_sl, n_steps), np.int64)
    packets_in = np.zeros((n_sl, n_steps), np.int64)
    core_index = {(s.chip, s.core): k for k, s in enumerate(mapping.slices)}
    for node, step in zip(emit_node.tolist(), emit_step.tolist()):
        row = post[indptr[node]: indptr[node + 1]]
        if row.size:
            np.add.at(events[:, step], core_of_neuron[row], 1)
    for k in range(n_sl):
        for chip_core in reach[k]:
            packets_in[core_index[chip_core]] += per[k]
    sizes = np.array([s.size if s.node in {p.name for p in network.populations} else 0 for s in mapping.slices])
    cycles = load.cycles_per_neuron * sizes[:, None] + load.cycles_per_synapse * events + load.cycles_per_packet * packets_in
    cpu = cycles / (load.clock_hz * m.timestep)
    over = np.maximum(link_step - load.link_packets_per_step, 0)
    return {"packets_per_link": {lk: int(link_step[i].sum()) for lk, i in link_ids.items()},
            "packets_per_router": router, "max_link_packets_per_step": int(link_step.max(initial=0)),
            "dropped_packets": int(over.sum()), "cpu_load": cpu, "synaptic_events": int(events.sum())}
