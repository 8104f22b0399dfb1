"""Core ``Network`` descriptions to NIR graphs and back.

A population of ``models.CubaLIF`` becomes a NIR ``CubaLIF`` in SI units under the exact
discretisation (``hardware.nir.neurons``): ``tau_mem``, ``tau_syn``, ``r = tau_mem /
c_mem`` (ohm), ``v_leak = v_rest``, ``v_threshold = v_th``, ``v_reset`` (V) and ``w_in =
tau_syn`` so that a spike through a weight ``w`` (A) steps the synaptic current by ``w``,
as in the engine. A source becomes an ``Input``; a projection a ``Linear`` of dense
weights (n_post, n_pre) in A, after a ``Delay`` when its synapses have a delay (a
projection with several delays becomes one branch per delay). NIR's delay and neurosim's
are the same number of seconds: the time beyond the one step every synapse takes, so an
instantaneous NIR edge is neurosim's delay 0 (the next step), as in ``neurosim.nn.to_network``. Every population also feeds an ``Output`` named after it.

What NIR cannot say is kept in node metadata for neurosim's reader and ignored by other
consumers: the refractory period ``t_ref``, initial states, Poisson rates, projection
targets and names. What it cannot say at all is decided in one place, ``NIRBackend``
(``hardware.nir.backend``, the core's ``Backend`` interface): ``NIRBackend(dt).unsupported(net)``
lists every reason (other neuron models, per-neuron parameters, gap junctions, graded or
dynamic synapses, glia, current injections, projections too large to store dense) and
``network_to_nir`` raises them all in one ``NIRConversionError``.

A population whose excitatory and inhibitory currents decay with different time constants
(the CUBA network's 5 and 10 ms) does not fit NIR's ``CubaLIF`` (one synaptic current): it
becomes a ``LIF`` membrane fed by one ``LI`` node per synaptic current (``tau dI/dt = -I +
r S`` with ``r = tau``), the same equations. neurosim reads such an ``LI -> LIF`` group back
as one population (``LI`` nodes feeding only a ``LIF``: the first is the excitatory
current, the second the inhibitory one, unless neurosim's metadata says otherwise).
"""
from __future__ import annotations

import json
import math

import nir
import numpy as np

from neurosim import models
from neurosim.models.base import check_dt
from neurosim.network import Network, PoissonSource, Population, Projection, SpikeSource, check_name, delay_steps

from .biases import bias_currents
from .graph import check_values, inline_subgraphs, read_graph
from .weight_paths import STATELESS, compose, node_shape, weight_paths
from .neurons import NEURON_NODES, NIRConversionError, check_euler_dt, meta_str, neuron_from_nir, same_parameters

__all__ = ["network_to_nir", "network_from_nir", "MAX_DENSE_ENTRIES"]

MAX_DENSE_ENTRIES = 2**25
"""Largest dense weight matrix (entries) written per projection: NIR's weights are dense."""


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def _population_meta(pop: Population) -> dict:
    """What NIR cannot say about a population, for neurosim's reader (``_stored_population``)."""
    meta = {"neurosim_model": json.dumps(pop.model.to_dict()), "neurosim_population": pop.name}
    for var, value in pop.initial.items():
        meta[f"initial_{var}"] = np.broadcast_to(value, (pop.size,)).astype(np.float64)
    return meta


def _stored_population(meta: dict, name: str, n: int) -> Population | None:
    """The population ``_population_meta`` stored, or None when the node has no such metadata."""
    raw = meta_str(meta, "neurosim_model")
    if raw is None:
        return None
    try:
        params = json.loads(raw)
        if not isinstance(params, dict):
            raise ValueError(f"a JSON {type(params).__name__}, not an object of CubaLIF parameters")
        initial = {k[len("initial_"):]: np.asarray(v, np.float64) for k, v in meta.items() if k.startswith("initial_")}
        return Population(meta_str(meta, "neurosim_population", name), models.CubaLIF(**params), n, initial=initial)
    except (TypeError, ValueError) as exc:  # malformed JSON, unknown fields, bad values or names
        raise NIRConversionError(f"node {name!r}: its neurosim metadata (neurosim_model, neurosim_population, initial_*) is "
                                 f"malformed: {exc}") from None


