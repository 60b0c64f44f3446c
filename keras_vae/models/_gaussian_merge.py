"""Kept as an import path: the ladder merge lives in ``_hierarchy/merge.py``."""
from keras_vae.models._hierarchy.merge import precision_weighted

__all__ = ["precision_weighted"]
