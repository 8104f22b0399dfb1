"""The NIR paper's one-neuron LIF experiment (Pedersen et al. 2024, Nat. Commun. 15:8122,
Fig. 3; ``paper/01_lif`` of the NIR repository): one LIF neuron (tau = 2.5 ms, threshold
0.1, reset by subtraction) driven by a fixed pattern of one-step current pulses, 1000 steps of
0.1 ms. ``lif_exact.csv`` is the exact event-driven solution (``lif_exact_sim.py``: the
membrane integrated in closed form between events, reset at the exact crossing time);
``lif_norse.csv`` and ``lif_lava_loihi_fixed.csv`` are Norse's and Loihi 2's runs of the
same graph. Columns: input pulse (0/1), membrane, output spike (0/1); row k is the end of
step k.

neurosim reads the graph with the exact discretisation at dt = 0.1 ms and
``reset="subtract"``: a pulse held over a step gives exactly the closed-form jump, so the
membrane agrees with the exact solution until a spike, where the exact solution resets at the
crossing time and neurosim at the end of the step; the difference this leaves is at most
``v_threshold (1 - exp(-dt / tau))`` (3.9e-3 here) and decays with tau afterwards.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch

from hardware.nir import from_nir
from neurosim.nn.functional import initial_state, lif_sequence

__all__ = ["DT", "run_nir_paper_lif", "plot_nir_paper_lif"]

DT = 1e-4
"""The experiment's step (s)."""


def _csv(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)


def run_nir_paper_lif(data_dir, graph: str = "lif_norse.nir", reset: str = "subtract") -> dict:
    """Run ``graph`` (in ``data_dir``, the paper's ``nir_paper`` folder) on the input pulses of
    ``lif_exact.csv``. Returns ``{"v": membrane after each step (1000,) in the graph's volts,
    "spikes": spike steps, "exact_v", "exact_spikes", "norse_v", "norse_spikes", "loihi_v"
    (Loihi's integer membrane, which lags one step, scaled so that its first input jump equals
    the exact one),
    "loihi_spikes", "max_error" (largest |v - exact_v|), "error_bound" (``v_threshold (1 -
    exp(-dt/tau))``), "graph"}``. Raises ``FileNotFoundError`` for a missing file."""
    data_dir = Path(data_dir)
    exact, norse, loihi = (_csv(data_dir / f) for f in ("lif_exact.csv", "lif_norse.csv", "lif_lava_loihi_fixed.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Rockpool's graph declares an Output shape nir's type check refuses
        model = from_nir(data_dir / graph, dt=DT, reset=reset)
    layer = model[-1]
    x = torch.from_numpy(exact[:, 0]).reshape(-1, 1, 1).to(torch.float64)
    with torch.no_grad():
        for stateless in model[:-1]:
            x = stateless.double()(x)
        s, m, _ = lif_sequence(x, initial_state(x[0]), layer.coef)
    co = layer.coef
    u = (m - s * (1.0 - co.u_reset) if co.subtract else m * (1 - s) + co.u_reset * s).numpy().ravel()
    n = layer.neuron
    v = n.v_rest + u * (n.v_th - n.v_rest)
    first = int(np.argmax(exact[:, 0] != 0))  # the first input pulse: its jump sets Loihi's scale
    tau = -DT / math.log(co.a_m)
    return {"v": v, "spikes": np.nonzero(s.numpy().ravel())[0], "exact_v": exact[:, 1], "exact_spikes": np.nonzero(exact[:, 2])[0],
            "norse_v": norse[:, 1], "norse_spikes": np.nonzero(norse[:, 2])[0],
            "loihi_v": loihi[:, 1] * exact[first, 1] / loihi[first + 1, 1], "loihi_spikes": np.nonzero(loihi[:, 2])[0],
            "max_error": float(np.abs(v - exact[:, 1]).max()), "error_bound": float((n.v_th - n.v_rest) * -math.expm1(-DT / tau)),
            "graph": graph}


def plot_nir_paper_lif(result: dict, path) -> Path:
    """The membrane of neurosim beside the exact solution, Norse and Loihi 2 (spikes as ticks),
    saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosim.atomic import atomic_write

    t = (np.arange(result["v"].size) + 1) * DT * 1e3
    fig, ax = plt.subplots(figsize=(10, 3.5))
    for key, label, style in (("exact", "exact (lif_exact.csv)", dict(color="k", lw=2.5, alpha=0.35)),
                              ("norse", "Norse", dict(color="tab:blue", lw=1, ls="--")),
                              ("loihi", "Loihi 2 (fixed point, scaled)", dict(color="tab:green", lw=1, ls=":")),
                              ("", f"neurosim ({result['graph']})", dict(color="tab:red", lw=1))):
        v = result[f"{key}_v" if key else "v"]
        spikes = result[f"{key}_spikes" if key else "spikes"]
        line, = ax.plot(t, v, label=label, **style)
        ax.plot(t[spikes], np.full(spikes.size, 0.105 + 0.004 * len(ax.lines)), "|", color=line.get_color(), ms=8)
    ax.set(xlabel="time (ms)", ylabel="membrane (V)", title="NIR paper, one LIF neuron: neurosim vs the exact solution")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = atomic_write(Path(path), lambda p: fig.savefig(p, dpi=120, format="png"))
    plt.close(fig)
    return out