def population_node(pop: Population, tau_syn: float) -> nir.CubaLIF:
    m, n, meta = pop.model, pop.size, _population_meta(pop)
    full = lambda v: np.full(n, float(v))  # noqa: E731
    return nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(m.tau_mem), r=full(m.tau_mem / m.c_mem), v_leak=full(m.v_rest),
                       v_threshold=full(m.v_th), v_reset=full(m.v_reset), w_in=full(tau_syn), metadata=meta)


def membrane_node(pop: Population) -> nir.LIF:
    """The membrane of a population whose two synaptic currents are ``LI`` nodes."""
    m, n, meta = pop.model, pop.size, _population_meta(pop)
    full = lambda v: np.full(n, float(v))  # noqa: E731
    return nir.LIF(tau=full(m.tau_mem), r=full(m.tau_mem / m.c_mem), v_leak=full(m.v_rest), v_threshold=full(m.v_th),
                   v_reset=full(m.v_reset), metadata=meta)


def synapse_node(pop: Population, target: str, tau: float) -> nir.LI:
    """A synaptic current of ``pop`` as NIR's ``LI``: ``tau dI/dt = -I + r S`` with
    ``r = tau``, so a spike through weight ``w`` (A) steps ``I`` by ``w``."""
    n = pop.size
    return nir.LI(tau=np.full(n, tau), r=np.full(n, tau), v_leak=np.zeros(n),
                  metadata={"neurosim_receptor": target, "neurosim_population": pop.name})


def network_to_nir(net: Network, dt: float) -> nir.NIRGraph:
    """The NIR graph of ``net`` (module docstring) for engine step ``dt`` (s), at which every
    delay must be a whole number of steps. Raises ``NIRConversionError`` listing every reason
    of ``NIRBackend(dt).unsupported(net)`` (what NIR cannot express, projections whose dense
    weights would exceed ``MAX_DENSE_ENTRIES``)."""
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt = {dt!r} is invalid: must be the engine's step > 0 in seconds")
    from .backend import NIRBackend  # the backend imports this module

    backend = NIRBackend(dt)
    backend.check(net)  # every reason at once (neurosim.backend)
    sizes = {p.name: p.size for p in (*net.populations, *net.sources)}
    nodes, edges = {}, []
    for src in net.sources:
        meta = {"neurosim_source": src.kind}
        if src.kind == "poisson":
            meta["rate"] = np.broadcast_to(src.rate, (src.size,)).astype(np.float64)
        nodes[safe_name(src.name)] = nir.Input(input_type=np.array([src.size]), metadata=meta)
    entry = {}  # (population, target) -> the node its projections feed
    for pop in net.populations:
        name = safe_name(pop.name)
        targets = sorted({pr.target for pr in net.projections if pr.post == pop.name})
        pop_nodes, pop_edges, pop_entry = backend.neuron_mapping(pop).convert(pop, name, targets)
        nodes.update(pop_nodes)
        edges += pop_edges
        entry.update({(pop.name, t): node for t, node in pop_entry.items()})
        nodes[name + "_output"] = nir.Output(output_type=np.array([pop.size]))
        edges.append((name, name + "_output"))
    for k, pr in enumerate(net.projections):
        n_pre, n_post = sizes[pr.pre], sizes[pr.post]
        i, j = pr.pre_indices(), pr.indices.astype(np.int64)
        steps = delay_steps(pr, dt)  # checks that every delay is a whole number of steps at dt
        # a projection without synapses still has a name and a target: one Linear of zeros keeps it
        for d in (np.unique(steps) if steps.size else np.ones(1, np.int64)):
            sel = steps == d
            w = np.zeros((n_post, n_pre), dtype=pr.weights.dtype)
            np.add.at(w, (j[sel], i[sel]), pr.weights[sel])
            name = f"p{k}_{safe_name(pr.name)}" + (f"_d{int(d)}" if np.unique(steps).size > 1 else "")
            nodes[name] = nir.Linear(weight=w, metadata={"neurosim_projection": pr.name, "target": pr.target})
            head = name
            if d > 1:
                nodes[name + "_delay"] = nir.Delay(delay=np.full(n_pre, (int(d) - 1) * float(dt)))
                edges.append((name + "_delay", name))
                head = name + "_delay"
            edges.append((safe_name(pr.pre), head))
            edges.append((name, entry[pr.post, pr.target]))
    try:
        # nir's type inference starts from Input nodes: a network without sources (CUBA) has none
        return nir.NIRGraph(nodes=nodes, edges=edges, type_check=bool(net.sources),
                            metadata={"neurosim_dt": float(dt)})
    except ValueError as exc:
        raise NIRConversionError(f"nir rejected the graph: {exc}") from exc


