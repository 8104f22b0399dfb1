"""Model families built on the neurosim core (CUBA/COBA benchmarks, C. elegans, HD-SNN, AM-SU, HLOP)."""
