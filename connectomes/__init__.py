"""Connectome and neural-activity data (cect, wormneuroatlas loaders); filled in by the C. elegans work."""
