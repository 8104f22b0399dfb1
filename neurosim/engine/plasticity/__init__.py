"""Hooks of the learning rules by ``kind`` (see ``neurosim.engine.registry.plasticity_kernel``)."""
