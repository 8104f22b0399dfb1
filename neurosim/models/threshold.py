"""A memoryless threshold unit (NIR's ``Threshold``), current-based."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .base import NeuronModel, check_dt, check_positive, register_model

__all__ = ["ThresholdUnit"]


@register_model
@dataclass(frozen=True)
class ThresholdUnit(NeuronModel):
    r"""A unit that spikes in every step whose input exceeds a threshold and remembers nothing
    (NIR's ``Threshold`` node, ``z = H(x - theta)``, Pedersen et al. 2024, Table 1): the limit
    of a CuBa-LIF neuron with vanishing membrane and synaptic time constants.

    Equations (``v`` in V: the step's input as a voltage)::

        v = (i_e + i_i + I_ext) dt / c_mem       (the currents arriving in this step)
        spike if v > v_th

    Synapses are delta synapses: a spike's weight ``w`` (A) is a current held over the step it
    arrives in, and nothing is left for the next. It runs as a CuBa-LIF with ``a_m = a_e =
    a_i = 0`` (``discretize``), so every engine that runs CuBa-LIF runs it.

    Parameters (SI): ``v_th`` (V), ``c_mem`` (F). Raises ``ValueError`` (naming the field) for
    non-finite values or ``c_mem <= 0``.
    """

    v_th: float = 20e-3
    c_mem: float = 250e-12

    kind: ClassVar[str] = "threshold"
    spiking: ClassVar[bool] = True
    state_vars: ClassVar[tuple[str, ...]] = ("v", "i_e", "i_i")
    units: ClassVar[dict[str, str]] = {"v": "V", "i_e": "A", "i_i": "A"}

    def _validate(self) -> None:
        check_positive(type(self).__name__, "c_mem", self.c_mem)

    def initial_state(self) -> dict[str, float]:
        """No input yet."""
        return {"v": 0.0, "i_e": 0.0, "i_i": 0.0}

    def discretize(self, dt: float) -> dict[str, float]:
        """Coefficients in ``CubaLIF``'s order for step ``dt`` (s): no memory (``a_m = a_e = a_i
        = 0``), every input ``dt / c_mem`` V per A, ``v_rest = v_reset = 0``, no refractory
        period, hard reset."""
        dt = check_dt(dt)
        k = dt / self.c_mem
        return {"a_m": 0.0, "a_e": 0.0, "a_i": 0.0, "k_e": k, "k_i": k, "k_ext": k, "v_rest": 0.0, "v_th": self.v_th,
                "v_reset": 0.0, "ref_steps": 0.0, "subtract": 0.0}
