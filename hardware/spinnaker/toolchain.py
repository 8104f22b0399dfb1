"""The real SpiNNaker tool chain: a core ``Network`` mapped by sPyNNaker 7.4 (PACMAN's
partitioner, placer, key allocator, router and pair compressor; SpiNNFrontEndCommon's
data specification) on a virtual machine, and what it decided read back.

``map_with_spynnaker`` writes the network as a PyNN script (``pynn_export``), runs it
unchanged under ``pyNN.spiNNaker`` in a child process (sPyNNaker keeps global state and
reads its configuration only from ``$HOME/.spynnaker.cfg``, so the child gets a ``HOME`` of
its own holding the file ``spynnaker_cfg`` writes) and collects placements, routing tables
before and after compression, keys, ring-buffer shifts and the encoded 16-bit weights
(``spynnaker_probe``). On a virtual board sPyNNaker maps and generates data, then skips
loading and running.

**Weights as the board holds them** (sPyNNaker's ``PopulationVertex.get_weight_scales``,
``SynapseDynamicsStatic.get_static_synaptic_data``): per post population and synapse type
it chooses a ring-buffer left shift s (from the projections' weight statistics: expected
rate ``spikes_per_second`` 30 Hz, ``ring_buffer_sigma`` 5), stores each weight as the 16-bit
integer ``rint(|w| 2**(15 - s))`` (w in nA) and adds ``int << s`` to an s16.15 input, i.e.
a weight of ``int 2**(s - 15)`` nA. The sign is dropped: the receptor gives it
(``excitatory`` adds, ``inhibitory`` subtracts in ``IF_curr_exp``), so neurosim's negative
weights on ``inh`` map to positive words on ``inhibitory``, and a projection whose signs
disagree with its receptor cannot be expressed (``PyNNBackend`` refuses it for
``pyNN.spiNNaker``). ``board_network`` returns the network with those weights, checked
word for word against what sPyNNaker encoded, for the s16.15 engine (``simulate``).

**A real machine**: ``machine_name`` (a board's host name or IP; ``version`` 5) instead of a
virtual board makes the same script load and run on it and bring the spikes back through
``get_data`` (``Population.record``); not tested here (no board).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurosim.network import Network, delay_steps

__all__ = ["ToolchainError", "ToolchainMapping", "map_with_spynnaker", "spynnaker_cfg", "board_network", "encode_weights"]

_TOOLS = {"pacman": "PACMAN (sPyNNaker's mapper)", "spynnaker": "sPyNNaker", "spinn_front_end_common": "SpiNNFrontEndCommon",
          "spinn_machine": "SpiNNMachine", "spinnman": "SpiNNMan", "pyNN": "PyNN"}


_LINKS = ((1, 0), (1, 1), (0, 1), (-1, 0), (-1, -1), (0, -1))  # SpiNNaker's links 0-5: E, NE, N, W, SW, S


class ToolchainError(ValueError):
    """sPyNNaker (or PACMAN, SpiNNFrontEndCommon, ...) refused the network; ``tool`` names
    which, ``exception`` its exception class, the message says why."""

    def __init__(self, message: str, tool: str = "sPyNNaker", exception: str = ""):
        super().__init__(message)
        self.tool, self.exception = tool, exception


def spynnaker_cfg(machine: tuple[int, int] | None = None, machine_name: str | None = None) -> str:
    """The ``.spynnaker.cfg`` text: a virtual SpiNN-5 board (48 chips), or with ``machine``
    = (W, H) a virtual machine of W x H chips (SpiNNMachine takes (2, 2), a SpiNN-3 board;
    (8, 8), one SpiNN-5 board; multiples of 12, wrap-around machines of 3 boards per 12 x
    12; or 12 k + 4 without wrap-around), or the real board ``machine_name``; with the
    placement, routing and key reports switched on."""
    if machine_name is not None:
        where = f"machineName = {machine_name}\nversion = 5\n"
    else:  # the size given: without one sPyNNaker grows a virtual machine to fit the network
        w, h = (8, 8) if machine is None else (int(machine[0]), int(machine[1]))
        version = 3 if (w, h) == (2, 2) else 5  # (2, 2): a SpiNN-3 board of 4 chips
        where = f"virtual_board = True\nversion = {version}\nwidth = {w}\nheight = {h}\n"
    return ("[Machine]\n" + where + "[Reports]\nwrite_application_graph_placer_report = True\nwrite_router_reports = True\n"
            "write_router_summary_report = True\nwrite_json_routing_tables = True\n")


@dataclass
class ToolchainMapping:
    """What sPyNNaker decided for a network (``map_with_spynnaker``).

    ``placements``: rows (population or source, first neuron, last neuron, x, y, core);
    ``system``: its own cores (label, x, y, core); ``keys``: rows (population, first
    neuron, key, mask) of every slice's spikes; ``tables_before`` / ``tables_after``:
    per chip ``(x, y)`` its routing entries in order, an int array (n_entries, 3) of key,
    mask and route (bits 0-5 links, 6 up cores), before and after PACMAN's pair compressor;
    ``populations``: per population ``ring_buffer_shifts`` and ``weight_scales`` (by
    synapse type), ``synapse_types`` (receptor -> type), ``max_delay_steps_per_core``;
    ``words``: the 16-bit weight fields sPyNNaker encoded and ``delays`` the delays (steps)
    it converted, per (pre, post, synapse type);
    ``machine``: width, height, chips, router entries; ``seconds``: ``run`` (``sim.run``:
    sPyNNaker's mapping and data generation), its ``mapping_stage`` (partitioning,
    placement, keys, routing) and ``loading_stage`` (data generation), the
    ``pair_compressor``, ``total`` (the child process, with start-up); ``folder``: the
    script, its configuration and sPyNNaker's reports; ``dt``: the time step (s) it was
    mapped at."""

    machine: dict
    placements: list
    system: list
    keys: list
    tables_before: dict
    tables_after: dict
    populations: dict
    words: dict
    delays: dict
    seconds: dict
    folder: Path
    dt: float = 1e-3
    log: str = field(default="", repr=False)

    @property
    def cores_used(self) -> int:
        return len(self.placements)

    @property
    def chips_used(self) -> int:
        return len({(x, y) for *_, x, y, _p in self.placements})

    def report(self) -> dict:
        """Cores and chips of the network's slices, its delay extension cores, sPyNNaker's
        system cores (monitors, packet gatherers), routing entries (largest table and total,
        before and after compression), keys and times."""
        before, after = [len(t) for t in self.tables_before.values()], [len(t) for t in self.tables_after.values()]
        delay = sum(1 for label, *_ in self.system if label.startswith("Delay extension"))
        return {"cores_used": self.cores_used, "chips_used": self.chips_used, "delay_extension_cores": delay,
                "system_cores": len(self.system) - delay,
                "chips": self.machine["chips"], "table_size": self.machine["router_entries"],
                "max_table_before": max(before, default=0), "max_table_after": max(after, default=0),
                "total_entries_before": sum(before), "total_entries_after": sum(after), "keys": len(self.keys),
                "seconds_mapping": self.seconds.get("mapping_stage", self.seconds["run"]),
                "seconds_data": self.seconds.get("loading_stage", 0.0), "seconds_compress": self.seconds["pair_compressor"],
                "seconds_total": self.seconds["total"]}

    def deliver(self, key: int, source: tuple[int, int], compressed: bool = True) -> set:
        """The cores ``(x, y, p)`` a packet with ``key`` sent from chip ``source`` reaches
        through the routing tables: the first matching entry of a chip routes it (to its
        cores and links); a chip with no match passes it on to the link opposite the one it
        came in by (default routing); SpiNNaker's links 0-5 lead E, NE, N, W, SW, S."""
        tables = self.tables_after if compressed else self.tables_before
        w, h = self.machine["width"], self.machine["height"]
        reached, seen, todo = set(), set(), [(source, None)]
        while todo:
            (x, y), came = todo.pop()
            if ((x, y), came) in seen:
                continue
            seen.add(((x, y), came))
            t = tables.get((x, y))
            hit = np.nonzero((key & t[:, 1]) == t[:, 0])[0] if t is not None and len(t) else ()
            if len(hit):
                route = int(t[hit[0], 2])
                reached |= {(x, y, p) for p in range(26) if route >> (6 + p) & 1}
                links = [k for k in range(6) if route >> k & 1]
            else:
                links = [] if came is None else [(came + 3) % 6]
            for k in links:
                dx, dy = _LINKS[k]
                todo.append((((x + dx) % w, (y + dy) % h), (k + 3) % 6))
        return reached

    def unrouted(self, network: Network, compressed: bool = True) -> list:
        """Every (projection, pre slice, post slice) whose synapses need a route that the
        tables do not give: the pre slice's first and last keys must reach the core of each
        post slice holding a target of that slice. Empty when everything is routed."""
        cores = {(pop, lo): (hi, (x, y, p)) for pop, lo, hi, x, y, p in self.placements}
        slices = {}
        for pop, lo, hi, *_ in self.placements:
            slices.setdefault(pop, []).append((lo, hi))
        keys = {(pop, lo): (key, mask) for pop, lo, key, mask in self.keys}
        missing = []
        for pr in network.projections:
            pre, post = pr.pre_indices(), pr.indices
            post_lo = np.array(sorted(lo for lo, _ in slices[pr.post]))
            for lo, hi in slices[pr.pre]:
                chip = cores[(pr.pre, lo)][1][:2]
                sel = (pre >= lo) & (pre <= hi)
                targets = {int(post_lo[i]) for i in np.unique(np.searchsorted(post_lo, post[sel], side="right") - 1)}
                if not targets:
                    continue
                key, mask = keys[(pr.pre, lo)]
                got = self.deliver(key, chip, compressed) & self.deliver(key | (hi - lo), chip, compressed)
                missing += [(pr.name, (pr.pre, lo), (pr.post, t)) for t in sorted(targets) if cores[(pr.post, t)][1] not in got]
        return missing

    def reports_folder(self) -> Path | None:
        """sPyNNaker's report folder of this run (``reports/<date>/run_1``)."""
        found = sorted((self.folder / "pynn" / "reports").glob("*/run_1"))
        return found[-1] if found else None


