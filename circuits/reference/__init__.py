"""Reference networks: the CUBA benchmark (Brette et al. 2007; ``cuba``), the Brian2 twins of
CUBA and of Stimberg et al. 2019's neuron-glia network (``cuba_brian2``,
``neuroglia_brian2``), and the sweep task ``cuba`` (``sweep``)."""
