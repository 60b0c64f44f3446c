"""Latent paths: spherical interpolation, interpolation between examples, traversals."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from keras_vae.evaluation._common import _check_positive, checked_condition


def slerp(z1, z2, t) -> np.ndarray:
    """Spherical linear interpolation between latent vectors (White, 2016).

    ``slerp(z1, z2, t) = sin((1-t) W)/sin W * z1 + sin(t W)/sin W * z2`` with W the
    angle between z1 and z2; linear interpolation where the angle is ~0. For
    endpoints of equal norm every point keeps that norm, unlike the linear path,
    which passes through low-norm (low prior density in high dimensions) regions.

    Args:
        z1, z2: arrays ``(..., latent_dim)``.
        t: 1-D array of positions in [0, 1].

    Returns:
        array ``(..., len(t), latent_dim)``.

    Example:
        >>> z = slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.5]))
        >>> np.round(z, 4).tolist()
        [[0.7071, 0.7071]]
    """
    z1 = np.asarray(z1, np.float64)[..., np.newaxis, :]
    z2 = np.asarray(z2, np.float64)[..., np.newaxis, :]
    t = np.asarray(t, np.float64).reshape(-1, 1)
    n1 = np.linalg.norm(z1, axis=-1, keepdims=True)
    n2 = np.linalg.norm(z2, axis=-1, keepdims=True)
    cos = np.sum(z1 * z2, axis=-1, keepdims=True) / np.maximum(n1 * n2, 1e-30)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    sin = np.sin(omega)
    degenerate = (sin < 1e-6) | (n1 * n2 < 1e-30)
    safe = np.where(degenerate, 1.0, sin)
    spherical = (np.sin((1.0 - t) * omega) * z1 + np.sin(t * omega) * z2) / safe
    linear = (1.0 - t) * z1 + t * z2
    return np.where(degenerate, linear, spherical)


def _single_or_batch(vae, x, condition, tool: str) -> tuple[np.ndarray, bool, np.ndarray | None]:
    """``(x as a batch, whether it was one example, one condition per example or
    None)``, checked before anything runs; a single condition given for a batch is
    broadcast to every example."""
    x = x.numpy() if isinstance(x, tf.Tensor) else np.asarray(x)
    single = vae.data_shape is not None and tuple(x.shape) == tuple(vae.data_shape)
    if single:
        x = x[np.newaxis]
    if condition is not None and getattr(vae, "condition_layer", None) is not None:
        condition = vae.one_condition_each(condition, len(x))
    x, condition = checked_condition(vae, x, condition, tool)
    return x, single, condition


def _given(condition, rows=slice(None)) -> dict:
    return {} if condition is None else {"condition": condition[rows]}


def _decode_paths(vae, z: np.ndarray, condition=None, batch_size: int = 1024) -> np.ndarray:
    """Decode z of shape [B, S, latent] into means [B, S, *data_shape], every point
    of path b at path b's condition (``condition``: one per path, or None)."""
    flat = z.reshape(-1, z.shape[-1]).astype(np.float32)
    if condition is not None:
        condition = np.repeat(condition, z.shape[1], axis=0)
    decoded = [
        np.asarray(vae.decode(flat[i : i + batch_size], **_given(condition, slice(i, i + batch_size))))
        for i in range(0, len(flat), batch_size)
    ]
    return np.concatenate(decoded).reshape(*z.shape[:2], *vae.data_shape)


