"""The user's own array files and image folders."""
from __future__ import annotations

import os
import pathlib
import warnings

import numpy as np

from keras_vae.datasets.mnist import _format_images

_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_COLOR_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
#: uint8 data whose maximum is below this are far from 8-bit levels: dividing them by
#: 255 leaves them in less than half of [0, 1], so the loaders warn.
FEW_LEVELS_BELOW = 128


class FewLevelsWarning(UserWarning):
    """uint8 data divided by 255 whose maximum is far below 255 (the message names the
    likely levels and the fixes)."""


def warn_if_few_levels(x: np.ndarray, source) -> None:
    """Warn when uint8 ``x`` (about to be divided by 255) has a maximum far below 255.

    The rule: 8-bit data are divided by 255 when loaded with ``normalize=True``; when
    their maximum m is below 128 they are more likely levels 0..m (e.g. 17 grey
    levels 0..16) than 8-bit pixels, and ``x / 255`` would squeeze them into
    [0, m / 255]. The warning says so and gives the fixes (``normalize=False`` for
    the raw levels, or ``x / m`` yourself).
    """
    if x.dtype != np.uint8 or x.size == 0:
        return
    top = int(x.max())
    if top >= FEW_LEVELS_BELOW:
        return
    warnings.warn(
        f"{source}: uint8 data with maximum {top} are divided by 255 into [0, {top / 255:.3g}]; "
        f"they look like levels 0..{top}, not 8-bit pixels. For values in [0, 1] divide by "
        f"{max(top, 1)} yourself (save float32 x / {max(top, 1)}); for an integer likelihood "
        f"(categorical, logistic_mixture with num_values={top + 1}) load the raw levels "
        "(normalize=False; the command line does this for those likelihoods).",
        FewLevelsWarning, stacklevel=3,
    )


def load_npz(path: str | os.PathLike, key: str | None = None) -> np.ndarray:
    """One array from a ``.npz`` (or ``.npy``) file.

    Args:
        path: the file.
        key: which array of an ``.npz``; may be omitted when the file holds one
            array, or holds one named ``"x"``.

    Raises:
        KeyError: ``key`` is absent (the message lists the keys present).
        ValueError: no key given and the choice is ambiguous.

    Example:
        >>> import numpy as np, tempfile, os
        >>> from keras_vae.datasets import load_npz
        >>> f = os.path.join(tempfile.mkdtemp(), "d.npz")
        >>> np.savez(f, x=np.zeros((3, 2)), y=np.arange(3))
        >>> load_npz(f).shape, load_npz(f, "y").tolist()
        ((3, 2), [0, 1, 2])
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    if path.suffix == ".npy":
        if key is not None:
            raise ValueError(f"{path} is a .npy file holding one array; do not pass key=.")
        return np.load(path, allow_pickle=False)
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.files)
        if key is None:
            if len(keys) == 1:
                key = keys[0]
            elif "x" in keys:
                key = "x"
            else:
                raise ValueError(f"{path} holds several arrays {keys}; choose one with key=.")
        if key not in keys:
            raise KeyError(f"{path} has no array {key!r}; it holds {keys}.")
        return data[key]


def load_image_folder(
    path: str | os.PathLike,
    image_size: tuple[int, int] | None = None,
    color_mode: str = "auto",
    normalize: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load a folder of images (PNG, JPEG, BMP, GIF) as float32 arrays in [0, 1], or
    as their raw uint8 levels (``normalize=False``: what the integer-valued
    likelihoods, ``categorical`` and ``logistic_mixture``, take).

    Images directly in ``path`` are unlabeled; images in subdirectories get the
    label of their subdirectory (its index in the sorted subdirectory names, as in
    ``keras.utils.image_dataset_from_directory``). Files are read in sorted order.

    Args:
        path: the folder.
        image_size: ``(height, width)`` to resize every image to (bilinear,
            antialiased); ``None`` requires all images to have the same size.
        color_mode: ``"auto"`` (the default: 3 channels when any image has colour,
            else 1; alpha is dropped), ``"grayscale"`` (1 channel), ``"rgb"`` (3) or
            ``"rgba"`` (4).
        normalize: ``True``: float32 in [0, 1] (``x / 255``; a warning when the
            images' maximum is far below 255, see :func:`warn_if_few_levels`);
            ``False``: the stored uint8 levels (resized images rounded back to
            levels).

    Returns:
        ``(x, y)``: ``x`` of shape ``(N, height, width, channels)``, float32 in
        [0, 1] (or uint8); ``y`` int64 labels, or ``None`` when there are no class
        folders.

    Example:
        >>> from keras_vae.datasets import load_image_folder
        >>> x, y = load_image_folder("digits/", image_size=(28, 28))  # doctest: +SKIP
    """
    import tensorflow as tf

    if color_mode != "auto" and color_mode not in _COLOR_CHANNELS:
        raise ValueError(
            f"color_mode must be 'auto' or one of {tuple(_COLOR_CHANNELS)}, got {color_mode!r}."
        )
    root = pathlib.Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"No such directory: {root}")

    def images_in(directory: pathlib.Path) -> list[pathlib.Path]:
        return sorted(
            p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in _IMAGE_EXTENSIONS
        )

    direct = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_EXTENSIONS)
    classes = sorted(p for p in root.iterdir() if p.is_dir() and images_in(p))
    if direct and classes:
        raise ValueError(
            f"{root} mixes images at the top level with class subfolders "
            f"({[c.name for c in classes]}); put every image in a class folder or none."
        )
    if classes:
        files, labels = [], []
        for index, folder in enumerate(classes):
            found = images_in(folder)
            files += found
            labels += [index] * len(found)
        y = np.asarray(labels, np.int64)
    else:
        files, y = direct, None
    if not files:
        raise ValueError(f"No images ({', '.join(_IMAGE_EXTENSIONS)}) found in {root}.")

    decoded = []
    for file in files:
        try:
            decoded.append(tf.io.decode_image(file.read_bytes(), expand_animations=False))
        except tf.errors.OpError as error:
            raise ValueError(f"Cannot decode image {file}: {error.message}") from None
    if color_mode == "auto":
        color_mode = "rgb" if any(_has_colour(image.numpy()) for image in decoded) else "grayscale"
    channels = _COLOR_CHANNELS[color_mode]
    arrays = []
    for image in decoded:
        image = _to_channels(image, channels, tf)
        image = tf.cast(image, tf.float32)
        if image_size is not None:
            image = tf.image.resize(image, tuple(image_size), method="bilinear", antialias=True)
        arrays.append(np.clip(image.numpy(), 0.0, 255.0).astype(np.float32))
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise ValueError(
            f"Images in {root} have different sizes {shapes[:5]}; pass image_size=(h, w) "
            "to resize them."
        )
    x = np.stack(arrays)
    levels = np.round(x).astype(np.uint8)  # resized images rounded back to levels
    if not normalize:
        return levels, y
    warn_if_few_levels(levels, root)
    return np.clip(x / 255.0, 0.0, 1.0).astype(np.float32), y


