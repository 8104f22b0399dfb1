"""Izhikevich (2003) simple spiking model, in SI units."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import NeuronModel, check_dt, check_nonnegative, check_positive, register_model

__all__ = ["Izhikevich"]


@register_model
@dataclass(frozen=True)
class Izhikevich(NeuronModel):
    r"""Izhikevich (2003, IEEE Trans. Neural Netw. 14:1569, eqs. 1-3) simple model.

    The paper writes (v, u in mV, t in ms)::

        v' = 0.04 v^2 + 5 v + 140 - u + I,    u' = a (b v - u),
        if v >= 30 mV: v <- c, u <- u + d

    Here in SI (v in V, t in s, u in V/s since it is subtracted from dv/dt)::

        dv/dt = 4e4 v^2 + 5e3 v + 140 - u + (i_e + i_i + I_ext) / c_mem
        du/dt = a (b v - u)
        if v >= v_peak: v <- c, u <- u + d

    so the paper's defaults become ``a = 20 /s`` (0.02/ms), ``b = 200 /s`` (0.2/ms),
    ``c = -65 mV``, ``d = 8 V/s`` (8 mV/ms), ``v_peak = 30 mV``; with ``c_mem = 1 pF`` an input
    current of 1 pA is the paper's ``I = 1``. ``i_e``/``i_i`` (A) are exponentially decaying
    synaptic currents (``tau_syn_e``, ``tau_syn_i``) to which arriving spikes add their
    weights (A).

    Integration: forward Euler for (v, u) with the synaptic current held at its value at the
    start of the step; the synaptic currents then decay exactly (``i <- i exp(-dt/tau_syn)``).

    Raises ``ValueError`` (naming the field) for non-finite values, ``c_mem``/time constants
    <= 0, ``t_ref < 0`` or ``c >= v_peak``.
    """

    a: float = 20.0
    b: float = 200.0
    c: float = -65e-3
    d: float = 8.0
    v_peak: float = 30e-3
    c_mem: float = 1e-12
    tau_syn_e: float = 5e-3
    tau_syn_i: float = 10e-3
    t_ref: float = 0.0

    kind: ClassVar[str] = "izhikevich"
    spiking: ClassVar[bool] = True
    state_vars: ClassVar[tuple[str, ...]] = ("v", "u", "i_e", "i_i")
    units: ClassVar[dict[str, str]] = {"v": "V", "u": "V/s", "i_e": "A", "i_i": "A"}

    # The fixed coefficients of eq. 1 in SI units (1/(V s), 1/s, V/s).
    K2: ClassVar[float] = 4e4
    K1: ClassVar[float] = 5e3
    K0: ClassVar[float] = 140.0

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("c_mem", "tau_syn_e", "tau_syn_i"):
            check_positive(name, f, getattr(self, f))
        check_nonnegative(name, "t_ref", self.t_ref)
        if self.c >= self.v_peak:
            raise ValueError(f"{name}.c = {self.c!r} is invalid: the reset must be below v_peak = {self.v_peak!r}")

    def initial_state(self) -> dict[str, float]:
        """Resting values of the state variables (SI units)."""
        return {"v": self.c, "u": self.b * self.c, "i_e": 0.0, "i_i": 0.0}

    def discretize(self, dt: float) -> dict[str, float]:
        """Per-step coefficients for step ``dt`` (s); see the class docstring."""
        dt = check_dt(dt)
        return {
            "dt": dt,
            "a": self.a,
            "b": self.b,
            "c": self.c,
            "d": self.d,
            "v_peak": self.v_peak,
            "inv_c": 1.0 / self.c_mem,
            "a_e": math.exp(-dt / self.tau_syn_e),
            "a_i": math.exp(-dt / self.tau_syn_i),
            "ref_steps": float(int(round(self.t_ref / dt))),
            "k2": self.K2,
            "k1": self.K1,
            "k0": self.K0,
        }
