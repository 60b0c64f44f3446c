"""Data with known factors of variation: disentanglement_lib's ground-truth-data
protocol (the same method names, so one object serves both libraries)."""
from __future__ import annotations

from typing import Any

import numpy as np


def as_random_state(seed_or_state: Any) -> np.random.RandomState:
    """A ``np.random.RandomState`` from an int seed, ``None`` or a state (unchanged)."""
    if isinstance(seed_or_state, np.random.RandomState):
        return seed_or_state
    if isinstance(seed_or_state, np.random.Generator):
        return np.random.RandomState(seed_or_state.integers(0, 2**31 - 1))
    if seed_or_state is None or isinstance(seed_or_state, (int, np.integer)):
        return np.random.RandomState(seed_or_state)
    raise ValueError(f"random_state must be an int, None or a numpy RandomState, got {seed_or_state!r}.")


class GroundTruthData:
    """Data generated from ``num_factors`` discrete factors of variation.

    A subclass defines ``num_factors``, ``factors_num_values``,
    ``observation_shape`` and ``sample_observations_from_factors``; sampling factors
    uniformly and the observation helpers come from here. The names and signatures
    are those of ``disentanglement_lib.data.ground_truth.ground_truth_data``
    (``random_state`` a ``np.random.RandomState``; an int seed is accepted too),
    so these objects work with disentanglement_lib's metric functions and
    keras_vae's alike.

    Example:
        >>> import keras_vae as kv
        >>> data = kv.datasets.DSprites.small()
        >>> factors, x = data.sample(4, random_state=0)
        >>> factors.shape, x.shape
        ((4, 5), (4, 32, 32, 1))
    """

    @property
    def num_factors(self) -> int:
        raise NotImplementedError

    @property
    def factors_num_values(self) -> list[int]:
        raise NotImplementedError

    @property
    def observation_shape(self) -> list[int]:
        raise NotImplementedError

    def sample_factors(self, num: int, random_state: Any) -> np.ndarray:
        """``num`` factor vectors, each factor uniform over its values: int64 ``[num, num_factors]``."""
        num = _count(num)
        state = as_random_state(random_state)
        return np.stack(
            [state.randint(n, size=num) for n in self.factors_num_values], axis=1
        ).astype(np.int64)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: Any) -> np.ndarray:
        raise NotImplementedError

    def sample(self, num: int, random_state: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(factors, observations)`` of ``num`` random examples."""
        state = as_random_state(random_state)
        factors = self.sample_factors(num, state)
        return factors, self.sample_observations_from_factors(factors, state)

    def sample_observations(self, num: int, random_state: Any) -> np.ndarray:
        """``num`` random observations."""
        return self.sample(num, random_state)[1]




def _count(num: Any) -> int:
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 0:
        raise ValueError(f"num must be an integer >= 0, got {num!r}.")
    return int(num)
