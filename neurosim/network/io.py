"""Saving and loading a ``Network`` as ``.npz``, atomically and without pickle; loading reads
only the entries the description asks for, each after checking its declared shape."""
from __future__ import annotations

import json
import math
import os
import zipfile

import numpy as np

from ..atomic import atomic_savez
from ..models import MODELS, PLASTICITY_RULES, SYNAPSE_MODELS
from .elements import GapJunctions, PoissonSource, Population, Projection, SpikeSource
from .glia import AstrocyteGapJunctions, AstrocyteToSynapse, SynapseToAstrocyte
from .inputs import CurrentInjection

__all__ = ["NetworkFileError", "save_network", "load_network"]

_FORMAT_VERSION = 2  # 2: delays in seconds; 1: delays in steps (read with the dt they were made for)
_MAX_META_BYTES = 64 << 20  # the JSON description of a saved network (read before any array)


class NetworkFileError(ValueError):
    """A file that ``Network.load`` cannot read: corrupt, truncated, foreign, or of an
    unsupported format version."""


def save_network(net, path) -> None:
    """Write to ``path`` (``.npz``) atomically, without pickle. Function-valued current
    injections cannot be saved (``ValueError``)."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict = {"format": "neurosim.Network", "version": _FORMAT_VERSION}
    meta["populations"] = []
    for k, p in enumerate(net.populations):
        meta["populations"].append({"name": p.name, "kind": p.model.kind, "params": p.model.to_dict(), "size": p.size,
                                    "initial": sorted(p.initial), "per_neuron": sorted(p.params)})
        for var, val in p.initial.items():
            arrays[f"pop{k}_init_{var}"] = val
        for key, val in p.params.items():
            arrays[f"pop{k}_param_{key}"] = val
    meta["sources"] = []
    for k, s in enumerate(net.sources):
        if isinstance(s, SpikeSource):
            meta["sources"].append({"type": "spikes", "name": s.name, "size": s.size})
            arrays[f"src{k}_times"], arrays[f"src{k}_ids"] = s.times, s.ids
        else:
            meta["sources"].append({"type": "poisson", "name": s.name, "size": s.size})
            arrays[f"src{k}_rate"] = s.rate
    meta["projections"] = []
    for k, pr in enumerate(net.projections):
        syn = None if pr.synapse is None else {"kind": pr.synapse.kind, "params": pr.synapse.to_dict()}
        rule = None if pr.plasticity is None else {"kind": pr.plasticity.kind, "params": pr.plasticity.to_dict()}
        meta["projections"].append({"name": pr.name, "pre": pr.pre, "post": pr.post, "target": pr.target, "e_rev": pr.e_rev,
                                    "synapse": syn, "plasticity": rule})
        for a in ("indptr", "indices", "weights"):
            arrays[f"proj{k}_{a}"] = getattr(pr, a)
        # equal delays are one value (a broadcast view), saved once
        arrays[f"proj{k}_delays"] = pr.delays[:1].copy() if pr.delays.strides == (0,) else pr.delays
    meta["gap_junctions"] = []
    for k, gj in enumerate(net.gap_junctions):
        meta["gap_junctions"].append({"pop_a": gj.pop_a, "pop_b": gj.pop_b})
        arrays[f"gap{k}_i"], arrays[f"gap{k}_j"], arrays[f"gap{k}_g"] = gj.i, gj.j, gj.g
    meta["inputs"] = []
    for k, inj in enumerate(net.inputs):
        if inj.kind == "function":
            raise ValueError(f"current injection #{k} into {inj.target!r} is a Python function and cannot be saved; sample it with CurrentInjection.from_array")
        meta["inputs"].append({"target": inj.target, "start": inj.start, "stop": inj.stop if math.isfinite(inj.stop) else None,
                               "sample_dt": inj.sample_dt, "has_neurons": inj.neurons is not None, "has_values": inj.values is not None})
        arrays[f"inp{k}_amplitude"] = inj.amplitude
        if inj.neurons is not None:
            arrays[f"inp{k}_neurons"] = inj.neurons
        if inj.values is not None:
            arrays[f"inp{k}_values"] = inj.values
    meta["glia"] = []
    for k, link in enumerate(net.glia):
        if isinstance(link, AstrocyteGapJunctions):
            meta["glia"].append({"type": "gap", "astrocytes": link.astrocytes, "F": link.F, "I_Theta": link.I_Theta,
                                 "omega_I": link.omega_I})
            arrays[f"glia{k}_i"], arrays[f"glia{k}_j"] = link.i, link.j
        else:
            entry = {"type": "syn_to_astro" if isinstance(link, SynapseToAstrocyte) else "astro_to_syn",
                     "astrocytes": link.astrocytes, "projection": link.projection}
            entry.update({"normalize": bool(link.normalize)} if isinstance(link, SynapseToAstrocyte) else {"variable": link.variable})
            meta["glia"].append(entry)
            arrays[f"glia{k}_index"] = link.astrocyte_index
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    atomic_savez(path, arrays)


def load_network(path, dt: float | None = None):
    """Read a network written by ``save``. Files of format 1 (before delays were in seconds)
    hold delays in steps: give the ``dt`` (s) they were made for, and a delay of d steps
    becomes (d - 1) dt seconds (the same timing at that dt); without it they are refused
    with a message that says so.

    Raises ``FileNotFoundError`` for a missing file and ``NetworkFileError`` (a
    ``ValueError``) naming the file and what is wrong for everything else: not an
    ``.npz`` archive, damaged compression, missing or mistyped entries, a foreign format
    or an unsupported version, or contents that fail the network's validation.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"network file {path!r} does not exist")
    try:
        return _from_npz(path, dt)
    except NetworkFileError:
        raise
    except Exception as exc:  # damaged bytes surface as zlib, zipfile, json, numpy, Key/Type errors...: one error type
        raise NetworkFileError(f"{path!r} is not a readable neurosim network file: {type(exc).__name__}: {exc}") from exc


