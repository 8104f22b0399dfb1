"""How many Loihi 2 neuro cores (and chips) a mapped network needs.

Each population is packed onto cores in index order, greedily: a core takes neurons until
one more would break a per-core limit: neurons, synapses stored (every synapse lives on
the core of its postsynaptic neuron) or input axons (fan-in: the distinct presynaptic
neurons that reach the core). Then each core's output axons (fan-out: for each of its
neurons, the number of distinct cores it sends to) are counted and checked.

Limits (``LoihiLimits``): 128 cores per chip, 8,192 neurons per core (1 M neurons per chip)
and 120 M synapses per chip (so ~937,500 8-bit synapses per core) are Intel's published
Loihi 2 figures (Loihi 2 brief, 2021; Orchard et al. 2021, IEEE SiPS); Loihi 2's per-core
axon limits are not published, so fan-in and fan-out default to Loihi 1's 4,096 input and
4,096 output axons per core (Davies et al. 2018, IEEE Micro 38:82). All are settings.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from .quantize import LoihiNetwork

__all__ = ["LoihiLimits", "ResourceReport", "estimate_resources"]


@dataclass(frozen=True)
class LoihiLimits:
    """Per-core and per-chip limits (see the module docstring for their sources). Raises
    ``ValueError`` for a limit that is not an integer >= 1."""

    neurons_per_core: int = 8192
    synapses_per_core: int = 120_000_000 // 128
    fan_in_per_core: int = 4096
    fan_out_per_core: int = 4096
    cores_per_chip: int = 128

    def __post_init__(self):
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"LoihiLimits: {name} = {value!r} is invalid: must be an integer >= 1")


@dataclass
class ResourceReport:
    """``cores`` per population, ``total_cores``, ``chips``, the largest per-core use
    (``max_neurons``, ``max_synapses``, ``max_fan_in``, ``max_fan_out``) and ``violations``
    (text, one per core over a limit that packing cannot fix: a single neuron with more
    synapses or inputs than a core holds, or a core sending to too many cores)."""

    cores: dict
    total_cores: int
    chips: int
    max_neurons: int
    max_synapses: int
    max_fan_in: int
    max_fan_out: int
    violations: list
    limits: dict

    def table(self) -> str:
        """The report as text."""
        lines = [f"{name:20s} {n:6d} cores" for name, n in self.cores.items()]
        lines.append(f"total {self.total_cores} cores on {self.chips} chip(s) (limit {self.limits['cores_per_chip']} per chip)")
        lines.append(f"per core at most: {self.max_neurons} neurons (limit {self.limits['neurons_per_core']}), "
                     f"{self.max_synapses} synapses ({self.limits['synapses_per_core']}), fan-in {self.max_fan_in} "
                     f"({self.limits['fan_in_per_core']}), fan-out {self.max_fan_out} ({self.limits['fan_out_per_core']})")
        lines += [f"violation: {v}" for v in self.violations] or ["within every limit"]
        return "\n".join(lines)


@njit(cache=True)
def _pack(indptr, pre, dest_count, n_neurons_limit, syn_limit, fan_in_limit, fan_out_limit, marker, core_of, first_core):
    """Greedy packing of one population's neurons (CSR over post: ``pre`` ids) into cores;
    ``dest_count[i]``: the cores neuron i sends to (output axons). Returns the number of
    cores. ``marker[p]`` holds the last core that counted input ``p``."""
    n = indptr.shape[0] - 1
    core = first_core
    count = syn = fan = out = 0
    for i in range(n):
        new_in = 0  # inputs this neuron adds to the current core
        for k in range(indptr[i], indptr[i + 1]):
            if marker[pre[k]] != core:
                new_in += 1
        n_syn = indptr[i + 1] - indptr[i]
        if count > 0 and (count + 1 > n_neurons_limit or syn + n_syn > syn_limit or fan + new_in > fan_in_limit
                          or out + dest_count[i] > fan_out_limit):
            core += 1
            count = syn = fan = out = 0
            new_in = n_syn  # a fresh core has seen none of them (each input once per neuron)
        for k in range(indptr[i], indptr[i + 1]):
            marker[pre[k]] = core
        count += 1
        syn += n_syn
        fan += new_in
        out += dest_count[i]
        core_of[i] = core
    return core + 1 - first_core


def _pack_order(net: LoihiNetwork) -> list:
    """Populations with their targets first (reverse topological order; self-loops and
    cycles are counted after packing), so that each neuron's output axons are known."""
    names = [p.name for p in net.populations]
    targets = {n: {pr.post for pr in net.projections if pr.pre == n and pr.post != n} for n in names}
    order, state = [], {}

    def visit(n):
        if state.get(n) == "done":
            return
        if state.get(n) == "open":  # a cycle: leave it to the post-packing count
            return
        state[n] = "open"
        for t in sorted(targets[n]):
            visit(t)
        state[n] = "done"
        order.append(n)
    for n in names:
        visit(n)
    return order


