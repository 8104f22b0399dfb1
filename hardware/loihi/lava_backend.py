"""Run a ``LoihiNetwork`` on Lava's Loihi 2 simulator (``Loihi2SimCfg``) and bring the
results back as the core's ``Results``.

Each population becomes a ``LIF`` process, each source a ``RingBuffer`` source process,
each projection a ``Dense`` (or ``Sparse`` when under a quarter of the pairs are
connected) process, or ``DelayDense``/``DelaySparse`` when its delays are not all the
one-step minimum. Spikes are read by ``RingBuffer`` sinks, ``v`` and ``u`` by ``Monitor``s.
``select_tag="fixed_pt"`` runs Lava's bit-accurate models on the quantised integers;
``"floating_pt"`` its floating-point models on the volt values.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from neurosim.results import Results, SpikeTrains, Traces

from .lava_compat import import_lava
from .quantize import LoihiNetwork

__all__ = ["run_lava", "TAGS"]

#: The Lava process-model tags ``run_lava`` runs: Loihi's fixed-point arithmetic or floating point.
TAGS = ("fixed_pt", "floating_pt")
DENSE_ABOVE = 0.25  # connection density from which a projection becomes a Dense process


def _matrix(m: sp.csr_matrix, dense: bool):
    return m.toarray() if dense else m


def run_lava(net: LoihiNetwork, select_tag: str = "fixed_pt", record_spikes=None, record_v=None) -> tuple[Results, dict]:
    """Run ``net`` for ``net.n_steps`` steps in Lava with ``select_tag`` (``"fixed_pt"``
    needs a quantised network). ``record_spikes`` / ``record_v``: populations whose spikes /
    ``v`` and ``u`` to record (default all; reading a recording back from Lava's processes
    costs time in proportion to its size). Returns (``Results``: spikes at ``step * dt``, traces of ``v``/``u`` in V above rest; ``ints``: population
    -> {"spikes": bool (n_steps, size), "v", "u": (n_steps, size) as Lava holds them,
    integers in fixed point}). Raises ``ValueError`` for an unknown tag or an unquantised
    network in fixed point, ``LavaUnavailable`` without Lava."""
    if select_tag not in TAGS:
        raise ValueError(f"select_tag = {select_tag!r} is unknown; choose one of {TAGS}")
    fixed = select_tag == "fixed_pt"
    if fixed and not net.quantized:
        raise ValueError("fixed_pt needs a quantised LoihiNetwork (hardware.loihi.quantize)")
    import_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor
    from lava.proc.sparse.process import DelaySparse, Sparse

    T = net.n_steps
    rec_s, rec_v = net.recorded(record_spikes, record_v)
    procs, sinks, monitors = {}, {}, []
    for p in net.populations:
        if fixed:
            procs[p.name] = LIF(shape=(p.size,), du=p.du_int, dv=p.dv_int, vth=p.vth_mant, bias_mant=p.bias_mant.astype(np.int32),
                                bias_exp=p.bias_exp.astype(np.int32), v=p.v0_int.astype(np.int32), u=0, name=p.name)
        else:
            procs[p.name] = LIF(shape=(p.size,), du=p.du, dv=p.dv, vth=p.vth, bias_mant=p.bias, v=p.v0, u=0.0, name=p.name)
        if p.name in rec_s:
            sinks[p.name] = Sink(shape=(p.size,), buffer=T)
            procs[p.name].s_out.connect(sinks[p.name].a_in)
        if p.name in rec_v:
            for var in ("v", "u"):
                mon = Monitor()
                mon.probe(getattr(procs[p.name], var), T)
                monitors.append((p.name, var, mon))
    for s in net.sources:
        procs[s.name] = Source(data=s.counts.astype(np.int32 if fixed else np.float64))
    conns = []
    for pr in net.projections:
        if pr.learning is not None:  # Lava's learning engine: a LearningDense process that reads the post neurons' spikes
            if not fixed:
                raise ValueError(f"projection {pr.name!r}: learning runs in fixed point only here (select_tag='fixed_pt')")
            from lava.proc.dense.process import LearningDense
            from lava.utils.weightutils import SignMode

            conn = LearningDense(weights=pr.weights_int.toarray().astype(np.int32), weight_exp=pr.weight_exp,
                                 learning_rule=pr.learning.lava_rule(), sign_mode=SignMode.EXCITATORY, name=pr.name)
            procs[pr.pre].s_out.connect(conn.s_in)
            conn.a_out.connect(procs[pr.post].a_in)
            procs[pr.post].s_out.connect(conn.s_in_bap)
            conns.append(conn)
            continue
        w = pr.weights_int if fixed else pr.weights
        dense = w.nnz >= DENSE_ABOVE * w.shape[0] * w.shape[1]
        kw = dict(weights=_matrix(w.astype(np.int32) if fixed else w, dense), name=pr.name)
        if fixed:
            kw["weight_exp"] = pr.weight_exp
        if pr.max_delay > 0:
            delays = _matrix(pr.delays, dense)
            conn = (DelayDense if dense else DelaySparse)(delays=delays, **kw)
        else:
            conn = (Dense if dense else Sparse)(**kw)
        procs[pr.pre].s_out.connect(conn.s_in)
        conn.a_out.connect(procs[pr.post].a_in)
        conns.append(conn)
    anchor = next(iter(procs.values()))
    t0 = time.perf_counter()
    anchor.run(condition=RunSteps(num_steps=T), run_cfg=Loihi2SimCfg(select_tag=select_tag))
    try:
        wall = time.perf_counter() - t0
        ints = {p.name: {} for p in net.populations}
        for name, sink in sinks.items():
            ints[name]["spikes"] = sink.data.get().T.astype(bool)
        for name, var, mon in monitors:
            ints[name][var] = np.asarray(mon.get_data()[name][var]).reshape(T, -1)
        ints["weights"] = {pr.name: np.asarray(conn.weights.get()).astype(np.int64)
                           for pr, conn in zip(net.projections, conns) if pr.learning is not None}
    finally:
        anchor.stop()
    spikes, traces = {}, {}
    for p in net.populations:
        if p.name in rec_s:
            st, ids = np.nonzero(ints[p.name]["spikes"])
            spikes[p.name] = SpikeTrains(p.name, st * net.dt, ids, p.size, T * net.dt)
        if p.name in rec_v:
            div = p.scale if fixed else 1.0
            traces[p.name] = Traces(p.name, (np.arange(T) + 1) * net.dt, np.arange(p.size),
                                    {"v": ints[p.name]["v"] / div, "u": ints[p.name]["u"] / div})
    return Results(spikes, traces, 0.0, T * net.dt, net.dt, wall), ints
