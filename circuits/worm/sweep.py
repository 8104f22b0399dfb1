"""The worm as a sweep task (``neurosim.sweep``): one whole-worm simulation per parameter
point, scalar metrics out. Importing this module registers it as ``worm``."""
from __future__ import annotations

import numpy as np

from neurosim.sweep import register_task

__all__ = ["worm_point"]

_WORM_RUN = {"params": "kunert", "connectome": "cook2019_herm", "stimulus": "ALML,ALMR,AVM", "depolarization": 10e-3, "start": 0.2,
             "stop": 0.7, "duration": 1.0, "dt": 1e-3, "sample": 0.01}


def worm_point(params: dict) -> dict:
    """Simulate the worm with ``params``: model parameters (``KUNERT2014`` names, SI units)
    and run settings (``params``: the parameter set the model parameters override,
    ``"kunert"`` (Kunert et al.'s, the default), ``"fitted"`` (the shipped fit,
    ``circuits.worm.model.FITTED_PARAMS``) or a JSON file written by ``neurosim fit worm``;
    ``connectome``, ``stimulus`` (comma-separated neuron names, default
    the anterior touch receptors), ``depolarization`` (V), ``start``/``stop``/``duration``/
    ``dt``/``sample`` (s)). Metrics: the stimulated neurons' mean peak depolarisation
    (``stim_peak_mV``), the number of other neurons moved by more than 1 mV
    (``n_responding``), the mean ``|dV|`` over all neurons at the end of the stimulus
    (``mean_abs_dv_mV``), AVA's and AVB's changes then (``AVAL_dv_mV``, ``AVBL_dv_mV``);
    ``traces``: dV (time, neuron) at ``sample`` steps. Unknown parameters and unreadable
    parameter sets raise ``ValueError``."""
    import connectomes
    from neurosim import Simulator, StateMonitor

    from .model import KUNERT2014, build_worm, load_worm_params, stimulate

    unknown = set(params) - set(KUNERT2014) - set(_WORM_RUN) - {"seed"}
    if unknown:
        raise ValueError(f"unknown worm sweep parameters {sorted(unknown)}; model: {sorted(KUNERT2014)}, run: {sorted(_WORM_RUN)}")
    run = {**_WORM_RUN, **{k: v for k, v in params.items() if k in _WORM_RUN}}
    model = {k: float(v) for k, v in params.items() if k in KUNERT2014}
    fit = load_worm_params(run["params"])  # a bad set is refused before the connectome loads
    con = connectomes.load(run["connectome"])
    stim = [s.strip() for s in str(run["stimulus"]).split(",") if s.strip()]
    net = stimulate(build_worm(con, params=fit, **model), stim, start=run["start"], stop=run["stop"], depolarization=run["depolarization"])
    every = max(1, int(round(run["sample"] / run["dt"])))
    res = Simulator(net, dt=run["dt"]).run(run["duration"], [StateMonitor("worm", ("v",), every=every)])
    tr = res.traces["worm"]
    dv = (tr["v"] - net.population("worm").initial_state()["v"][None, :]) * 1e3  # mV
    names = list(con.neurons)
    idx = [names.index(connectomes.normalize_name(s)) for s in stim]
    at = min(int(np.searchsorted(tr.times, run["stop"])), dv.shape[0] - 1)
    others = np.setdiff1d(np.arange(dv.shape[1]), idx)
    return {"stim_peak_mV": float(dv[:, idx].max(0).mean()),
            "n_responding": int((np.abs(dv[:, others]).max(0) > 1.0).sum()),
            "mean_abs_dv_mV": float(np.abs(dv[at]).mean()),
            "AVAL_dv_mV": float(dv[at, names.index("AVAL")]), "AVBL_dv_mV": float(dv[at, names.index("AVBL")]),
            "traces": {"time_s": tr.times, "dv_mV": dv.astype(np.float32)}}


register_task("worm", worm_point)