def _from_npz(path: str, dt: float | None):
    def fail(what):
        return NetworkFileError(f"{path!r} is not a readable neurosim network file: {what}")

    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise fail(f"not an .npz archive (corrupt or truncated?): {exc}") from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise fail("a single .npy array, not an .npz archive (corrupt or truncated?)")
    with z:
        return _from_archive(z, fail, dt)

def _from_archive(z, fail, dt: float | None):
    from .description import Network

    """The network in the open ``NpzFile`` ``z``. Every array is read lazily, only when
    the description asks for it, and only after its declared shape (from the ``.npy``
    header, before decompression) fits what the network needs; entries that are not
    part of the format are refused unread (no decompression bombs)."""
    used = {"__meta__"}

    def declared(key):
        if key not in z.files:
            return None
        with z.zip.open(key + ".npy") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise fail(f"array {key!r} has .npy format version {version}; expected 1.0 or 2.0")
        return tuple(shape), dtype

    def arr(key, shapes=None, optional=False):
        """Array ``key`` after checking its declared shape against ``shapes`` (a list of
        allowed shapes, None entries matching any length; None: any 1-D shape)."""
        head = declared(key)
        if head is None:
            if optional:
                return None
            raise fail(f"array {key!r} is missing")
        shape, dtype = head
        allowed = shapes if shapes is not None else [(None,)]
        if not any(len(a) == len(shape) and all(x is None or x == y for x, y in zip(a, shape)) for a in allowed):
            want = " or ".join(str(tuple("n" if x is None else x for x in a)) for a in allowed)
            raise fail(f"array {key!r} declares shape {shape}; the network needs {want} (refused before reading it)")
        used.add(key)
        return z[key]

    meta_head = declared("__meta__")
    if meta_head is None:
        raise fail("no '__meta__' entry (not written by Network.save)")
    if len(meta_head[0]) != 1 or meta_head[1] != np.uint8 or meta_head[0][0] > _MAX_META_BYTES:
        raise fail(f"'__meta__' declares {meta_head[1]} of shape {meta_head[0]}; expected at most {_MAX_META_BYTES:,} bytes")
    meta = json.loads(bytes(z["__meta__"]).decode())
    if not isinstance(meta, dict):
        raise fail(f"'__meta__' holds a JSON {type(meta).__name__}, expected an object")
    if meta.get("format") == "neurosim.Network" and meta.get("version") == 1:
        if dt is None:
            raise fail("it was saved before delays were in seconds (format 1: delays in steps); load it with "
                       "Network.load(path, dt=...) giving the time step it was made for, then save it again")
        from ..models.base import check_dt

        dt = check_dt(dt)
    elif meta.get("format") != "neurosim.Network" or meta.get("version") != _FORMAT_VERSION:
        raise fail(f"unsupported format {meta.get('format')!r} version {meta.get('version')!r} "
                   f"(this neurosim reads 'neurosim.Network' version {_FORMAT_VERSION})")

    def seconds(delays):
        """Delays as stored: seconds (format 2) or steps at ``dt`` (format 1)."""
        if meta.get("version") == 1:
            steps = np.asarray(delays)
            if steps.size and (steps.min() < 1 or np.any(steps != np.round(steps))):
                raise fail(f"format-1 delays must be whole numbers of steps >= 1, got {steps.min()}")
            return (steps.astype(np.float64) - 1) * dt
        return delays

    def entries(key):
        items = meta.get(key, [] if key == "glia" else None)
        if not isinstance(items, list) or not all(isinstance(m, dict) for m in items):
            raise fail(f"meta {key!r} must be a list of objects, got {type(items).__name__}")
        return items

    def size_of(where, m):
        n = m.get("size")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise fail(f"{where}: size = {n!r} is invalid: must be an integer >= 1")
        return n

    def same_length(*keys):
        """Read 1-D arrays that must have one length, checking it before reading any."""
        heads = [declared(k) for k in keys]
        lengths = {h[0] for h in heads if h is not None}
        if len(lengths) > 1:
            raise fail(f"arrays {list(keys)} declare shapes {sorted(lengths)}; they must have one length")
        return [arr(k) for k in keys]

    pops, sizes = [], {}
    for k, m in enumerate(entries("populations")):
        if m.get("kind") not in MODELS:
            raise fail(f"population #{k}: unknown neuron model {m.get('kind')!r}; known: {sorted(MODELS)}")
        n = size_of(f"population #{k}", m)
        init = {var: arr(f"pop{k}_init_{var}", [(), (n,)]) for var in m["initial"]}
        het = {key: arr(f"pop{k}_param_{key}", [(n,)]) for key in m.get("per_neuron", [])}
        pops.append(Population(m["name"], MODELS[m["kind"]](**m["params"]), n, init, het))
        sizes[pops[-1].name] = n
    srcs = []
    for k, m in enumerate(entries("sources")):
        n = size_of(f"source #{k}", m)
        if m.get("type") == "spikes":
            srcs.append(SpikeSource(m["name"], n, *same_length(f"src{k}_times", f"src{k}_ids")))
        elif m.get("type") == "poisson":
            srcs.append(PoissonSource(m["name"], n, arr(f"src{k}_rate", [(), (n,)])))
        else:
            raise fail(f"source #{k}: unknown type {m.get('type')!r} (spikes or poisson)")
        sizes[srcs[-1].name] = n

    def synapse(m):
        syn = m.get("synapse")
        if syn is None:
            return None
        if syn.get("kind") not in SYNAPSE_MODELS:
            raise fail(f"projection {m.get('name')!r}: unknown synapse model {syn.get('kind')!r}; known: {sorted(SYNAPSE_MODELS)}")
        return SYNAPSE_MODELS[syn["kind"]](**syn["params"])

    def plasticity(m):
        rule = m.get("plasticity")
        if rule is None:
            return None
        if rule.get("kind") not in PLASTICITY_RULES:
            raise fail(f"projection {m.get('name')!r}: unknown learning rule {rule.get('kind')!r}; known: {sorted(PLASTICITY_RULES)}")
        return PLASTICITY_RULES[rule["kind"]](**rule["params"])

    projs, n_syn = [], {}
    for k, m in enumerate(entries("projections")):
        if m.get("pre") not in sizes:
            raise fail(f"projection #{k}: unknown pre {m.get('pre')!r}; known: {sorted(sizes)}")
        indptr = arr(f"proj{k}_indptr", [(sizes[m["pre"]] + 1,)])
        n = int(indptr[-1])
        projs.append(Projection(m["pre"], m["post"], indptr, arr(f"proj{k}_indices", [(n,)]), arr(f"proj{k}_weights", [(n,)]),
                                seconds(arr(f"proj{k}_delays", [(), (1,), (n,)])), m["target"], m["e_rev"], m["name"],
                                synapse(m), plasticity(m)))
        n_syn[projs[-1].name] = n
    glia = []
    for k, m in enumerate(entries("glia")):
        if m.get("type") == "gap":
            glia.append(AstrocyteGapJunctions(m["astrocytes"], *same_length(f"glia{k}_i", f"glia{k}_j"), m["F"], m["I_Theta"],
                                              m["omega_I"]))
            continue
        if m.get("projection") not in n_syn:
            raise fail(f"glia #{k}: unknown projection {m.get('projection')!r}; known: {sorted(n_syn)}")
        index = arr(f"glia{k}_index", [(n_syn[m["projection"]],)])
        if m.get("type") == "syn_to_astro":
            glia.append(SynapseToAstrocyte(m["projection"], m["astrocytes"], index, m["normalize"]))
        elif m.get("type") == "astro_to_syn":
            glia.append(AstrocyteToSynapse(m["astrocytes"], m["projection"], index, m["variable"]))
        else:
            raise fail(f"glia #{k}: unknown type {m.get('type')!r} (gap, syn_to_astro or astro_to_syn)")
    gaps = []
    for k, m in enumerate(entries("gap_junctions")):
        i, j = same_length(f"gap{k}_i", f"gap{k}_j")
        gaps.append(GapJunctions(m["pop_a"], m["pop_b"], i, j, arr(f"gap{k}_g", [(), (i.size,)])))
    inps = []
    for k, m in enumerate(entries("inputs")):
        if m.get("target") not in sizes:
            raise fail(f"input #{k}: unknown target population {m.get('target')!r}; known: {sorted(sizes)}")
        neurons = arr(f"inp{k}_neurons", optional=True)
        n = sizes[m["target"]] if neurons is None else neurons.size
        stop = m["stop"]
        inps.append(CurrentInjection(m["target"], arr(f"inp{k}_amplitude", [(), (n,)]), neurons, m["start"],
                                     math.inf if stop is None else stop,
                                     arr(f"inp{k}_values", [(None,), (None, n)], optional=True), m["sample_dt"]))
    unexpected = sorted(set(z.files) - used)
    if unexpected:
        shown = ", ".join(repr(u) for u in unexpected[:5]) + (" ..." if len(unexpected) > 5 else "")
        raise fail(f"{len(unexpected)} entries that are not part of the format ({shown}); refused without reading them")
    return Network(tuple(pops), tuple(srcs), tuple(projs), tuple(gaps), tuple(inps), tuple(glia))
