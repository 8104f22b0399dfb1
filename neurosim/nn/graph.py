"""Layers wired as any graph: joins, skip connections and recurrence (NIR's graphs)."""
from __future__ import annotations

import torch


__all__ = ["Graph", "evaluation_order"]


def evaluation_order(edges, source: str) -> tuple[list, set]:
    """The order in which a step evaluates the nodes reachable from ``source``, and the
    recurrent edges: ``(order, back_edges)``. A depth-first walk from ``source`` (successors
    in the order their edges are listed) marks an edge recurrent when it leads back to a node
    still on the walk's path (a cycle); the other edges are acyclic and ``order`` is a
    topological order of them. Within one step every node reads its acyclic inputs of the same
    step, and a recurrent edge carries its source's output of the step before; before the
    first step, the source's output at rest (``Graph``)."""
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    state, post, back = {}, [], set()  # state: 1 on the path, 2 done
    stack = [(source, iter(succ.get(source, [])))]
    state[source] = 1
    while stack:
        node, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            stack.pop()
            state[node] = 2
            post.append(node)
        elif state.get(nxt) == 1:
            back.add((node, nxt))
        elif nxt not in state:
            state[nxt] = 1
            stack.append((nxt, iter(succ.get(nxt, []))))
    return post[::-1], back


class Graph(torch.nn.Module):
    """Layers (``nodes``: name -> module) wired by ``edges`` ``[(from, to), ...]`` from the
    node ``input`` (the model's input, no module) to ``output``: a node's input is the sum
    of its incoming edges (a join), a node may feed several (a branch, a skip connection),
    and edges may close cycles (recurrence), with the one-step semantics of
    ``evaluation_order``. Stateless modules take one step (B, ...) or, wrapped in
    ``neurosim.nn.Lift``, whole sequences; neuron layers (``CubaLIF``, ``LIF``, ``IF``,
    ``LI``) and ``Delay`` (modules with ``stateful = True``) return ``(output, state)`` and keep
    their state across the steps of one call.

    Before the first step a recurrent edge carries its source's output at rest: what it
    gives when the input and every neuron output are zero (an ``Affine``'s bias, as
    snnTorch's recurrent layers give ``W 0 + b`` in their first step). nirtorch's executor, which Norse's
    NIR importer uses, starts a recurrent edge at zero instead: the one first-step
    difference (``hardware.nir.peers.run_norse(..., rest_recurrent=True)`` removes it).

    ``forward(x)`` maps ``x`` (T, B, input shape...) to the ``output`` node's (T, B, ...);
    ``outputs(x)`` gives every node's. Without cycles each node runs on the whole sequence at
    once (as ``Sequential``); with cycles the graph steps one time step at a time.
    Gradients flow through both. Raises ``ValueError`` for edges naming unknown nodes,
    nodes not reachable from ``input``, an ``output`` that is not, and (in ``forward``) a
    node whose module cannot take its input, naming it.
    """

    def __init__(self, nodes: dict, edges, input: str = "input", output: str = "output"):
        super().__init__()
        edges = [(str(a), str(b)) for a, b in edges]
        known = set(nodes) | {input}
        for a, b in edges:
            for end in (a, b):
                if end not in known:
                    raise ValueError(f"edge ({a!r}, {b!r}) names an unknown node {end!r}")
        order, back = evaluation_order(edges, input)
        unreachable = sorted(known - set(order))
        if unreachable:
            raise ValueError(f"nodes {unreachable} are not reachable from the input {input!r}")
        if output not in nodes:
            raise ValueError(f"the output {output!r} is not a node")
        self.names = {}
        for n in nodes:  # ModuleDict keys hold no dots: 'lif1.lif' -> 'lif1_lif' (made unique)
            key = str(n).replace(".", "_") or "_"
            while key in self.names.values():
                key += "_"
            self.names[n] = key
        self.layers = torch.nn.ModuleDict({self.names[n]: m for n, m in nodes.items()})
        self.input, self.output = input, output
        self.order = [n for n in order if n != input]
        self.edges, self.back_edges = edges, frozenset(back)
        self.inputs_of = {n: [a for a, b in edges if b == n] for n in self.order}

    @property
    def recurrent(self) -> bool:
        """Whether the graph has cycles (and so steps one time step at a time)."""
        return bool(self.back_edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outputs(x)[self.output]

    def outputs(self, x: torch.Tensor) -> dict:
        """Every node's output (T, B, ...) by name (the input's under ``input``)."""
        return self._stepwise(x) if self.back_edges else self._sequence(x)

    def _module(self, name):
        return self.layers[self.names[name]]

    def _sequence(self, x):
        out = {self.input: x}
        for n in self.order:
            out[n] = _call(n, self._module(n), _sum([out[a] for a in self.inputs_of[n]]), None, sequence=True)[0]
        return out

    def _rest(self, x0):
        """Each recurrent edge's source output at rest: zero input, zero neuron outputs."""
        now = {self.input: torch.zeros_like(x0)}
        for n in self.order:
            parts = _sum([now[a] for a in self.inputs_of[n] if (a, n) not in self.back_edges])
            module = self._module(n)
            now[n] = torch.zeros_like(parts) if _stateful(module) else _call(n, module, parts, None, False)[0]
        return {a: now[a] for a, _ in self.back_edges}

    def _stepwise(self, x):
        prev, state, seq = self._rest(x[0]), {}, {n: [] for n in (self.input, *self.order)}
        for t in range(x.shape[0]):
            now = {self.input: x[t]}
            for n in self.order:
                parts = [prev[a] if (a, n) in self.back_edges else now[a] for a in self.inputs_of[n]]
                now[n], state[n] = _call(n, self._module(n), _sum(parts), state.get(n), sequence=False)
            for n, v in now.items():
                seq[n].append(v)
            prev = now
        return {n: torch.stack(v) for n, v in seq.items()}


def _stateful(module) -> bool:
    """Neuron layers and ``Delay``: ``(output, state)`` from ``forward(x, state)`` and ``step``."""
    return bool(getattr(module, "stateful", False))


def _sum(parts):
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _call(name, module, x, state, sequence: bool):
    """(output, new state) of ``module`` on ``x``: a sequence (T, B, ...) or one step (B, ...)."""
    from .lift import Lift

    try:
        if _stateful(module):
            return module(x, state) if sequence else module.step(x, state)
        if not sequence and isinstance(module, Lift):
            return module.module(x), None
        if sequence and not isinstance(module, Lift):
            t, b = x.shape[:2]
            y = module(x.reshape(t * b, *x.shape[2:]))
            return y.reshape(t, b, *y.shape[1:]), None
        return module(x), None
    except RuntimeError as exc:
        shape = tuple(x.shape[2:] if sequence else x.shape[1:])
        raise ValueError(f"node {name!r} ({type(module).__name__}) cannot take its input of shape {shape}: "
                         f"{str(exc).splitlines()[0]}") from None