def _has_colour(image: np.ndarray) -> bool:
    """Whether a decoded (h, w, c) image has colour (RGB channels that differ)."""
    if image.shape[-1] < 3:
        return False
    rgb = image[..., :3]
    return bool(np.any(rgb[..., 0] != rgb[..., 1]) or np.any(rgb[..., 1] != rgb[..., 2]))


def _to_channels(image, channels: int, tf):
    """A decoded image (1 to 4 channels) with ``channels`` channels."""
    have = int(image.shape[-1])
    if have == channels:
        return image
    if have == 2:  # grey + alpha
        image, have = image[..., :1], 1
    if have == 4 and channels != 4:
        image, have = image[..., :3], 3
    if have == channels:
        return image
    if have == 1:
        image = tf.image.grayscale_to_rgb(image)
        return image if channels == 3 else tf.concat([image, tf.fill(tf.shape(image[..., :1]), tf.constant(255, image.dtype))], -1)
    if channels == 1:
        return tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))), image.dtype)
    return tf.concat([image, tf.fill(tf.shape(image[..., :1]), tf.constant(255, image.dtype))], -1)


def _load_array_file(path: pathlib.Path, split: str, normalize: bool):
    if path.suffix == ".npy":
        x, y = np.load(path, allow_pickle=False), None
    else:
        with np.load(path, allow_pickle=False) as data:
            keys = list(data.files)
            x_key = next((k for k in (f"x_{split}", "x") if k in keys), None)
            if x_key is None and len(keys) == 1:
                x_key = keys[0]
            if x_key is None:
                raise ValueError(
                    f"{path} holds the arrays {keys}, none named 'x_{split}' or 'x': save the "
                    f"data under the name 'x' (or 'x_train' / 'x_test'), e.g. "
                    f"numpy.savez(file, x=data)."
                )
            y_key = {"x": "y", f"x_{split}": f"y_{split}"}.get(x_key)
            x = data[x_key]
            y = data[y_key] if y_key in keys else None
    _check_not_labels(x, path)
    if normalize and x.dtype == np.uint8:
        warn_if_few_levels(x, path)
        # A stack of 8-bit grayscale images (N, H, W) gets a channel axis.
        x = _format_images(x, True) if x.ndim == 3 else x.astype(np.float32) / np.float32(255.0)
    return x, (None if y is None else np.asarray(y))


def _check_not_labels(x: np.ndarray, path) -> None:
    """Refuse an array that holds class labels (one integer per example), not data."""
    if x.ndim == 1:
        hint = (
            " It looks like a labels file (one integer per example)"
            if np.issubdtype(x.dtype, np.integer)
            else ""
        )
        raise ValueError(
            f"{path} holds a 1-D array of shape {x.shape}, not examples.{hint} Give the "
            "data file instead: one example per row (N, features) or per image (N, H, W[, C])."
        )
