"""Run a NIR graph in the peers that import it, snnTorch (``snntorch.import_from_nir``)
and Norse (``norse.torch.from_nir``), and record every neuron node's spikes and membrane,
for comparison with neurosim.

Both importers turn NIR's ``Flatten`` dimensions into ``torch.nn.Flatten`` dimensions
unchanged, which is right only for inputs without a batch axis, so samples run one at a
time, (T, input shape...) each.
"""
from __future__ import annotations

import contextlib
import io

import nir
import numpy as np
import torch

from .graph import read_graph
from .neurons import SNNTORCH_DT

__all__ = ["run_snntorch", "run_norse", "spike_agreement"]


def _neuron_names(g: nir.NIRGraph) -> list:
    return [n for n, v in g.nodes.items() if isinstance(v, (nir.CubaLIF, nir.LIF, nir.LI, nir.CubaLI, nir.IF))]


def _sanitize(name: str) -> str:
    from nirtorch.nir_interpreter import _sanitize_name

    return _sanitize_name(name)


def run_snntorch(graph, samples) -> dict:
    """Run ``graph`` in snnTorch on ``samples`` (N, T, input shape...), each from rest.
    Returns ``{node: {"spikes": (N, T, ...), "v": (N, T, ...)}}`` for every neuron node;
    ``v`` is the membrane in the graph's units (snnTorch divides the threshold by its input
    scale ``w_in dt / tau_syn`` instead of scaling the input; this undoes it)."""
    import snntorch
    import snntorch.utils
    from snntorch.import_nir import import_from_nir

    g = read_graph(graph)
    with contextlib.redirect_stdout(io.StringIO()):  # its importer prints weight-scaling notes
        model = import_from_nir(g)
    names = _neuron_names(g)
    mods = {n: getattr(model, _sanitize(n)) for n in names}
    scale = {}
    for n in names:
        node = g.nodes[n]
        scale[n] = float(np.unique(node.w_in * SNNTORCH_DT / node.tau_syn)[0]) if isinstance(node, nir.CubaLIF) else \
            float(np.unique(node.r * SNNTORCH_DT / node.tau)[0])

    def record(name, module, out):
        spikes = out[0] if isinstance(out, tuple) else out
        return spikes, module.mem * scale[name]

    def reset():
        snntorch.utils.reset(model)
        for m in mods.values():  # hidden states start from rest for every sample
            m.reset_mem()

    return _record(samples, mods, record, reset, model)


def run_norse(graph, samples, dt: float, reset: str = "hard", rest_recurrent: bool = False) -> dict:
    """Run ``graph`` in Norse (``from_nir(graph, dt=dt)``, with ``reset_method=reset_subtract``
    for ``reset="subtract"``) on ``samples`` (N, T, input shape...), each from rest. Returns
    ``{node: {"spikes": (N, T, ...), "v": (N, T, ...)}}`` for every neuron node (``LI``
    nodes: no spikes, zeros).

    ``rest_recurrent``: seed each recurrent edge that leaves an ``Affine`` with its bias
    before the first step (its output at rest, as snnTorch and ``neurosim.nn.Graph`` give),
    where nirtorch's GraphExecutor, which Norse's importer uses, starts it at zero."""
    import norse.torch as norse
    from norse.torch.functional import reset as norse_reset

    if reset not in ("hard", "subtract"):
        raise ValueError(f"reset = {reset!r} is invalid: 'hard' or 'subtract'")
    method = norse_reset.reset_subtract if reset == "subtract" else norse_reset.reset_value
    g = read_graph(graph)
    with contextlib.redirect_stdout(io.StringIO()), _quiet():
        model = norse.from_nir(g, dt=dt, reset_method=method)
    kinds = {n: type(g.nodes[n]) for n in _neuron_names(g)}

    def record(name, _module, out):
        z, state = out
        if kinds[name] is nir.CubaLIF:  # Norse's wrapper: (spikes, (synapse state, LIF state))
            return z, state[1].v
        if kinds[name] in (nir.LIF, nir.IF):
            return z, state.v
        return torch.zeros_like(z), state.v  # LI: the output is the membrane

    state = [None]

    def step(x):
        _, state[0] = model(x, state[0])

    seed = {}
    if rest_recurrent:
        from neurosim.nn.graph import evaluation_order

        names = {node.name for node in getattr(model, "execution_order", [])}
        source = next(n for n, v in g.nodes.items() if isinstance(v, nir.Input))
        for a, _ in evaluation_order(g.edges, source)[1]:
            if isinstance(g.nodes[a], nir.Affine):  # the executor's cache of a node's last output
                seed[a if a in names else _sanitize(a)] = torch.as_tensor(np.asarray(g.nodes[a].bias), dtype=torch.float32)

    def reset():
        state[0] = None
        if seed:
            from nirtorch.graph_executor import GraphExecutorState

            state[0] = GraphExecutorState(cache=dict(seed))

    return _record(samples, {n: _submodule(model, n) for n in kinds}, record, reset, step)


