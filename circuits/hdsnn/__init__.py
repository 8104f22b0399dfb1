"""HD-SNN: heterogeneous synaptic delays for motion detection (Grimaldi & Perrinet 2023): the
layer (``layer``), its motion movies (``movies``), training (``task``), the pruning sweep
(``evaluate``), the pruned layer in the core simulator (``core``) and figures (``plots``)."""
