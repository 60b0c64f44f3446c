"""Conditions: raw side information c -> features for q(z|x, c), p(x|z, c), p(z|c)."""
from keras_vae.conditions.condition import Condition
from keras_vae.conditions.one_hot import OneHot
from keras_vae.conditions.partial_label import UNLABELED, PartialLabel
from keras_vae.conditions.vector import Vector

__all__ = ["Condition", "OneHot", "PartialLabel", "UNLABELED", "Vector"]