def _record(samples, modules: dict, record, reset, step) -> dict:
    """Run ``step`` on every time step of every sample (``reset`` before each sample) and
    collect ``record(name, module, output) -> (spikes, v)`` of each neuron module through
    forward hooks: ``{name: {"spikes": (N, T, ...), "v": (N, T, ...)}}``."""
    step_out = {}

    def hook(name):
        def grab(module, _inp, out):
            spikes, v = record(name, module, out)
            step_out[name] = (spikes.detach().clone(), v.detach().clone())
        return grab

    handles = [m.register_forward_hook(hook(n)) for n, m in modules.items()]
    rec = {n: {"spikes": [], "v": []} for n in modules}
    try:
        with torch.no_grad():
            for x in torch.as_tensor(np.asarray(samples), dtype=torch.float32):
                reset()
                per = {n: ([], []) for n in modules}
                for t in range(x.shape[0]):
                    step(x[t])
                    for n in modules:
                        per[n][0].append(step_out[n][0])
                        per[n][1].append(step_out[n][1])
                for n in modules:
                    rec[n]["spikes"].append(torch.stack(per[n][0]).numpy())
                    rec[n]["v"].append(torch.stack(per[n][1]).numpy())
    finally:
        for hd in handles:
            hd.remove()
    return {n: {k: np.stack(v) for k, v in d.items()} for n, d in rec.items()}


def _submodule(model, name):
    for attr in (name, _sanitize(name)):
        try:
            return model.get_submodule(attr)
        except AttributeError:
            continue
    for n, m in model.named_modules():
        if n.split(".")[-1] in (name, _sanitize(name)):
            return m
    raise KeyError(f"Norse's model has no module for node {name!r}")


@contextlib.contextmanager
def _quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def spike_agreement(ours, theirs) -> dict:
    """How far two spike recordings (N, T, ...) of the same neurons agree: ``identical``,
    the fraction of spikes at the same neuron and step, and ``within_one_step``, the
    fraction paired one-to-one at the same neuron at most one step apart (both over the
    larger spike count; 1.0 when neither spikes), with the counts ``n_ours``, ``n_theirs``.
    Raises ``ValueError`` for different shapes."""
    a, b = np.asarray(ours) > 0, np.asarray(theirs) > 0
    if a.shape != b.shape:
        raise ValueError(f"recordings of shapes {a.shape} and {b.shape} cannot be compared")
    t_len = a.shape[1]
    a = np.moveaxis(a.reshape(a.shape[0], t_len, -1), 1, 2).reshape(-1, t_len)
    b = np.moveaxis(b.reshape(b.shape[0], t_len, -1), 1, 2).reshape(-1, t_len)
    total = max(int(a.sum()), int(b.sum()))
    identical = int((a & b).sum())
    paired = 0
    for row in np.nonzero((a != b).any(1))[0]:  # rows that differ: pair greedily within one step
        ta, tb = np.nonzero(a[row])[0], np.nonzero(b[row])[0]
        p = q = 0
        while p < ta.size and q < tb.size:
            if abs(int(ta[p]) - int(tb[q])) <= 1:
                paired, p, q = paired + 1, p + 1, q + 1
            elif ta[p] < tb[q]:
                p += 1
            else:
                q += 1
    paired += int((a & b)[~(a != b).any(1)].sum())
    return {"identical": identical / total if total else 1.0, "within_one_step": paired / total if total else 1.0,
            "n_ours": int(a.sum()), "n_theirs": int(b.sum())}
