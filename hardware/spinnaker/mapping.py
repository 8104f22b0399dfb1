"""Map a core ``Network`` onto a SpiNNaker-style ``Machine``: partition, place, route.

* **Partition** (``partition``): every population and spike source is split into slices of
  at most ``neurons_per_core`` neurons, fewer when their state would not fit a core's DTCM.
* **Place** (``place``): slices go to application cores. ``"random"`` scatters them
  (seeded); ``"locality"`` takes them in order of connection strength to what is placed
  and puts each on the free core whose chip is closest, in hops weighted by synapse
  counts, to the slices it talks to. Each chip's SDRAM holds its cores' synaptic matrices.
* **Route** (``route``): slice s sends neuron i's spikes as multicast packets with key
  ``(s << index_bits) | i`` (slices numbered by chip and core, so slices on one chip hold
  neighbouring keys); every chip a slice's packets cross gets one table entry (key, mask,
  route), the route being a set of links and local cores, on the slice's shortest-path
  tree (diagonal hops first). Packets are routed per source slice, as sPyNNaker does; each
  target core keeps the spikes of its neurons' presynaptic partners.
* **Compress** (``compress_table``): each entry is widened (mask bits dropped, lowest
  first) as long as it matches no key that another route's entry holds on that chip, and
  entries of the same route that a widened one covers are dropped: entries with the same
  route merge, and keys that never reach the chip are don't-cares. Every key in use keeps
  its route; a chip whose table still has more than ``table_size`` entries is an error
  naming it.

``deliver`` follows a key through the tables (TCAM first match; a packet that matches no
entry goes straight on, SpiNNaker's default route) and returns the cores it reaches, which
the tests compare with the cores that hold the targets. As in sPyNNaker, a slice without
outgoing synapses sends no packets.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from neurosim.network import Network

from .machine import Machine, opposite

__all__ = ["Slice", "Mapping", "partition", "place", "route", "compress_table", "walk", "deliver", "map_network", "TableOverflow",
           "BYTES_PER_NEURON", "BYTES_PER_SYNAPSE"]

#: DTCM bytes per neuron: parameters, state and input buffers in s16.15 words.
BYTES_PER_NEURON = 64   # neuron parameters, state and input buffers in DTCM (s16.15 words)
#: SDRAM bytes per synapse: one 32-bit synaptic word (weight, delay, target index).
BYTES_PER_SYNAPSE = 4   # one 32-bit synaptic word in SDRAM (weight, delay, target index)
N_LINKS = 6


class TableOverflow(ValueError):
    """A chip's routing table does not fit its router even after compression."""


@dataclass
class Slice:
    """Neurons ``lo``..``hi``-1 of population or source ``node``, on core ``core`` (1-based
    application core) of chip index ``chip``; ``synapses``: synapses onto its neurons."""

    node: str
    lo: int
    hi: int
    synapses: int = 0
    chip: int = -1
    core: int = -1
    key: int = -1

    @property
    def size(self) -> int:
        return self.hi - self.lo


@dataclass
class Mapping:
    """A placed and routed network: ``slices``; ``targets[s]``: the slices slice ``s`` sends
    to; ``tables`` / ``compressed``: chip index -> list of (key, mask, route) with route a
    bit set (bits 0-5 links, bit 6 + c core c); ``index_bits``: the neuron bits of a key;
    ``tree_links[s]``: links slice s's packets cross (traffic per spike); timings (s)."""

    machine: Machine
    slices: list
    targets: list
    index_bits: int
    tables: dict = field(default_factory=dict)
    compressed: dict = field(default_factory=dict)
    tree_links: np.ndarray | None = None
    link_load: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    @property
    def mask(self) -> int:
        """The mask of a slice's keys (its neuron bits cleared)."""
        return (0xFFFFFFFF >> self.index_bits) << self.index_bits

    def traffic(self, spikes_per_neuron=None) -> float:
        """Link traversals if every neuron fires once (or ``spikes_per_neuron[s]`` times per
        neuron of slice s): sum over slices of size x links of its multicast tree."""
        sizes = np.array([s.size for s in self.slices], float)
        w = sizes if spikes_per_neuron is None else sizes * np.asarray(spikes_per_neuron, float)
        return float(np.sum(w * self.tree_links))

    def report(self) -> dict:
        """Cores and chips used, table sizes before/after compression, traffic."""
        before = [len(t) for t in self.tables.values()] or [0]
        after = [len(t) for t in self.compressed.values()] or [0]
        return {"slices": len(self.slices), "cores_used": len(self.slices),
                "chips_used": len({s.chip for s in self.slices}), "chips": self.machine.n_chips,
                "max_table_before": max(before), "max_table_after": max(after),
                "total_entries_before": int(sum(before)), "total_entries_after": int(sum(after)),
                "table_size": self.machine.table_size, "link_traversals_per_spike_wave": self.traffic(),
                "max_link_load": max(self.link_load.values(), default=0), **{f"seconds_{k}": v for k, v in self.seconds.items()}}


