"""Validation of a ``Network``: names from documented character sets, numeric arrays, and the
checks across elements that ``Network`` runs on construction."""
from __future__ import annotations

import re

import numpy as np

from ..models import MODELS

__all__ = ["NAME_RULES", "check_name", "check_size", "float_array", "int_array", "validate_network", "check_glia"]

_NAME_PATTERNS = {
    "node": re.compile(r"[A-Za-z0-9_-]{1,128}"),
    "projection": re.compile(r"[A-Za-z0-9_.:>-]{1,256}"),
}
NAME_RULES = {
    "node": "1 to 128 ASCII letters, digits, '_' or '-'",
    "projection": "1 to 256 ASCII letters, digits, '_', '-', '.', ':' or '>' (the default is 'pre->post:target')",
}
"""The documented character sets of names: populations and sources (``"node"``) and
projections. Names end up in files, plots and generated scripts (the PyNN export), so
nothing outside these sets is accepted, wherever a name comes from (code, ``Network.load``,
a NIR file's metadata)."""


def check_name(kind: str, name, rule: str = "node") -> str:
    """``name`` if it is a valid name of a ``kind`` element under ``rule`` (``"node"`` or
    ``"projection"``, see ``NAME_RULES``); else ``ValueError`` saying what is allowed."""
    if not isinstance(name, str) or not _NAME_PATTERNS[rule].fullmatch(name):
        shown = name if not isinstance(name, str) or len(name) <= 80 else name[:80] + "..."
        raise ValueError(f"{kind} name {shown!r} is invalid: use {NAME_RULES[rule]}")
    return name


def check_size(kind: str, name: str, size) -> int:
    """``size`` as an int; ``ValueError`` naming the ``kind`` and ``name`` unless it is an integer >= 1."""
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{kind} {name!r}: size = {size!r} is invalid: must be an integer >= 1")
    return int(size)