IF_THRESHOLD = 20e-3
"""Threshold (V) of the core IF populations that NIR's per-step ``IF`` nodes become (the
membrane counts from 0; NIR's ``v_threshold`` only scales the weights)."""


def _population(name: str, node, dt, euler_dt, reset: str = "hard"):
    """(Population, weight scale per neuron in A per NIR input unit)."""
    meta = node.metadata or {}
    where = f"node {name!r} ({type(node).__name__})"
    if isinstance(node, nir.LIF):  # neurosim writes a population with delta synapses as a LIF
        pop = _stored_population(meta, name, np.size(node.tau))
        if pop is not None and pop.model.tau_syn_e == pop.model.tau_syn_i == 0 and same_parameters(
                node, membrane_node(pop), ("tau", "r", "v_leak", "v_threshold", "v_reset"), rtol=1e-12):
            return pop, np.ones(pop.size)
    pop = _stored_population(meta, name, np.size(node.tau_mem)) if isinstance(node, nir.CubaLIF) else None
    if pop is not None:
        tau = float(np.unique(node.tau_syn)[0])
        fields = ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in")
        if tau in (pop.model.tau_syn_e, pop.model.tau_syn_i) and same_parameters(node, population_node(pop, tau), fields, rtol=1e-12):
            return pop, np.ones(pop.size)
    spec = neuron_from_nir(node, where, dt, euler_dt, rest_above_threshold=True, reset=reset)
    if spec.kind in ("IF", "I"):  # NIR's IF read per step: its input moves the membrane in the step it arrives (delta synapses);
        # the membrane counts from 0 to a threshold of 20 mV (NIR's unit threshold would put a membrane that integrates
        # inhibition without leak beyond SpiNNaker's s16.15 range of +-65.5 V within tens of steps)
        u = spec.neuron
        model = u.replace(tau_syn_e=0.0, tau_syn_i=0.0, v_rest=0.0, v_th=IF_THRESHOLD, v_reset=u.v_reset / u.v_th * IF_THRESHOLD)
        if spec.kind == "I":  # an integrator: the threshold out of reach, as for LI readouts
            model = model.replace(v_th=model.v_rest + 1e3)
        scale = np.broadcast_to(spec.gain, node_shape(node)).reshape(-1) * model.c_mem * IF_THRESHOLD / spec.dt
        return Population(safe_name(name), model, scale.size), scale
    if spec.kind in ("LIF", "LIBox"):  # the input drives the membrane directly: delta synapses
        model = spec.neuron.replace(tau_syn_e=0.0, tau_syn_i=0.0)
        if spec.kind == "LIBox":
            model = model.replace(v_th=model.v_rest + 1e3)
        scale = np.broadcast_to(spec.gain, node_shape(node)).reshape(-1) * spec.amperes_per_unit
        return Population(safe_name(name), model, scale.size), scale
    model = spec.neuron
    scale = np.broadcast_to(spec.gain, np.shape(node.tau_mem)).reshape(-1) * spec.amperes_per_unit
    if spec.kind == "LI":  # a readout: the threshold out of reach, as neurosim.nn.to_network does
        model = model.replace(v_th=model.v_rest + 1e3)
    return Population(safe_name(name), model, scale.size), scale


def _threshold_population(name: str, node, step: float):
    """NIR's ``Threshold`` (``H(x - theta)``, per step, no memory) as a ``models.ThresholdUnit``
    population at ``IF_THRESHOLD``; each neuron's ``theta > 0`` scales its weights."""
    theta = np.asarray(node.threshold, np.float64).reshape(-1)
    if np.any(theta <= 0):
        raise NIRConversionError(f"node {name!r} (Threshold): threshold must be > 0 for every neuron in a core Network (its "
                                 "units spike above a positive threshold); it loads into torch layers with from_nir")
    model = models.ThresholdUnit(v_th=IF_THRESHOLD)
    theta = np.broadcast_to(theta, (int(np.prod(node_shape(node))),))
    return Population(safe_name(name), model, theta.size), model.c_mem * IF_THRESHOLD / (step * theta)


