"""Neuromorphic backends that consume a neurosim Network (Loihi/Lava, SpiNNaker, NIR, PyNN)."""