def float_array(where: str, what: str, values, dtype=np.float64) -> np.ndarray:
    """``values`` as an array of ``dtype``; ``ValueError`` naming ``where`` and ``what`` for non-numeric or non-finite values (with the first bad index)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{where}: {what} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(dtype, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise ValueError(f"{where}: {what} contains {arr[tuple(first)]} at index {tuple(int(i) for i in first)}; all values must be finite")
    return arr


def int_array(where: str, what: str, values) -> np.ndarray:
    """``values`` as an int64 array (whole floats accepted); ``ValueError`` naming ``where`` and ``what`` otherwise."""
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{where}: {what} must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def validate_network(net) -> None:
    """The checks of a ``Network`` across its elements (``Network.__post_init__``): see the
    class docstring for what raises."""
    from .elements import GapJunctions, PoissonSource, Population, Projection, SpikeSource
    from .inputs import CurrentInjection

    names: dict = {}
    for p in net.populations:
        if not isinstance(p, Population):
            raise ValueError(f"populations must be Population objects, got {type(p).__name__}")
    for s in net.sources:
        if not isinstance(s, (SpikeSource, PoissonSource)):
            raise ValueError(f"sources must be SpikeSource or PoissonSource objects, got {type(s).__name__}")
    for node in (*net.populations, *net.sources):
        if node.name in names:
            raise ValueError(f"duplicate population/source name {node.name!r}")
        names[node.name] = node
    if not net.populations:
        raise ValueError("a Network needs at least one Population")
    pops = {p.name: p for p in net.populations}
    seen = set()
    for pr in net.projections:
        if not isinstance(pr, Projection):
            raise ValueError(f"projections must be Projection objects, got {type(pr).__name__}")
        where = f"projection {pr.name!r}"
        if pr.name in seen:
            raise ValueError(f"duplicate projection name {pr.name!r}")
        seen.add(pr.name)
        if pr.pre not in names:
            raise ValueError(f"{where}: unknown pre {pr.pre!r}; known: {sorted(names)}")
        if pr.post not in pops:
            raise ValueError(f"{where}: unknown post population {pr.post!r}; known: {sorted(pops)}")
        pre, post = names[pr.pre], pops[pr.post]
        if pr.n_pre != pre.size:
            raise ValueError(f"{where}: indptr has {pr.n_pre + 1} entries; {pr.pre!r} has {pre.size} neurons, so it needs {pre.size + 1}")
        if pr.n_synapses and (pr.indices.min() < 0 or pr.indices.max() >= post.size):
            bad = pr.indices[(pr.indices < 0) | (pr.indices >= post.size)][0]
            raise ValueError(f"{where}: postsynaptic index {bad} out of range 0..{post.size - 1} of {pr.post!r}")
        if getattr(pr, "plasticity", None) is not None:
            rule = type(pr.plasticity).__name__
            for end, node in (("pre", pre), ("post", post)):
                if not getattr(node, "spiking", True) or getattr(getattr(node, "model", None), "glial", False):
                    raise ValueError(f"{where}: a learning rule ({rule}) is driven by the spikes of both sides; {end} "
                                     f"{node.name!r} ({type(node.model).__name__}) emits no spikes that a synapse sees")
        if pr.target == "graded":
            if getattr(pre, "spiking", True) or post.spiking:
                raise ValueError(f"{where}: graded projections connect graded (non-spiking) populations; {pr.pre!r} -> {pr.post!r} is not graded -> graded")
        else:
            if not getattr(pre, "spiking", True):
                raise ValueError(f"{where}: {pr.pre!r} does not spike; use target='graded' for graded neurons")
            if not post.spiking:
                raise ValueError(f"{where}: {pr.post!r} is graded; current-based targets 'exc'/'inh' need a spiking post population")
            if getattr(getattr(pre, "model", None), "glial", False):
                raise ValueError(f"{where}: astrocytes {pr.pre!r} do not send spikes through projections; "
                                 "gliotransmission reaches synapses through an AstrocyteToSynapse link")
            if pr.target not in post.model.synaptic_targets:
                raise ValueError(f"{where}: {pr.post!r} ({type(post.model).__name__}) takes targets "
                                 f"{list(post.model.synaptic_targets)} only, got {pr.target!r}"
                                 + (" (astrocytes sense neurotransmitter through 'exc')" if post.model.glial else ""))
    for gj in net.gap_junctions:
        if not isinstance(gj, GapJunctions):
            raise ValueError(f"gap_junctions must be GapJunctions objects, got {type(gj).__name__}")
        for popname, idx in ((gj.pop_a, gj.i), (gj.pop_b, gj.j)):
            if popname not in pops:
                raise ValueError(f"gap junctions: unknown population {popname!r}; known: {sorted(pops)}")
            if pops[popname].model.glial:
                raise ValueError(f"gap junctions {gj.pop_a}<->{gj.pop_b}: {popname!r} are astrocytes; couple them with AstrocyteGapJunctions (IP3 diffusion)")
            if idx.size and (idx.min() < 0 or idx.max() >= pops[popname].size):
                raise ValueError(f"gap junctions {gj.pop_a}<->{gj.pop_b}: index {idx[(idx < 0) | (idx >= pops[popname].size)][0]} out of range 0..{pops[popname].size - 1} of {popname!r}")
    for inj in net.inputs:
        if not isinstance(inj, CurrentInjection):
            raise ValueError(f"inputs must be CurrentInjection objects, got {type(inj).__name__}")
        if inj.target not in pops:
            raise ValueError(f"current injection: unknown population {inj.target!r}; known: {sorted(pops)}")
        n = pops[inj.target].size
        idx = inj.neurons if inj.neurons is not None else np.arange(n)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"current injection into {inj.target!r}: neuron {idx[(idx < 0) | (idx >= n)][0]} out of range 0..{n - 1}")
        m = idx.size
        if inj.amplitude.ndim == 1 and inj.amplitude.size != m:
            raise ValueError(f"current injection into {inj.target!r}: amplitude has {inj.amplitude.size} values for {m} neurons")
        if inj.values is not None and inj.values.ndim == 2 and inj.values.shape[1] != m:
            raise ValueError(f"current injection into {inj.target!r}: values has {inj.values.shape[1]} columns for {m} neurons")

    check_glia(net, pops)


def check_glia(net, pops) -> None:
    """The checks of a network's glia links (``SynapseToAstrocyte``, ``AstrocyteToSynapse``, ``AstrocyteGapJunctions``) against its populations ``pops`` and projections; ``ValueError`` naming the link."""
    from .glia import GLIA, AstrocyteGapJunctions, AstrocyteToSynapse

    projs = {pr.name: pr for pr in net.projections}
    linked = set()
    for link in net.glia:
        if not isinstance(link, GLIA):
            raise ValueError(f"glia must be SynapseToAstrocyte, AstrocyteToSynapse or AstrocyteGapJunctions objects, got {type(link).__name__}")
        kind = type(link).__name__
        if link.astrocytes not in pops:
            raise ValueError(f"{kind}: unknown astrocyte population {link.astrocytes!r}; known: {sorted(pops)}")
        astro = pops[link.astrocytes]
        if not astro.model.glial:
            raise ValueError(f"{kind}: population {link.astrocytes!r} is {type(astro.model).__name__}, not an astrocyte population "
                             f"(a model with glial = True: {sorted(k for k, m in MODELS.items() if m.glial)})")
        if isinstance(link, AstrocyteGapJunctions):
            for idx in (link.i, link.j):
                if idx.size and (idx.min() < 0 or idx.max() >= astro.size):
                    raise ValueError(f"{kind} of {link.astrocytes!r}: index {idx[(idx < 0) | (idx >= astro.size)][0]} out of range 0..{astro.size - 1}")
            continue
        where = f"{kind} {link.astrocytes!r} / {link.projection!r}"
        if link.projection not in projs:
            raise ValueError(f"{where}: unknown projection {link.projection!r}; known: {sorted(projs)}")
        pr = projs[link.projection]
        if pr.synapse is None:
            raise ValueError(f"{where}: projection {pr.name!r} has static synapses; astrocyte links need a dynamic synapse "
                             "model (Projection(..., synapse=TripartiteSynapse()))")
        if (kind, pr.name) in linked:
            raise ValueError(f"{where}: projection {pr.name!r} has two {kind} links; give one with an index per synapse")
        linked.add((kind, pr.name))
        idx = link.astrocyte_index
        if idx.size != pr.n_synapses:
            raise ValueError(f"{where}: astrocyte_index has {idx.size} entries; projection {pr.name!r} has {pr.n_synapses} synapses (one entry each, -1 for none)")
        if idx.size and (idx.min() < -1 or idx.max() >= astro.size):
            raise ValueError(f"{where}: astrocyte index {idx[(idx < -1) | (idx >= astro.size)][0]} out of range -1..{astro.size - 1}")
        if not np.any(idx >= 0):
            raise ValueError(f"{where}: links no synapse to any astrocyte (every index is -1); drop the link or connect it")
        if isinstance(link, AstrocyteToSynapse) and link.variable not in astro.model.state_vars:
            raise ValueError(f"{where}: variable {link.variable!r} is not a state variable of {type(astro.model).__name__} ({list(astro.model.state_vars)})")
