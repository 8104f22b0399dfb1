"""Run an exported PyNN script (``pynn_export``) under ``pyNN.spiNNaker`` unchanged and read
what sPyNNaker decided out of its own Python objects before ``sim.end()`` clears them.

Run in a child process by ``toolchain.map_with_spynnaker`` (sPyNNaker keeps global state,
reads its configuration from ``$HOME/.spynnaker.cfg`` and writes reports into the working
folder)::

    python -m hardware.spinnaker.spynnaker_probe run.py probe.json probe.npz [spikes.npz]

The script runs as written (``runpy``, ``sys.argv = [run.py, "pyNN.spiNNaker"]``, plus the
spikes file on a real board); only
``sim.run`` (timed) and ``sim.end`` (which first collects) are wrapped, and the encoding of
static synaptic rows (``SynapseDynamicsStatic.get_static_synaptic_data``) is observed, so
that the weights read back are the 16-bit words sPyNNaker writes into the data
specification. Collected:

- placements: every machine vertex of a population or source (label, first and last
  neuron, chip x, y, core p) and the system vertices (label, x, y, p);
- routing tables per chip (every entry: key, mask, route) before compression (PACMAN's
  merged tables) and after its pair compressor run to the end (as sPyNNaker's on-chip
  compressor does on a board);
- keys: base key and mask of every machine vertex's spike partition;
- per population: ring-buffer left shifts and weight scales per synapse type
  (``PopulationVertex.get_ring_buffer_shifts``, ``get_weight_scales``), the largest delay a
  core supports without a delay extension (steps);
- per (pre, post, synapse type): the 16-bit weight fields of the encoded words, decoded by
  sPyNNaker's own ``read_static_synaptic_data``, and every connection's delay in steps as
  sPyNNaker converted it (``probe.npz``);
- timings: ``sim.run`` (mapping, key allocation, routing, data generation) and the pair
  compressor, in seconds.
"""
from __future__ import annotations

import json
import runpy
import sys
import time
from collections import defaultdict

import numpy as np


def _observe_encoding(words: dict, delays: dict, current: list) -> None:
    """Record the weight field of every static synaptic word sPyNNaker encodes and the delay
    (steps) of every connection, keyed by the (pre, post, synapse type) being written (set
    by the wrapped ``get_synapses``, which converts the delays to steps in place)."""
    from spynnaker.pyNN.models.neuron import synaptic_matrix_app
    from spynnaker.pyNN.models.neuron.synapse_dynamics.synapse_dynamics_static import SynapseDynamicsStatic

    get_synapses = synaptic_matrix_app.get_synapses  # imported there by name

    def traced_get_synapses(connections, synapse_info, *args, **kwargs):
        edge = args[3] if len(args) > 3 else kwargs["app_edge"]
        key = (edge.pre_vertex.label, edge.post_vertex.label, int(synapse_info.synapse_type))
        current.append(key)
        try:
            out = get_synapses(connections, synapse_info, *args, **kwargs)
        finally:
            current.pop()
        delays[key].append(np.asarray(connections["delay"], np.int64))
        return out

    encode = SynapseDynamicsStatic.get_static_synaptic_data
    decode = SynapseDynamicsStatic.read_static_synaptic_data

    def traced_encode(self, connections, connection_row_indices, n_rows, n_synapse_types, max_n_synapses,
                      max_atoms_per_core):
        ff_data, ff_size = encode(self, connections, connection_row_indices, n_rows, n_synapse_types, max_n_synapses,
                                  max_atoms_per_core)
        if current and len(ff_data):
            got = decode(self, n_synapse_types, ff_size, ff_data, max_atoms_per_core)
            words[current[-1]].append(np.asarray(got["weight"], np.int64))
        return ff_data, ff_size

    synaptic_matrix_app.get_synapses = traced_get_synapses
    SynapseDynamicsStatic.get_static_synaptic_data = traced_encode