def partition(network: Network, machine: Machine) -> list:
    """Slices of every population and source, in network order (sources first). Raises
    ``ValueError`` when one neuron's state exceeds a core's DTCM."""
    per_core = min(machine.neurons_per_core, machine.dtcm_bytes // BYTES_PER_NEURON)
    if per_core < 1:
        raise ValueError(f"a core's DTCM ({machine.dtcm_bytes} bytes) cannot hold one neuron ({BYTES_PER_NEURON} bytes)")
    incoming = {n.name: np.zeros(n.size, np.int64) for n in (*network.sources, *network.populations)}
    for pr in network.projections:
        incoming[pr.post] += np.bincount(pr.indices, minlength=incoming[pr.post].size)
    slices = []
    for node in (*network.sources, *network.populations):
        csum = np.concatenate([[0], np.cumsum(incoming[node.name])])
        for lo in range(0, node.size, per_core):
            hi = min(lo + per_core, node.size)
            slices.append(Slice(node.name, lo, hi, int(csum[hi] - csum[lo])))
    return slices


def _slice_graph(network: Network, slices: list):
    """(slice of every neuron per node, target slices per slice, synapse counts between
    slices as a dict (s, t) -> n)."""
    first = {}
    for k, s in enumerate(slices):
        first.setdefault(s.node, []).append((s.lo, k))
    of_neuron = {}
    for node, parts in first.items():
        size = max(slices[k].hi for _, k in parts)
        idx = np.zeros(size, np.int64)
        for lo, k in parts:
            idx[lo: slices[k].hi] = k
        of_neuron[node] = idx
    n = len(slices)
    pairs = []
    for pr in network.projections:
        pre = of_neuron[pr.pre][pr.pre_indices()]
        post = of_neuron[pr.post][pr.indices]
        pairs.append(pre * n + post)
    if pairs:
        u, c = np.unique(np.concatenate(pairs), return_counts=True)
    else:
        u, c = np.zeros(0, np.int64), np.zeros(0, np.int64)
    src, dst = u // n, u % n  # sorted by source slice
    bounds = np.searchsorted(src, np.arange(n + 1))
    targets = [dst[bounds[k]: bounds[k + 1]].tolist() for k in range(n)]
    return of_neuron, targets, (src, dst, c)


def place(slices: list, machine: Machine, edges, method: str = "locality", seed: int = 0) -> None:
    """Assign ``chip`` and ``core`` to every slice in place. ``edges``: (source slices,
    target slices, synapse counts). Raises ``ValueError`` when the machine has too few cores
    or a chip's SDRAM cannot hold a slice's synapses, or for an unknown method."""
    if method not in ("locality", "random"):
        raise ValueError(f"placement method {method!r} is unknown; choose 'locality' or 'random'")
    n, n_chips = len(slices), machine.n_chips
    if n > machine.n_cores:
        raise ValueError(f"{n} slices need {n} cores; the machine has {machine.n_cores} ({n_chips} chips x "
                         f"{machine.cores_per_chip})")
    free = np.full(n_chips, machine.cores_per_chip)
    sdram = np.full(n_chips, machine.sdram_bytes, np.int64)
    need = np.array([s.synapses * BYTES_PER_SYNAPSE for s in slices], np.int64)
    if need.max(initial=0) > machine.sdram_bytes:
        k = int(np.argmax(need))
        raise ValueError(f"slice {slices[k].node}[{slices[k].lo}:{slices[k].hi}] needs {need[k]} bytes of synaptic matrix, "
                         f"more than a chip's SDRAM ({machine.sdram_bytes})")

    def put(k, chip):
        slices[k].chip = int(chip)
        slices[k].core = int(machine.cores_per_chip - free[chip] + 1)
        free[chip] -= 1
        sdram[chip] -= need[k]

    if method == "random":
        order = np.random.default_rng(seed).permutation(n)
        slots = np.repeat(np.arange(n_chips), machine.cores_per_chip)
        slots = slots[np.random.default_rng(seed + 1).permutation(slots.size)]
        p = 0
        for k in order:
            while p < slots.size and (free[slots[p]] == 0 or sdram[slots[p]] < need[k]):
                p += 1
            if p >= slots.size:
                raise ValueError("no chip has a free core and the SDRAM left for a slice's synapses")
            put(k, slots[p])
            p += 1
        return
    src, dst, cnt = edges
    # symmetric connection weights between slices
    import scipy.sparse as sp
    w = sp.coo_matrix((np.concatenate([cnt, cnt]).astype(float), (np.concatenate([src, dst]), np.concatenate([dst, src]))),
                      shape=(n, n)).tocsr()
    dist = machine.distances().astype(float)
    centre = int(np.argmin(dist.sum(1)))
    pull = np.zeros(n)  # connection weight of each unplaced slice to the placed ones
    placed = np.zeros(n, bool)
    on_chip = np.zeros((n_chips,))
    for step in range(n):
        cand = np.where(placed, -np.inf, pull)
        k = int(np.argmax(cand)) if step else int(np.argmax(np.asarray(w.sum(1)).ravel()))
        row = w.getrow(k)
        on_chip[:] = 0
        mask = placed[row.indices]
        np.add.at(on_chip, np.array([slices[t].chip for t in row.indices[mask]], np.int64), row.data[mask])
        cost = dist @ on_chip if mask.any() else dist[centre]
        ok = (free > 0) & (sdram >= need[k])
        if not ok.any():
            raise ValueError("no chip has a free core and the SDRAM left for a slice's synapses")
        cost = np.where(ok, cost, np.inf)
        put(k, int(np.argmin(cost)))
        placed[k] = True
        pull[row.indices] += row.data


def _route_bits(links, cores) -> int:
    bits = 0
    for link in links:
        bits |= 1 << link
    for c in cores:
        bits |= 1 << (N_LINKS + c)
    return bits


def route(mapping: Mapping) -> None:
    """Keys, multicast trees and per-chip routing tables (``mapping.tables``), link loads
    and tree sizes."""
    m = mapping.machine
    trees = {}
    mask = mapping.mask
    tables = {c: [] for c in range(m.n_chips)}
    tree_links = np.zeros(len(mapping.slices))
    load = {}
    for s_idx, s in enumerate(mapping.slices):
        src_chip = m.chips[s.chip]
        if src_chip not in trees:
            trees[src_chip] = m.shortest_path_tree(src_chip)
        tree = trees[src_chip]
        links_at: dict = {}
        cores_at: dict = {}
        for t in mapping.targets[s_idx]:
            tgt = mapping.slices[t]
            chip = m.chips[tgt.chip]
            cores_at.setdefault(chip, set()).add(tgt.core)
            links_at.setdefault(chip, set())
            c = chip
            while tree[c][0] is not None:  # walk up to the source, adding the links
                parent, link = tree[c]
                seen = parent in links_at
                links_at.setdefault(parent, set()).add(link)
                if seen:
                    break
                c = parent
        if links_at and src_chip not in links_at:
            links_at[src_chip] = set()
        for chip, links in links_at.items():
            bits = _route_bits(links, cores_at.get(chip, ()))
            tables[m.chip_index(chip)].append((s.key, mask, bits))
            for link in links:
                load[(m.chip_index(chip), link)] = load.get((m.chip_index(chip), link), 0) + s.size
        tree_links[s_idx] = sum(len(v) for v in links_at.values())
    mapping.tables = tables
    mapping.tree_links = tree_links
    mapping.link_load = load


def compress_table(entries: list, table_size: int | None = None, chip=None) -> list:
    """Compress a chip's table (see the module docstring): each entry's mask loses bits,
    lowest first, while the widened entry matches no key that an entry with another route
    holds (keys that arrive at no entry of this chip are free to match: no packet with them
    ever reaches this chip); entries then covered by a wider one of the same route are
    dropped. Every key in use keeps its route, whatever the order of the entries. Returns
    the new list; raises ``TableOverflow`` naming ``chip`` when it is still longer than
    ``table_size``."""
    if not entries:
        return []
    keys = np.array([e[0] for e in entries], np.int64)
    masks = np.array([e[1] for e in entries], np.int64)
    routes = np.array([e[2] for e in entries], np.int64)
    out = []
    for r in np.unique(routes):
        mine = routes == r
        ok_, om_ = keys[~mine], masks[~mine]  # what this route must never match
        current = sorted(zip(keys[mine].tolist(), masks[mine].tolist()))
        gk_, gm_ = np.zeros(len(current), np.int64), np.zeros(len(current), np.int64)
        alive = np.zeros(len(current), bool)
        n_grown = 0
        for k, m in current:
            if n_grown and np.any(alive[:n_grown] & ((k & gm_[:n_grown]) == gk_[:n_grown]) & ((m & gm_[:n_grown]) == gm_[:n_grown])):
                continue  # already inside a widened entry
            bit = 1
            while bit <= m:
                if m & bit:
                    nk, nm = k & ~bit, m & ~bit
                    if not np.any(((ok_ ^ nk) & om_ & nm) == 0):
                        k, m = nk, nm
                bit <<= 1
            # entries now inside (k, m) are dropped
            alive[:n_grown] &= ~(((gk_[:n_grown] & m) == k) & ((gm_[:n_grown] & m) == m))
            gk_[n_grown], gm_[n_grown], alive[n_grown] = k, m, True
            n_grown += 1
        grown = list(zip(gk_[:n_grown][alive[:n_grown]].tolist(), gm_[:n_grown][alive[:n_grown]].tolist()))
        out.extend((k, m, int(r)) for k, m in grown)
    if table_size is not None and len(out) > table_size:
        raise TableOverflow(f"chip {chip}: its routing table has {len(out)} entries after compression "
                            f"({len(entries)} before); the router holds {table_size}")
    return out


def walk(mapping: Mapping, key: int, table=None) -> tuple[list, list]:
    """Follow a packet with ``key`` from its source slice's chip through ``table`` (default
    ``mapping.compressed``; ``mapping.tables`` for the uncompressed ones), with first-match
    lookup and default routing: returns (every (chip index, core) arrival, every (chip
    index, link) crossed). A duplicate arrival shows as a repeated pair. Raises
    ``ValueError`` for a routing loop."""
    tables = mapping.compressed if table is None else table
    m = mapping.machine
    s_idx = key >> mapping.index_bits
    if not mapping.targets[s_idx]:
        return [], []  # a slice without outgoing synapses sends no packets (it has no outgoing edge)
    arrivals, crossed = [], []
    stack = [(mapping.slices[s_idx].chip, None)]
    while stack:
        chip, came_by = stack.pop()
        if len(crossed) > 4 * m.n_chips * N_LINKS:
            raise ValueError(f"key {key:#x} loops in the routing tables")
        match = next((r for k, msk, r in tables.get(chip, ()) if (key & msk) == k), None)
        if match is None:
            if came_by is None:
                continue  # nothing to send
            match = 1 << opposite(came_by)  # default route: straight on
        for c in range(1, m.cores_per_chip + 1):
            if match >> (N_LINKS + c) & 1:
                arrivals.append((chip, c))
        for link in range(N_LINKS):
            if match >> link & 1:
                nxt = m.neighbour(m.chips[chip], link)
                if nxt is not None:
                    crossed.append((chip, link))
                    stack.append((m.chip_index(nxt), link))
    return arrivals, crossed


def deliver(mapping: Mapping, key: int, table=None) -> list:
    """The (chip index, core) arrivals of a packet with ``key`` (see ``walk``)."""
    return walk(mapping, key, table)[0]


def map_network(network: Network, machine: Machine | None = None, placement: str = "locality", seed: int = 0,
                compress: bool = True) -> Mapping:
    """Partition, place and route ``network`` on ``machine`` (default: one 48-chip board),
    then compress every table. Raises ``ValueError`` when it does not fit (cores, SDRAM) and
    ``TableOverflow`` naming a chip whose table does not fit its router."""
    machine = machine or Machine.board()
    t0 = time.perf_counter()
    slices = partition(network, machine)
    _, targets, edges = _slice_graph(network, slices)
    t1 = time.perf_counter()
    place(slices, machine, edges, placement, seed)
    t2 = time.perf_counter()
    # keys in placement order: slices on one chip get neighbouring keys, which compress
    order = sorted(range(len(slices)), key=lambda k: (slices[k].chip, slices[k].core))
    renumber = np.empty(len(slices), np.int64)
    renumber[order] = np.arange(len(slices))
    slices = [slices[k] for k in order]
    targets = [sorted(int(renumber[t]) for t in targets[k]) for k in order]
    index_bits = max(1, math.ceil(math.log2(max(s.size for s in slices))))
    for k, s in enumerate(slices):
        s.key = k << index_bits
    mapping = Mapping(machine, slices, targets, index_bits)
    route(mapping)
    t3 = time.perf_counter()
    mapping.compressed = {c: compress_table(t, machine.table_size, machine.chips[c]) for c, t in mapping.tables.items()} \
        if compress else dict(mapping.tables)
    t4 = time.perf_counter()
    if not compress:
        for c, t in mapping.tables.items():
            if len(t) > machine.table_size:
                raise TableOverflow(f"chip {machine.chips[c]}: {len(t)} routing entries; the router holds {machine.table_size}")
    mapping.seconds = {"partition": t1 - t0, "place": t2 - t1, "route": t3 - t2, "compress": t4 - t3}
    return mapping


