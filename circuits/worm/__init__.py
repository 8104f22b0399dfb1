"""The C. elegans worm: the whole-worm graded model on real connectomes (Kunert et al. 2014;
``model``), its scipy twin (``reference``), signal propagation against the Randi et al. 2023
atlas (``atlas``), the fit to the atlas (``fit``) and the ablation of model terms
(``ablation``), spontaneous activity against whole-brain recordings (``activity``), figures
(``plots``), the sweep task ``worm`` (``sweep``) and the ``neurosim worm`` run (``experiment``)."""
