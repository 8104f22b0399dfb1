"""Export a core ``Network`` as a PyNN script that runs unchanged on sPyNNaker (the tool
chain of the real SpiNNaker machine) and on any other PyNN back end.

``export_pynn`` writes two files into a folder: ``network.npz`` (the connection lists,
spike times and initial voltages, plain arrays, no pickle) and ``run.py``, a PyNN 0.9+
script using standard cell types only: ``IF_curr_exp`` for ``CubaLIF`` populations,
``SpikeSourceArray`` for spike sources, ``SpikeSourcePoisson`` for Poisson sources, and
``FromListConnector`` projections with per-synapse weights (nA) and delays (ms) onto the
``excitatory`` or ``inhibitory`` receptor. Run it as::

    python run.py                       # pyNN.spiNNaker (on a SpiNNaker machine)
    python run.py pyNN.brian2 spikes.npz # any PyNN back end; writes the spikes there

Units: PyNN's (ms, mV, nF, nA); neurosim's SI values are converted. PyNN's current-based
synapses take inhibitory weights as negative numbers on the ``inhibitory`` receptor (as
``pyNN.brian2`` and ``pyNN.nest`` do; sPyNNaker accepts them and warns about the sign).
What PyNN's standard cells can express, and the cell type of each neuron model (by its
``kind``), is ``pynn_backend.PyNNBackend``'s.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from neurosim.atomic import atomic_savez, atomic_write_text, check_output_path
from neurosim.network import Network, delay_steps, spike_steps
from neurosim.runlock import folder_lock

__all__ = ["export_pynn"]


_SCRIPT = '''"""PyNN script exported by neurosim (hardware.spinnaker.export_pynn): {summary}.

    python run.py                        # on SpiNNaker (pyNN.spiNNaker)
    python run.py pyNN.brian2 spikes.npz # on another PyNN back end, spikes saved to spikes.npz
