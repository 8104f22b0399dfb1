"""Engines that run a Network: the Numba kernels and their array layout."""
