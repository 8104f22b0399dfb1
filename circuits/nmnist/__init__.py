"""N-MNIST: the spiking convolutional classifier and its training (``classifier``), its
deployment study on Loihi 2 (``loihi``)."""