def _destinations(net, node_name: str, size: int, core_of: dict, n_cores: int, only_packed: bool):
    """(size, n_cores) CSR: the cores each neuron of ``node_name`` sends to."""
    import scipy.sparse as sp

    rows, cols = [], []
    for pr in net.projections:
        if pr.pre != node_name or (only_packed and pr.post not in core_of):
            continue
        w = pr.weights
        post = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        rows.append(w.indices)
        cols.append(core_of[pr.post][post])
    if not rows:
        return sp.csr_matrix((size, max(n_cores, 1)))
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(size, max(n_cores, 1)))
    m.sum_duplicates()
    return m


def estimate_resources(net: LoihiNetwork, limits: LoihiLimits | None = None) -> ResourceReport:
    """Cores and chips for ``net`` (from ``map_network``) under ``limits``."""
    import scipy.sparse as sp

    limits = limits or LoihiLimits()
    offset, total = {}, 0  # one index space over sources and neurons (for fan-in)
    for node in (*net.sources, *net.populations):
        offset[node.name] = total
        total += node.size
    pops = {p.name: p for p in net.populations}
    core_of, cores, first = {}, {}, {}
    per_core = {}
    next_core = 0
    marker = np.full(total, -1, np.int64)
    violations = []
    for name in _pack_order(net):
        p = pops[name]
        incoming = [pr for pr in net.projections if pr.post == name]
        m = sp.csr_matrix((p.size, total))
        for pr in incoming:
            m = m + sp.csr_matrix((np.ones(pr.weights.nnz), pr.weights.indices + offset[pr.pre], pr.weights.indptr),
                                  shape=(p.size, total))
        m = m.tocsr()
        m.sum_duplicates()
        dest = np.diff(_destinations(net, name, p.size, core_of, next_core, True).indptr).astype(np.int64)
        co = np.zeros(p.size, np.int64)
        n = _pack(m.indptr.astype(np.int64), m.indices.astype(np.int64), dest, limits.neurons_per_core,
                  limits.synapses_per_core, limits.fan_in_per_core, limits.fan_out_per_core, marker, co, next_core)
        core_of[name], cores[name], first[name] = co, int(n), next_core
        local = co - next_core
        neurons = np.bincount(local, minlength=n)
        syn = np.bincount(local, weights=np.diff(m.indptr), minlength=n).astype(np.int64)
        starts = np.searchsorted(local, np.arange(n))
        ends = np.searchsorted(local, np.arange(n), side="right")
        fan_in = np.array([np.unique(m.indices[m.indptr[a]: m.indptr[b]]).size for a, b in zip(starts, ends)], np.int64)
        over = (syn > limits.synapses_per_core) | (fan_in > limits.fan_in_per_core)
        if over.any():  # packing put such a neuron alone on its core: it cannot be split
            violations.append(f"{name}: {int(over.sum())} neuron(s) each need more than one core: up to {int(syn[over].max())} "
                              f"synapses from {int(fan_in[over].max())} inputs (limits {limits.synapses_per_core} synapses, "
                              f"{limits.fan_in_per_core} input axons per core)")
        for c in range(n):
            per_core[next_core + c] = [int(neurons[c]), int(syn[c]), int(fan_in[c])]
        next_core += n
    fan_out = np.zeros(next_core, np.int64)  # now with every target packed (self-loops, cycles)
    for name, p in pops.items():
        dest = np.diff(_destinations(net, name, p.size, core_of, next_core, False).indptr)
        np.add.at(fan_out, core_of[name], dest)
    bad = np.nonzero(fan_out > limits.fan_out_per_core)[0]
    if bad.size:  # a single neuron sending to more cores than a core's axons, or a recurrent loop
        violations.append(f"{bad.size} core(s) send more than {limits.fan_out_per_core} output axons (up to {int(fan_out.max())})")
    arr = np.array(list(per_core.values())) if per_core else np.zeros((1, 3), np.int64)
    cores = {p.name: cores[p.name] for p in net.populations}  # in the network's order
    return ResourceReport(cores, next_core, math.ceil(next_core / limits.cores_per_chip), int(arr[:, 0].max()),
                          int(arr[:, 1].max()), int(arr[:, 2].max()), int(fan_out.max(initial=0)), violations, asdict(limits))