def _tables(tables) -> dict:
    """Per chip "x,y": its entries in order, each [key, mask, route] (route: SpiNNaker's
    word, bits 0-5 links, 6 up cores)."""
    return {f"{t.x},{t.y}": [[int(e.key), int(e.mask), int(e.spinnaker_route)] for e in t.multicast_routing_entries]
            for t in tables.routing_tables}


def collect(timings: dict) -> tuple[dict, dict]:
    """What sPyNNaker decided, as plain JSON data, from its data view (before ``end``)."""
    from pacman.operations.router_compressors.pair_compressor import pair_compressor
    from spynnaker.pyNN.data import SpynnakerDataView as view
    from spynnaker.pyNN.models.neuron import PopulationVertex

    machine = view.get_machine()
    placements, system, keys = [], [], []
    infos = view.get_routing_infos()
    for pl in view.iterate_placemements():
        v = pl.vertex
        app = v.app_vertex
        if app is not None and app.label is not None and getattr(v, "vertex_slice", None) is not None \
                and type(app).__name__ in ("PopulationVertex", "SpikeSourceArrayVertex", "SpikeSourcePoissonVertex"):
            s = v.vertex_slice
            placements.append([app.label, int(s.lo_atom), int(s.hi_atom), pl.x, pl.y, pl.p])
            if infos.has_info_from(v, "SPIKE"):
                km = infos.get_info_from(v, "SPIKE").key_and_mask
                keys.append([app.label, int(s.lo_atom), int(km.key), int(km.mask)])
        else:
            system.append([str(v.label), pl.x, pl.y, pl.p])
    t0 = time.perf_counter()
    compressed = pair_compressor(accept_overflow=True)
    timings["pair_compressor"] = time.perf_counter() - t0
    populations = {}
    for app in view.iterate_vertices():
        if isinstance(app, PopulationVertex):
            shifts = [int(s) for s in app.get_ring_buffer_shifts()]
            populations[app.label] = {
                "ring_buffer_shifts": shifts, "weight_scales": [float(s) for s in app.get_weight_scales(shifts)],
                "synapse_types": {t: int(app.get_synapse_id_by_target(t)) for t in ("excitatory", "inhibitory")},
                "max_delay_steps_per_core": int(app.splitter.max_support_delay()),
                "global_weight_scale": float(app.weight_scale)}
    info = {"machine": {"width": machine.width, "height": machine.height, "chips": machine.n_chips,
                        "router_entries": int(machine.min_n_router_enteries)},
            "placements": placements, "system_placements": system, "keys": keys,
            "tables_uncompressed": _tables(view.get_uncompressed()), "tables_compressed": _tables(compressed),
            "populations": populations, "seconds": timings}
    return info


def main(argv: list[str]) -> int:
    """``python -m hardware.spinnaker.spynnaker_probe run.py probe.json probe.npz [spikes.npz]`` (module docstring); returns the exit status."""
    script, out_json, out_npz, *spikes = argv  # spikes: where the script saves them (a real board)
    import pyNN.spiNNaker as sim

    words, delays, current, timings, collected = defaultdict(list), defaultdict(list), [], {}, {}
    _observe_encoding(words, delays, current)
    run, end = sim.run, sim.end

    def timed_run(*args, **kwargs):
        t0 = time.perf_counter()
        out = run(*args, **kwargs)
        timings["run"] = time.perf_counter() - t0
        return out

    def collecting_end(*args, **kwargs):
        collected.update(collect(timings))
        return end(*args, **kwargs)

    sim.run, sim.end = timed_run, collecting_end
    sys.argv = [script, "pyNN.spiNNaker", *spikes]
    runpy.run_path(script, run_name="__main__")
    keys = sorted(set(words) | set(delays))
    collected["weight_words"] = [list(k) for k in keys]
    empty = [np.zeros(0, np.int64)]
    np.savez(out_npz, **{f"w{i}": np.concatenate(words.get(k) or empty) for i, k in enumerate(keys)},
             **{f"d{i}": np.concatenate(delays.get(k) or empty) for i, k in enumerate(keys)})
    with open(out_json, "w") as f:
        json.dump(collected, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
