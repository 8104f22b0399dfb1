"""Presynaptic-spike kernels of the dynamic synapse models, one module per model (see
``neurosim.engine.registry.synapse_table``); every module here is imported by the registry."""
