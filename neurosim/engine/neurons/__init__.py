"""Step kernels of the spiking neuron models, one module per model (see
``neurosim.engine.registry``); every module here is imported by the registry."""
