"""Argument checks of the conv (NVAE-style) hierarchy, run before anything is built.

The conv hierarchy has ``scales`` resolutions; scale s (0 next to the data) is the
input's height and width divided by ``2 ** (s + 1)`` (28 x 28 with 2 scales: 14 x 14
and 7 x 7). Each scale holds ``groups_per_scale`` latent groups, z_1 first (the
lowest scale's first group); a group is a ``h x w x c`` map flattened to ``h w c``
values, so its size must be a multiple of its scale's ``h w``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

ARCHITECTURES = ("mlp", "conv")


def _is_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def check_architecture(architecture, inference: str) -> str:
    """``"mlp"`` (every scheme) or ``"conv"`` (``inference="residual"`` only)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}.")
    if architecture == "conv" and inference != "residual":
        raise ValueError(
            "architecture='conv' is NVAE's top-down conv hierarchy: it takes "
            f"inference='residual', got inference={inference!r}."
        )
    return architecture


def check_conv(input_shape, scales, groups_per_scale, channels, latent_dims) -> tuple[list, list]:
    """``(latent_dims, group_shapes)`` of a conv hierarchy: each group's flat size and
    its ``(h, w, c)`` map, z_1 first. ``latent_dims=None`` gives every group 2 channels.

    Example:
        >>> check_conv((28, 28, 1), 2, 2, 16, None)
        ([392, 392, 98, 98], [(14, 14, 2), (14, 14, 2), (7, 7, 2), (7, 7, 2)])
    """
    if input_shape is None:
        raise ValueError(
            "architecture='conv' needs input_shape (height, width, channels): the "
            "group sizes follow from the image size and the scales."
        )
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, (Sequence, np.ndarray)) \
            or len(input_shape) != 3 or not all(_is_int(d) and d >= 1 for d in input_shape):
        raise ValueError(
            "architecture='conv' takes images: input_shape must be (height, width, "
            f"channels) of positive integers, got {input_shape!r}."
        )
    for name, value in (("scales", scales), ("groups_per_scale", groups_per_scale), ("channels", channels)):
        if not _is_int(value) or value < 1:
            hint = " (an empty group list)" if name == "groups_per_scale" else ""
            raise ValueError(f"{name} must be an integer >= 1{hint}, got {value!r}.")
    height, width = int(input_shape[0]), int(input_shape[1])
    factor = 2 ** int(scales)
    if height % factor or width % factor:
        raise ValueError(
            f"{scales} scales halve the image {scales} times: height and width must be "
            f"multiples of {factor}, got {height} x {width} (e.g. 28 x 28 takes scales=1 or 2)."
        )
    spatial = [(height // 2 ** (s + 1), width // 2 ** (s + 1)) for s in range(scales)]
    group_spatial = [spatial[g // groups_per_scale] for g in range(scales * groups_per_scale)]
    if latent_dims is None:
        latent_dims = [h * w * 2 for h, w in group_spatial]
    latent_dims = list(latent_dims)
    if len(latent_dims) != len(group_spatial):
        raise ValueError(
            f"latent_dims has {len(latent_dims)} groups; the conv hierarchy has scales x "
            f"groups_per_scale = {scales} x {groups_per_scale} = {len(group_spatial)}."
        )
    shapes = []
    for g, (size, (h, w)) in enumerate(zip(latent_dims, group_spatial)):
        if size % (h * w):
            raise ValueError(
                f"group {g + 1} (size {size}) does not fit the conv scales: it lies at "
                f"scale {g // groups_per_scale + 1} ({h} x {w}), so its size must be a "
                f"multiple of {h * w} (channels x {h} x {w})."
            )
        shapes.append((h, w, size // (h * w)))
    return latent_dims, shapes