def network_from_nir(graph, dt: float | None = None, euler_dt: float | None = None, sources: dict | None = None,
                     reset: str = "hard") -> Network:
    """The core ``Network`` of a NIR ``graph`` (a ``nir.NIRGraph`` or ``.nir`` path): ``Input``
    nodes become spike sources, neuron nodes populations (``CubaLIF``/``CubaLI``, ``LI``-readout
    ``CubaLIF``, a ``LIF`` fed by ``LI`` synaptic currents; ``LIF`` and ``LI`` nodes whose
    input drives the membrane, CuBa-LIF populations with delta synapses, ``tau_syn = 0``;
    ``Threshold`` nodes ``models.ThresholdUnit`` populations; ``IF`` read per step, as in
    ``from_nir``, becomes a ``models.IF`` population with delta synapses, ``tau_syn = 0``, and a
    threshold of ``IF_THRESHOLD``), and the stateless nodes between two of them (``Linear``,
    ``Affine``, ``Conv1d``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``, ``Flatten``, ``Scale``,
    after at most one ``Delay``) one sparse projection (``weight_paths.compose``), in any
    topology: several into one population are summed, a population may feed itself (a
    recurrent projection, one step like every projection), nested subgraphs are inlined as
    ``from_nir`` does. Biases become constant bias currents (``biases.bias_currents``: exact,
    started when the input first reaches the population). Graphs written by
    ``network_to_nir`` come back exactly.

    ``dt``: the engine step (default: the one the graph was written with); ``euler_dt``:
    read foreign neuron nodes as forward Euler at that step (then also the engine step).
    ``sources``: ``{input node: SpikeSource or PoissonSource}`` to drive the inputs
    (default: silent spike sources, or the Poisson rates neurosim wrote). ``reset``: as in
    ``neuron_from_nir``. Synaptic weights take each population's input scale
    (``NeuronSpec.gain``) in amperes; targets are ``"exc"`` unless neurosim wrote others.
    Every projection takes one step where the exporting library's chain takes none: a
    population ``d`` projections from the input runs ``d`` steps behind it.

    Raises ``NIRConversionError`` naming the node for a ``Threshold`` not above 0, a
    stateless node with several inputs or outputs, a ``Delay`` that is not first or whose
    delays differ between neurons (or are negative or not finite), weights that do not fit
    their two ends, and ``NIRFileError`` for unreadable files. Delays keep NIR's seconds; an
    engine refuses one that is not a whole number of its steps.
    """
    h = check_euler_dt(euler_dt)
    g = inline_subgraphs(read_graph(graph))
    meta = g.metadata or {}
    if dt is None:
        dt = h if h is not None else meta.get("neurosim_dt")
        if dt is None:
            raise NIRConversionError("give the engine step dt (s): the graph was not written by neurosim")
        try:
            dt = check_dt(float(np.asarray(dt, np.float64).reshape(-1)[0]))
        except (TypeError, ValueError, IndexError):
            shown = np.asarray(dt).tolist() if isinstance(dt, (np.ndarray, np.generic)) else dt
            raise NIRConversionError(f"the graph's metadata neurosim_dt = {shown!r} is not a time step > 0 s; give dt") from None
    dt = check_dt(dt)
    nodes, edges = dict(g.nodes), [tuple(e) for e in g.edges]
    pred, succ = {}, {}
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise NIRConversionError(f"edge ({a!r}, {b!r}) names an unknown node")
        pred.setdefault(b, []).append(a)
        succ.setdefault(a, []).append(b)
    pops, scales, srcs, names, receptor = [], {}, [], {}, {}
    sources = dict(sources or {})
    synapses_of = {}  # LIF node -> the LI nodes that feed only it: its synaptic currents
    for name, node in nodes.items():
        if isinstance(node, nir.LIF):
            syn = [p for p in pred.get(name, []) if isinstance(nodes[p], nir.LI) and succ.get(p) == [name]]
            if syn:
                synapses_of[name] = syn
    synapse_nodes = {li for syn in synapses_of.values() for li in syn}
    for name, node in nodes.items():
        where = f"node {name!r} ({type(node).__name__})"
        check_values(node, where)
        if isinstance(node, nir.Input):
            size = int(np.prod(node.input_type["input"]))
            m = node.metadata or {}
            if name in sources:
                src = sources.pop(name)
                if src.size != size:
                    raise NIRConversionError(f"{where}: sources[{name!r}] has {src.size} neurons; the input has {size}")
            elif meta_str(m, "neurosim_source") == "poisson":
                src = PoissonSource(safe_name(name), size, np.asarray(m["rate"], np.float64))
            else:
                src = SpikeSource(safe_name(name), size, np.zeros(0), np.zeros(0, np.int64))
            srcs.append(src)
            names[name] = src.name
        elif name in synapses_of or name in synapse_nodes:
            if name in synapses_of:  # a LIF membrane with LI synaptic currents: one population
                pop, entries = _group_population(name, node, synapses_of[name], nodes, None if h is not None else dt, h, reset)
                pops.append(pop)
                names[name] = pop.name
                for li, (target, scale) in entries.items():
                    scales[li], receptor[li], names[li] = scale, target, pop.name
        elif isinstance(node, nir.Threshold):
            pop, scale = _threshold_population(name, node, h if h is not None else dt)
            pops.append(pop)
            scales[name] = scale
            names[name] = pop.name
        elif isinstance(node, NEURON_NODES):
            pop, scale = _population(name, node, None if h is not None else dt, h, reset)
            pops.append(pop)
            scales[name] = scale
            names[name] = pop.name
        elif not isinstance(node, (nir.Output, nir.Delay, *STATELESS)):
            raise NIRConversionError(f"{where}: a core Network has no element for it (supported: Input, Output, CubaLIF, CubaLI, "
                                     "LIF, LI, IF, I, Threshold, and between them Delay, Linear, Affine, Conv1d, Conv2d, "
                                     "SumPool2d, AvgPool2d, Flatten, Scale)")
    if sources:
        raise NIRConversionError(f"sources {sorted(sources)} name no Input node of the graph")
    groups, biases = {}, {}  # biases: (population, target) -> amperes per step into that synaptic current
    senders = {n for n in names if n not in synapse_nodes}
    paths = weight_paths(nodes, pred, succ, list(scales), senders)
    covered = {n for _, chain, _ in paths for n in chain}
    for name, node in nodes.items():
        if isinstance(node, (*STATELESS, nir.Delay)) and name not in covered:
            raise NIRConversionError(f"node {name!r} ({type(node).__name__}): must lie between an Input or neuron node and the "
                                     f"neuron node it feeds; feeds {succ.get(name, [])}")
    for pre, chain, post in paths:
        where = f"the weights {pre!r} -> {post!r}" if len(chain) != 1 else f"node {chain[0]!r} ({type(nodes[chain[0]]).__name__})"
        delay = 0.0
        if chain and isinstance(nodes[chain[0]], nir.Delay):
            seconds = np.asarray(nodes[chain[0]].delay, np.float64)
            if np.unique(seconds).size != 1 or seconds.flat[0] < 0:
                raise NIRConversionError(f"{where}: its Delay must be one delay >= 0 s for all neurons")
            delay = float(seconds.flat[0])  # NIR's delay is neurosim's: the time beyond the one-step transmission
            chain = chain[1:]
        if not chain:
            raise NIRConversionError(f"node {post!r}: its input {pre!r} reaches it without weights (a Linear, Affine or "
                                     "convolution between them)")
        n_post, n_pre = scales[post].size, int(np.prod(node_shape(nodes[pre])))
        last = nodes[chain[-1]]
        if len(chain) == 1 and isinstance(last, (nir.Linear, nir.Affine)):  # dense weights as written, dtype kept
            w = np.asarray(last.weight)
            bias = np.asarray(last.bias, np.float64) if isinstance(last, nir.Affine) else np.zeros(0)
            if w.shape != (n_post, n_pre):
                raise NIRConversionError(f"{where}: weight shape {w.shape} does not fit {pre!r} -> {post!r}")
            if bias.size and bias.shape != (n_post,):
                raise NIRConversionError(f"{where}: bias has shape {bias.shape}; expected ({n_post},)")
            jj, ii = np.nonzero(w)
            vals = w[jj, ii]
        else:
            m_, bias = compose(nodes, chain, node_shape(nodes[pre]), where)
            if m_.shape != (n_post, n_pre):
                raise NIRConversionError(f"{where}: maps {m_.shape[1]} values to {m_.shape[0]}; {pre!r} -> {post!r} needs "
                                         f"{n_pre} -> {n_post}")
            coo = m_.tocoo()
            jj, ii, vals = coo.row, coo.col, coo.data
            keep = vals != 0
            jj, ii, vals = jj[keep], ii[keep], vals[keep]
        meta_ = nodes[chain[-1]].metadata or {}
        target = receptor.get(post) or meta_str(meta_, "target", "exc")
        label = meta_str(meta_, "neurosim_projection", f"{names[pre]}->{names[post]}:{target}")
        if target not in ("exc", "inh"):
            raise NIRConversionError(f"{where}: metadata target {target!r} is not 'exc' or 'inh'")
        try:
            check_name("projection", label, "projection")
        except ValueError as exc:
            raise NIRConversionError(f"{where}: metadata neurosim_projection: {exc}") from None
        if np.any(bias != 0):
            key = (names[post], target)
            biases[key] = biases.get(key, 0.0) + bias * scales[post]
        if not np.all(scales[post] == 1):
            vals = vals * scales[post][jj].astype(vals.dtype)
        groups.setdefault((label, names[pre], names[post], target), []).append((ii, jj, vals, delay))
    sizes = {**{p.name: p.size for p in pops}, **{s.name: s.size for s in srcs}}
    projs = []
    for (label, pre, post, target), parts in groups.items():
        ii = np.concatenate([p[0] for p in parts])
        projs.append(Projection.from_pairs(pre, post, ii, np.concatenate([p[1] for p in parts]),
                                           np.concatenate([p[2] for p in parts]), sizes[pre],
                                           np.concatenate([np.full(p[0].size, p[3]) for p in parts]), target, name=label))
    if not pops:
        raise NIRConversionError("the graph has no neuron node")
    pops, inputs = bias_currents(pops, srcs, projs, biases, dt)
    return Network(pops, srcs, projs, inputs=inputs)


