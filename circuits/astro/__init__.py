"""Astrocytes: AM-SU, the astrocyte-modulated spiking unit (``amsu``), its delayed-recall and
language tasks (``tasks``, ``memory``, ``language``), and the neuron-glia networks of
Stimberg et al. 2019 (``neuroglia``)."""
