"""HLOP: Hebbian orthogonal projection for continual learning (Xiao et al. 2024): projected
layers and lateral subspace neurons (``layers``), permuted MNIST (``data``), the
continual-learning runs (``train``) and the accuracy matrix (``plots``)."""