def _refusal(stderr: str, log: Path) -> ToolchainError:
    """The exception the child died of, as a ``ToolchainError`` naming the tool (and the
    ``log`` holding sPyNNaker's whole output)."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    last = next((ln for ln in reversed(lines) if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", ln)), lines[-1] if lines else "")
    name, _, msg = last.partition(":")
    module = name.split(".")[0] if "." in name else ""
    tool = _TOOLS.get(module, "sPyNNaker")
    if not module:  # a builtin exception: the frame it was raised in names the tool
        frames = re.findall(r'site-packages/(\w+)/', stderr)
        tool = _TOOLS.get(frames[-1], tool) if frames else tool
    return ToolchainError(f"{tool} refused the network ({name.split('.')[-1]}): {msg.strip() or last} (its output: {log})",
                          tool, name)


def map_with_spynnaker(network: Network, dt: float = 1e-3, machine: tuple[int, int] | None = None, folder=None,
                       machine_name: str | None = None, duration: float | None = None,
                       timeout: float = 3600.0) -> ToolchainMapping:
    """Map ``network`` at time step ``dt`` s with sPyNNaker on a virtual SpiNN-5 board (48
    chips), or a virtual ``machine`` of (W, H) chips, or the real board ``machine_name``
    (where it also loads and runs for ``duration`` s and saves the spikes to
    ``pynn/spikes.npz``; not tested here). ``duration`` defaults to one step (mapping
    only). ``folder`` (default a new temporary folder) receives the PyNN script
    (``pynn/``), sPyNNaker's configuration (``home/.spynnaker.cfg``), its log
    (``spynnaker.log``) and its reports.

    Raises ``neurosim.backend.UnsupportedNetwork`` listing everything PyNN's standard cells
    or sPyNNaker's sign convention cannot express (before sPyNNaker runs);
    ``ToolchainError`` (a ``ValueError``) when sPyNNaker or PACMAN refuses the network (it
    does not fit the machine, ...), naming the tool and quoting its reason;
    ``ModuleNotFoundError`` when sPyNNaker is not installed; ``TimeoutError`` after
    ``timeout`` s."""
    from .pynn_backend import PyNNBackend

    if importlib.util.find_spec("spynnaker") is None:
        raise ModuleNotFoundError("sPyNNaker is not installed: pip install 'neurosim[spinnaker]' (sPyNNaker 7.4); our own mapper "
                                  "needs none: neurosim deploy spinnaker --toolchain ours")
    base = (Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="neurosim-spynnaker-"))).resolve()
    backend = PyNNBackend(dt, folder=base / "pynn", simulator="pyNN.spiNNaker")
    script = Path(backend.compile(network, dt if duration is None else duration).target)  # checks every reason first
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".spynnaker.cfg").write_text(spynnaker_cfg(machine, machine_name))
    env = {**os.environ, "HOME": str(home)}
    t0 = time.perf_counter()
    try:
        spikes = ["spikes.npz"] if machine_name is not None else []  # a virtual board records nothing
        done = subprocess.run([sys.executable, "-m", "hardware.spinnaker.spynnaker_probe", script.name, "probe.json", "probe.npz",
                               *spikes], capture_output=True, text=True, timeout=timeout, cwd=script.parent, env=env)
    except subprocess.TimeoutExpired as err:
        raise TimeoutError(f"sPyNNaker did not finish mapping within {timeout:g} s (folder {base})") from err
    total = time.perf_counter() - t0
    (base / "spynnaker.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise _refusal(done.stderr, base / "spynnaker.log")
    info = json.loads((script.parent / "probe.json").read_text())
    with np.load(script.parent / "probe.npz", allow_pickle=False) as arrays:
        words = {tuple(k): arrays[f"w{i}"] for i, k in enumerate(info["weight_words"])}
        delays = {tuple(k): arrays[f"d{i}"] for i, k in enumerate(info["weight_words"])}
    info["seconds"].update(total=total, **_stage_seconds(script.parent / "reports"))
    return ToolchainMapping(info["machine"], info["placements"], info["system_placements"], info["keys"],
                            _chip_keys(info["tables_uncompressed"]), _chip_keys(info["tables_compressed"]),
                            info["populations"], words, delays, info["seconds"], base, dt, done.stderr[-20000:])


def _stage_seconds(reports: Path) -> dict:
    """sPyNNaker's own times per stage (``Mapping Stage``: partitioning, placement, keys,
    routing and tables; ``Loading Stage``: data generation and, on a board, loading), from
    its provenance database, in seconds."""
    import sqlite3

    found = sorted(reports.glob("*/global_provenance.sqlite3"))
    if not found:
        return {}
    with sqlite3.connect(f"file:{found[-1]}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT category, SUM(time_taken) FROM category_timer_provenance GROUP BY category").fetchall()
    names = {"Mapping Stage": "mapping_stage", "Loading Stage": "loading_stage"}
    return {names[c]: ms / 1e3 for c, ms in rows if c in names}


def _chip_keys(tables: dict) -> dict:
    return {tuple(int(v) for v in k.split(",")): np.asarray(e, np.int64).reshape(-1, 3) for k, e in tables.items()}


def encode_weights(weights, shift: int) -> np.ndarray:
    """sPyNNaker's 16-bit weight words for weights (A, any shape) on a synapse type with
    ring-buffer left shift ``shift``: ``rint(|w| 2**(15 - shift))`` with w in nA, masked to
    16 bits (``SynapseDynamicsStatic.get_static_synaptic_data``; global weight scale 1 for
    ``IF_curr_exp``)."""
    return np.rint(np.abs(np.asarray(weights, np.float64)) * 1e9 * 2.0 ** (15 - shift)).astype(np.int64) & 0xFFFF


def board_network(network: Network, mapping: ToolchainMapping) -> Network:
    """``network`` with every projection's weights replaced by the values sPyNNaker's board
    computes with: ``encode_weights`` with the shift it chose for the post population and
    receptor, times ``2**(shift - 15)`` nA, signed by the receptor (positive on ``exc``,
    negative on ``inh``); delays unchanged. Raises ``RuntimeError`` when the words, or the
    delays in steps at the mapping's ``dt`` (``neurosim.network.delay_steps``: a spike acts that many
    steps after it is sent, PyNN's and sPyNNaker's definition), differ from the ones
    sPyNNaker encoded (compared per pre, post and synapse type, as sorted lists)."""
    projections, ours, our_delays = [], {}, {}
    for pr in network.projections:
        pop = mapping.populations[pr.post]
        syn = pop["synapse_types"]["excitatory" if pr.target == "exc" else "inhibitory"]
        shift = pop["ring_buffer_shifts"][syn]
        if not math.isclose(pop["weight_scales"][syn], 2.0 ** (15 - shift)):
            raise RuntimeError(f"population {pr.post!r}: sPyNNaker's weight scale {pop['weight_scales'][syn]} is not "
                               f"2**(15 - {shift}); its encoding changed")
        words = encode_weights(pr.weights, shift)
        ours.setdefault((pr.pre, pr.post, syn), []).append(words)
        our_delays.setdefault((pr.pre, pr.post, syn), []).append(delay_steps(pr, mapping.dt))
        sign = 1.0 if pr.target == "exc" else -1.0
        projections.append(dataclasses.replace(pr, weights=(sign * words * 2.0 ** (shift - 15) * 1e-9)))
    for what, mine_by_key, theirs_by_key in (("weights", ours, mapping.words), ("delays (steps)", our_delays, mapping.delays)):
        for key, got in mine_by_key.items():
            theirs = theirs_by_key.get(key, np.zeros(0, np.int64))
            mine = np.concatenate(got)
            if mine.size != theirs.size or not np.array_equal(np.sort(mine), np.sort(theirs)):
                raise RuntimeError(f"projections {key[0]!r} -> {key[1]!r} (synapse type {key[2]}): {mine.size} {what} "
                                   f"here differ from the {theirs.size} sPyNNaker wrote")
    return dataclasses.replace(network, projections=tuple(projections))