def _group_population(name: str, lif, synapses: list, nodes: dict, dt, euler_dt, reset: str = "hard"):
    """A population from a ``LIF`` membrane and the ``LI`` synaptic currents feeding it:
    (Population, {LI node: (target, weight scale per neuron)})."""
    where = f"node {name!r} (LIF with synaptic currents {synapses})"
    meta = lif.metadata or {}
    n = int(np.size(lif.tau))
    if len(synapses) > 2:
        raise NIRConversionError(f"{where}: a core population has two synaptic currents (exc, inh), not {len(synapses)}")
    targets = [meta_str(nodes[li].metadata or {}, "neurosim_receptor") or ("exc", "inh")[k] for k, li in enumerate(synapses)]
    if len(set(targets)) != len(targets) or not set(targets) <= {"exc", "inh"}:
        raise NIRConversionError(f"{where}: its synaptic currents are marked {targets}; expected one 'exc' and one 'inh'")
    pop = _stored_population(meta, name, n)
    if pop is not None:
        m = pop.model
        same = same_parameters(lif, membrane_node(pop), ("tau", "r", "v_leak", "v_threshold", "v_reset"), rtol=1e-12) and all(
            same_parameters(nodes[li], synapse_node(pop, t, m.tau_syn_e if t == "exc" else m.tau_syn_i), ("tau", "r", "v_leak"), rtol=1e-12)
            for li, t in zip(synapses, targets))
        if same:
            return pop, {li: (t, np.ones(n)) for li, t in zip(synapses, targets)}
    specs = {}
    for li, t in zip(synapses, targets):
        node = nodes[li]
        if np.any(np.asarray(node.v_leak) != 0):
            raise NIRConversionError(f"node {li!r} (LI): a synaptic current must decay to 0 (v_leak = 0)")
        cuba = nir.CubaLIF(tau_syn=node.tau, tau_mem=lif.tau, r=lif.r, v_leak=lif.v_leak, v_threshold=lif.v_threshold,
                           v_reset=lif.v_reset, w_in=node.r)
        specs[t] = neuron_from_nir(cuba, f"{where}, current {li!r}", dt, euler_dt, rest_above_threshold=True, reset=reset)
    base = specs.get("exc", specs.get("inh"))
    model = base.neuron.replace(tau_syn_e=specs["exc"].neuron.tau_syn_e if "exc" in specs else base.neuron.tau_syn_e,
                                tau_syn_i=specs["inh"].neuron.tau_syn_e if "inh" in specs else base.neuron.tau_syn_e)
    entries = {li: (t, np.broadcast_to(specs[t].gain, (n,)) * specs[t].amperes_per_unit) for li, t in zip(synapses, targets)}
    return Population(safe_name(name), model, n), entries
