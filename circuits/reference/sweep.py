"""The CUBA network as a sweep task (``neurosim.sweep``). Importing this module registers
it as ``cuba``."""
from __future__ import annotations

import numpy as np

from neurosim.sweep import register_task

__all__ = ["cuba_point"]


def cuba_point(params: dict) -> dict:
    """The CUBA network (``n`` neurons, default 4000) with its weights scaled by
    ``w_scale`` (default 1), wiring ``seed`` (default 0), run for ``duration`` s (default
    0.5) at ``dt`` (1e-4). Metrics: mean rate (Hz), the coefficient of variation of the
    population rate in 5 ms bins (``rate_cv``). Unknown parameters raise ``ValueError``."""
    import dataclasses

    from neurosim import Simulator, SpikeMonitor

    from .cuba import cuba_network

    allowed = {"n", "w_scale", "seed", "duration", "dt"}
    if set(params) - allowed:
        raise ValueError(f"unknown cuba sweep parameters {sorted(set(params) - allowed)}; known: {sorted(allowed)}")
    net = cuba_network(int(params.get("n", 4000)), seed=int(params.get("seed", 0)))
    scale = float(params.get("w_scale", 1.0))
    net = dataclasses.replace(net, projections=[dataclasses.replace(p, weights=p.weights * np.float32(scale)) for p in net.projections])
    res = Simulator(net, dt=float(params.get("dt", 1e-4)), seed=int(params.get("seed", 0))).run(
        float(params.get("duration", 0.5)), [SpikeMonitor("cuba")])
    sp = res.spikes["cuba"]
    _, rate = sp.population_rate(5e-3)
    return {"rate_hz": float(sp.mean_rate()), "rate_cv": float(rate.std() / rate.mean()) if rate.mean() > 0 else float("nan")}


register_task("cuba", cuba_point)
