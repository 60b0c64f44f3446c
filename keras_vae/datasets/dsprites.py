"""dSprites-like data: 2-D shapes on dSprites' exact factor grid, drawn with numpy."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_vae.datasets.ground_truth import GroundTruthData, as_random_state

SHAPES = ("square", "ellipse", "heart")
FACTOR_NAMES = ("shape", "scale", "orientation", "position_x", "position_y")
#: The half-size ``h`` of a shape at scale 1, as a fraction of the image side.
HALF_SIZE = 1.0 / 6.0
#: Ellipse semi-axes ``(h, ELLIPSE_RATIO * h)``.
ELLIPSE_RATIO = 0.5


def shape_area(shape: str, scale: float, image_size: int = 64) -> float:
    """The analytic area in pixels of ``shape`` at ``scale`` (rotation does not change it).

    With ``h = scale * image_size / 6``: square ``(2h)^2``; ellipse ``pi h (h/2)``;
    heart (a square of half-diagonal ``h`` standing on a corner, with two discs on
    its upper sides) ``2 h^2 (1 + pi / 4)``.

    Example:
        >>> round(shape_area("square", 1.0, 60), 1)
        400.0
    """
    h = scale * image_size * HALF_SIZE
    if shape == "square":
        return (2 * h) ** 2
    if shape == "ellipse":
        return math.pi * h * h * ELLIPSE_RATIO
    if shape == "heart":
        return 2 * h * h * (1 + math.pi / 4)
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}.")


class DSprites(GroundTruthData):
    """dSprites-like images: a white square, ellipse or heart on black, at every
    combination of five factors, rendered on demand.

    The factor grid is dSprites' (Matthey et al., 2017): shape 3 x scale 6 (linearly
    spaced in [0.5, 1]) x orientation 40 (in [0, 2 pi], both ends included, as the
    original) x position x 32 x position y 32 (in [0, 1]) = 737,280 images of
    64 x 64 x 1, and the index of an image is dSprites' own: factors in that order,
    the last varying fastest (``factors_to_index`` / ``index_to_factors``). The
    images are computed with numpy when asked for (nothing is downloaded and the
    whole set is never held in memory); a pixel is 1 when its centre lies inside
    the shape. They are *dSprites-like*: the pixels are not identical to DeepMind's
    file. ``DSprites.small()`` is a quick 32 x 32 variant with fewer values.

    Geometry (``P`` the image side, ``h = scale * P / 6``): square of side ``2h``;
    ellipse with semi-axes ``h``, ``h / 2``; heart = a square of half-diagonal
    ``h`` on its corner plus two discs on its upper sides. The shape is rotated
    about its centre by the orientation, and its centre moves linearly with the
    positions over ``[m, P - m]``, ``m`` the largest shape's radius, so every shape
    stays inside the image. ``position_x`` moves it right, ``position_y`` down.

    Args:
        image_size: side of the square images in pixels (>= 8).
        num_scales, num_orientations, num_positions: values per factor.

    Example:
        >>> import keras_vae as kv
        >>> data = kv.datasets.DSprites()
        >>> len(data), data.factors_num_values, data.observation_shape
        (737280, [3, 6, 40, 32, 32], [64, 64, 1])
        >>> data.index_to_factors(data.factors_to_index([[2, 5, 39, 31, 0]])).tolist()
        [[2, 5, 39, 31, 0]]
    """

    factor_names = FACTOR_NAMES

    def __init__(self, image_size: int = 64, num_scales: int = 6, num_orientations: int = 40, num_positions: int = 32):
        for name, value, low in (
            ("image_size", image_size, 8),
            ("num_scales", num_scales, 1),
            ("num_orientations", num_orientations, 1),
            ("num_positions", num_positions, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
        self.image_size = int(image_size)
        self.scales = np.linspace(0.5, 1.0, int(num_scales))
        self.orientations = np.linspace(0.0, 2 * np.pi, int(num_orientations))
        self.positions = np.linspace(0.0, 1.0, int(num_positions))
        self._sizes = np.array([len(SHAPES), len(self.scales), len(self.orientations), len(self.positions), len(self.positions)], np.int64)
        self._bases = np.concatenate([np.cumprod(self._sizes[::-1])[::-1][1:], [1]]).astype(np.int64)

    @classmethod
    def small(cls) -> "DSprites":
        """The quick variant: 32 x 32 images, 3 shapes x 4 scales x 10 orientations x
        16 x 16 positions = 30,720 images."""
        return cls(image_size=32, num_scales=4, num_orientations=10, num_positions=16)

    # ---------------------------------------------------------------- protocol
    @property
    def num_factors(self) -> int:
        return len(FACTOR_NAMES)

    @property
    def factors_num_values(self) -> list[int]:
        return [int(n) for n in self._sizes]

    @property
    def observation_shape(self) -> list[int]:
        return [self.image_size, self.image_size, 1]

    def __len__(self) -> int:
        return int(np.prod(self._sizes))

    def sample_observations_from_factors(self, factors, random_state: Any = None) -> np.ndarray:
        """The images of ``factors`` (int ``[num, 5]``): float32 ``[num, P, P, 1]`` in {0, 1}.
        The images are deterministic; ``random_state`` is accepted for the protocol."""
        factors = self._check_factors(factors)
        values = self.factor_values(factors)
        return render(values, self.image_size)

    # ------------------------------------------------------------ index mapping
    def factors_to_index(self, factors) -> np.ndarray:
        """dSprites' index of each factor vector (int64 ``[num]``)."""
        return self._check_factors(factors) @ self._bases

    def index_to_factors(self, index) -> np.ndarray:
        """The factor vectors of dSprites indices (int64 ``[num, 5]``)."""
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise ValueError(f"indices must be in [0, {len(self)}), got values from {index.min()} to {index.max()}.")
        return (index[:, None] // self._bases[None, :]) % self._sizes[None, :]

    def factor_values(self, factors) -> np.ndarray:
        """The factors' values (shape index, scale, orientation in radians, x, y), float ``[num, 5]``."""
        factors = self._check_factors(factors)
        return np.stack([
            factors[:, 0].astype(np.float64),
            self.scales[factors[:, 1]],
            self.orientations[factors[:, 2]],
            self.positions[factors[:, 3]],
            self.positions[factors[:, 4]],
        ], axis=1)

    def images(self, indices) -> np.ndarray:
        """The images at dSprites indices, float32 ``[num, P, P, 1]``."""
        return self.sample_observations_from_factors(self.index_to_factors(indices))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.images(np.arange(len(self))[index])
        if np.ndim(index) == 0:
            return self.images([int(index)])[0]
        return self.images(index)

    def load(self, num: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``num`` random examples for training: ``(images [num, P, P, 1], factors [num, 5])``.

        Example:
            >>> import keras_vae as kv
            >>> x, factors = kv.datasets.DSprites.small().load(8, seed=0)
            >>> x.shape, factors.shape
            ((8, 32, 32, 1), (8, 5))
        """
        factors, x = self.sample(num, as_random_state(seed))
        return x, factors

    def _check_factors(self, factors) -> np.ndarray:
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors or not np.issubdtype(factors.dtype, np.integer):
            raise ValueError(
                f"factors must be an integer array of shape [num, {self.num_factors}] "
                f"({', '.join(FACTOR_NAMES)}), got dtype {factors.dtype} and shape {factors.shape}."
            )
        if factors.size and ((factors < 0).any() or (factors >= self._sizes).any()):
            raise ValueError(f"factor values must lie in [0, {self.factors_num_values}) per factor.")
        return factors.astype(np.int64)

    def get_config(self) -> dict:
        return {
            "image_size": self.image_size,
            "num_scales": len(self.scales),
            "num_orientations": len(self.orientations),
            "num_positions": len(self.positions),
        }

    def __repr__(self) -> str:
        return f"DSprites({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


def _margin(image_size: int) -> float:
    """The largest distance of a shape's point from its centre at scale 1 (pixels)."""
    h = image_size * HALF_SIZE
    return h * max(math.sqrt(2.0), _HEART_RADIUS)


# Heart of half-diagonal d = 1, before centring: the square's corners at (0, -1),
# (+-1, 0), (0, 1); discs of radius 1/sqrt(2) at (+-1/2, 1/2). Its top is at
# 1/2 + 1/sqrt(2), its bottom at -1: centred by shifting it down by half the difference.
_HEART_SHIFT = (0.5 + 1 / math.sqrt(2) - 1.0) / 2.0
_HEART_RADIUS = 1.0 + _HEART_SHIFT


def render(values: np.ndarray, image_size: int, chunk: int = 512) -> np.ndarray:
    """Images ``[num, P, P, 1]`` (float32, 0 / 1) of shapes given by their values
    ``[num, 5]``: shape index, scale, orientation (radians), x and y in [0, 1]."""
    values = np.asarray(values, np.float64)
    out = np.zeros((len(values), image_size, image_size, 1), np.float32)
    centres = np.arange(image_size) + 0.5
    px, py = centres[None, None, :], centres[None, :, None]  # column = x, row = y (down)
    margin = _margin(image_size)
    for start in range(0, len(values), chunk):
        v = values[start:start + chunk]
        shape, scale, angle = v[:, 0, None, None], v[:, 1, None, None], v[:, 2, None, None]
        cx = margin + v[:, 3, None, None] * (image_size - 2 * margin)
        cy = margin + v[:, 4, None, None] * (image_size - 2 * margin)
        h = scale * image_size * HALF_SIZE
        dx, dy = px - cx, -(py - cy)  # y up in the shape's own frame
        cos, sin = np.cos(angle), np.sin(angle)
        u = (cos * dx + sin * dy) / h  # rotate the point by -angle: the shape by +angle
        w = (-sin * dx + cos * dy) / h
        square = (np.abs(u) <= 1) & (np.abs(w) <= 1)
        ellipse = u**2 + (w / ELLIPSE_RATIO) ** 2 <= 1
        hw = w + _HEART_SHIFT  # back to the uncentred heart's frame
        radius2 = 0.5
        heart = (
            (np.abs(u) + np.abs(hw) <= 1)
            | ((u - 0.5) ** 2 + (hw - 0.5) ** 2 <= radius2)
            | ((u + 0.5) ** 2 + (hw - 0.5) ** 2 <= radius2)
        )
        mask = np.where(shape == 0, square, np.where(shape == 1, ellipse, heart))
        out[start:start + chunk, ..., 0] = mask
    return out