def interpolate(
    vae,
    x1,
    x2,
    steps: int = 8,
    method: str = "linear",
    return_latents: bool = False,
    condition=None,
):
    """Decode points on a path between the posterior means of ``x1`` and ``x2``.

    For a conditioned model the whole path is taken at a fixed condition: both
    endpoints are encoded with it and every point is decoded with it.

    Args:
        vae: a built VAE.
        x1, x2: one example each (shape ``data_shape``) or batches of the same
            shape ``(B, *data_shape)`` (one path per pair).
        steps: points on the path, endpoints included (>= 2).
        method: ``"linear"`` or ``"slerp"`` (see :func:`slerp`).
        return_latents: also return the latent path.
        condition: a conditioned model's condition for each path: one per pair
            (batch first), or a single one for all paths (e.g. ``condition=7``).

    Returns:
        Decoded means ``(steps, *data_shape)`` (``(B, steps, *data_shape)`` for
        batches); with ``return_latents``, ``(decoded, z)`` where ``z`` has shape
        ``(steps, latent_dim)`` (or ``(B, steps, latent_dim)``). The first and last
        points are the reconstructions ``vae.reconstruct(x1)`` and
        ``vae.reconstruct(x2)``.

    Example:
        >>> frames = vae.interpolate(x_test[0], x_test[1], steps=10, method="slerp")  # doctest: +SKIP
        >>> frames.shape                                                              # doctest: +SKIP
        (10, 28, 28, 1)
    """
    methods = ("linear", "slerp")
    if method not in methods:
        raise ValueError(f"method must be one of {methods}, got {method!r}.")
    steps = _check_positive(steps, "steps", allow_none=False)
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (the two endpoints), got {steps}.")
    x1, single1, condition = _single_or_batch(vae, x1, condition, "interpolate")
    x2, single2, _ = _single_or_batch(vae, x2, condition, "interpolate")
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2 must have the same shape, got {x1.shape} and {x2.shape}.")
    z1 = np.asarray(vae.encode(x1, **_given(condition)), np.float64)
    z2 = np.asarray(vae.encode(x2, **_given(condition)), np.float64)
    t = np.linspace(0.0, 1.0, steps)
    if method == "slerp":
        z = slerp(z1, z2, t)
    else:
        z = (1.0 - t)[None, :, None] * z1[:, None, :] + t[None, :, None] * z2[:, None, :]
    # The endpoints are the posterior means exactly (no rounding from the formula).
    z[:, 0], z[:, -1] = z1, z2
    decoded = _decode_paths(vae, z, condition)
    if single1 and single2:
        decoded, z = decoded[0], z[0]
    return (decoded, z.astype(np.float32)) if return_latents else decoded


def traverse(
    vae,
    x,
    dim: int,
    values: Sequence[float] | np.ndarray = np.linspace(-3.0, 3.0, 9),
    return_latents: bool = False,
    condition=None,
):
    """Decode the posterior mean of ``x`` with latent dimension ``dim`` set to each value.

    For a conditioned model the traversal is taken at a fixed condition: x is
    encoded with it and every point is decoded with it.

    Shows what one latent unit controls (with a standard-normal prior, values in
    [-3, 3] span the prior's range).

    Args:
        vae: a built VAE.
        x: one example (shape ``data_shape``) or a batch ``(B, *data_shape)``.
        dim: the latent dimension, ``0 <= dim < latent_dim``.
        values: the values given to ``z[dim]``.
        return_latents: also return the latent codes.
        condition: a conditioned model's condition for each example of x (batch
            first), or a single one for all (e.g. ``condition=7``).

    Returns:
        Decoded means ``(len(values), *data_shape)`` (``(B, len(values),
        *data_shape)`` for a batch), and the latents when asked.

    Example:
        >>> row = vae.traverse(x_test[0], dim=3)   # doctest: +SKIP
        >>> row.shape                              # doctest: +SKIP
        (9, 28, 28, 1)
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 0 <= dim < vae.latent_dim:
        raise ValueError(f"dim must be an integer in [0, {vae.latent_dim}), got {dim!r}.")
    values = np.asarray(values, np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("values must not be empty.")
    x, single, condition = _single_or_batch(vae, x, condition, "traverse")
    z0 = np.asarray(vae.encode(x, **_given(condition)), np.float64)
    z = np.repeat(z0[:, None, :], len(values), axis=1)
    z[:, :, int(dim)] = values[None, :]
    decoded = _decode_paths(vae, z, condition)
    if single:
        decoded, z = decoded[0], z[0]
    return (decoded, z.astype(np.float32)) if return_latents else decoded
