"""Model families built on the neurosim core, one package each: ``worm`` (C. elegans),
``hdsnn`` (heterogeneous delays), ``astro`` (astrocytes: AM-SU and neuron-glia networks),
``hlop`` (continual learning), ``nmnist`` (event-data classification and its Loihi
deployment) and ``reference`` (CUBA and the Brian2 twins). Families do not import each other."""
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""``../shared/data`` beside the repository: where the datasets the families read live by default."""