"""
import importlib
import os
import sys

import numpy as np

backend = sys.argv[1] if len(sys.argv) > 1 else "pyNN.spiNNaker"
sim = importlib.import_module(backend)
data = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "network.npz"), allow_pickle=False)

sim.setup(timestep={dt_ms!r})
pops = {{}}
{populations}
{projections}
for p in pops.values():
    p.record("spikes")
sim.run({duration_ms!r})
if len(sys.argv) > 2:
    out = {{}}
    for name, p in pops.items():
        trains = p.get_data("spikes").segments[0].spiketrains
        out[name + "__times_ms"] = np.concatenate([np.asarray(t.magnitude, float) for t in trains]) if trains else np.zeros(0)
        out[name + "__ids"] = np.concatenate([np.full(len(t), k) for k, t in enumerate(trains)]) if trains else np.zeros(0, int)
    np.savez(sys.argv[2], **out)
sim.end()
'''


def export_pynn(network: Network, folder, duration: float, dt: float, delay_shift_steps: int = 0,
                simulator: str = "pyNN.brian2") -> Path:
    """Write ``run.py`` and ``network.npz`` for ``network`` run ``duration`` s at time step
    ``dt`` s into ``folder`` (created). Returns the script's path.

    Delays: neurosim's engine adds an arriving spike to the synaptic current before the
    step's update, so a synapse that takes d steps (``neurosim.network.delay_steps``: a
    delay of (d - 1) dt seconds) is a current onset d x dt after the spike, PyNN's
    definition of a delay of d x dt, and the export writes that. Brian2 (and so
    ``pyNN.brian2``) applies arrivals after the state update of their step, one step later;
    ``delay_shift_steps=-1`` makes
    the exported script reproduce neurosim's timing there.

    Names (validated by the ``Network``: ``neurosim.network.NAME_RULES``) and array keys
    reach the script only as Python string literals (``repr``), never as code. Raises
    ``neurosim.backend.UnsupportedNetwork`` (a ``ValueError``) listing everything PyNN's
    standard cells cannot express (other neuron models, graded or dynamic synapses, gap
    junctions, astrocytes, time-varying current injections, shifted delays under one step;
    for ``simulator="pyNN.spiNNaker"`` also weights whose sign the receptor would flip),
    ``ValueError`` for a ``dt`` or ``duration`` that is not a finite time > 0 s (or a
    duration under one step); ``NotADirectoryError`` when ``folder`` or one of its parents is
    a file."""
    for what, value in (("dt", dt), ("duration", duration)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value) \
                or value <= 0:
            raise ValueError(f"{what} = {value!r} is invalid: must be a finite time > 0 s")
    if duration < dt:
        raise ValueError(f"duration = {duration} s is shorter than one step (dt = {dt} s)")
    from .pynn_backend import PyNNBackend  # the backend imports this module

    backend = PyNNBackend(dt, simulator=simulator, delay_shift_steps=int(delay_shift_steps))
    backend.check(network)  # every reason at once (neurosim.backend), the simulator's own included
    folder = check_output_path(folder, folder=True)
    arrays, pop_lines, proj_lines = {}, [], []
    for src in network.sources:
        # every name and key reaches the script as a Python literal (repr), never as code
        name = src.name
        if src.kind == "spikes":
            # one spike per neuron and step, at the step's start (the core's engine merges
            # spikes within a step; Brian2 refuses them)
            pairs = np.unique(np.column_stack([src.ids, spike_steps(src.times, dt)]), axis=0)
            arrays[f"{name}__times_ms"] = pairs[:, 1] * dt * 1e3
            arrays[f"{name}__ids"] = pairs[:, 0]
            # PyNN reads a list of lists as one train per neuron, but a single neuron's train
            # must be a flat list (pyNN.brian2 fails on [[...]] for a population of one)
            trains = "sorted(_t.tolist())" if src.size == 1 else f"[sorted(_t[_i == k].tolist()) for k in range({src.size})]"
            pop_lines.append(
                f'_t, _i = data[{name + "__times_ms"!r}], data[{name + "__ids"!r}]\n'
                f'pops[{name!r}] = sim.Population({src.size}, sim.SpikeSourceArray(spike_times={trains}), label={name!r})')
        elif src.kind == "poisson":
            rate = np.broadcast_to(np.asarray(src.rate, float), (src.size,))
            arrays[f"{name}__rate"] = rate
            pop_lines.append(f'pops[{name!r}] = sim.Population({src.size}, sim.SpikeSourcePoisson(rate=data[{name + "__rate"!r}]), '
                             f'label={name!r})')
    offsets = {}
    for pop in network.populations:
        cell, params = backend.neuron_mapping(pop).convert(pop)
        i_offset = np.zeros(pop.size)
        for i in (i for i in network.inputs if i.target == pop.name):  # constant (checked): PyNN's i_offset
            idx = np.arange(pop.size) if i.neurons is None else i.neurons
            i_offset[idx] += np.broadcast_to(i.amplitude, idx.shape) * 1e9
        arrays[f"{pop.name}__v0"] = pop.initial_state()["v"] * 1e3
        arrays[f"{pop.name}__i_offset"] = i_offset
        args = ", ".join(f"{k}={float(v)!r}" for k, v in params.items())
        name = pop.name
        pop_lines.append(f'pops[{name!r}] = sim.Population({pop.size}, sim.{cell}({args}, '
                         f'i_offset=data[{name + "__i_offset"!r}]), initial_values={{"v": data[{name + "__v0"!r}]}}, '
                         f'label={name!r})')
        offsets[pop.name] = pop
    for k, pr in enumerate(network.projections):
        steps = delay_steps(pr, dt) + int(delay_shift_steps)
        conn = np.column_stack([pr.pre_indices(), pr.indices, pr.weights.astype(np.float64) * 1e9, steps * dt * 1e3])
        arrays[f"proj{k}"] = conn
        receptor = "excitatory" if pr.target == "exc" else "inhibitory"
        proj_lines.append(f'sim.Projection(pops[{pr.pre!r}], pops[{pr.post!r}], sim.FromListConnector(data["proj{k}"]), '
                          f'receptor_type={receptor!r}, label={pr.name!r})')
    summary = (f"{len(network.populations)} population(s), {len(network.sources)} source(s), "
               f"{sum(p.n_synapses for p in network.projections)} synapses, {duration * 1e3:g} ms at {dt * 1e3:g} ms")
    script = _SCRIPT.format(summary=summary, dt_ms=dt * 1e3, duration_ms=duration * 1e3, populations="\n".join(pop_lines),
                            projections="\n".join(proj_lines))
    with folder_lock(folder):  # one writer: run.py and network.npz must come from the same export
        atomic_savez(folder / "network.npz", arrays)
        atomic_write_text(folder / "run.py", script)
    return folder / "run.py"
