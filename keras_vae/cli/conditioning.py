"""The condition on the command line: where ``keras-vae train --condition-column NAME``
finds it in the data, which condition component takes it, the conditioned training
pipeline, and ``keras-vae sample --condition VALUE``.

Where the condition comes from (``NAME``):

* a CSV / TSV file: the column ``NAME`` (left out of the features). Numbers are the
  condition as they are; a text column's values are classes (sorted names, numbered
  from 0);
* an ``.npz`` file: the array ``NAME_<split>`` or ``NAME`` (one row per example);
* an image folder, MNIST, Fashion-MNIST or ``sample``: ``NAME`` = ``label``, the data
  set's own labels (for an image folder its class sub-folders, numbered in sorted
  order, as ``keras.utils.image_dataset_from_directory``).

Integer labels become a ``one_hot`` condition (``num_classes`` = the largest label + 1),
other values a ``vector`` condition; ``--condition-type`` chooses. The run folder's
``condition.json`` records the column, the type and the class names, which
``keras-vae sample --condition`` reads.
"""
from __future__ import annotations

import csv
import json
import os
import pathlib
from typing import Any

import numpy as np

from keras_vae.cli.errors import UsageError

#: ``--condition-column label``: the data set's own labels.
LABELS = "label"
#: the run-folder file that says what the condition is.
CONDITION_FILE = "condition.json"
CONDITION_TYPES = ("one_hot", "vector")


def _flag(column: str) -> str:
    return f"--condition-column {column!r}"


def _table_column(path: str, column: str) -> tuple[np.ndarray, list[str] | None]:
    """``(values, class names or None)`` of one column of a CSV / TSV file."""
    from keras_vae.datasets.tabular import _delimiter

    with open(path, newline="", encoding="utf-8") as f:
        sample = f.read(64 * 1024)
        f.seek(0)
        rows = [row for row in csv.reader(f, delimiter=_delimiter(pathlib.Path(path), sample)) if row]
    header = [cell.strip() for cell in rows[0]] if rows else []
    if column not in header:
        raise UsageError(
            f"{_flag(column)}: {path} has no column {column!r} (its columns: {', '.join(header) or 'none'})."
        )
    j = header.index(column)
    cells = [row[j].strip() if j < len(row) else "" for row in rows[1:]]
    empty = [i for i, cell in enumerate(cells) if cell == ""]
    if empty:
        raise UsageError(f"{_flag(column)}: row {empty[0] + 1} of {path} has no value in column {column!r}; fill it in.")
    try:
        values = np.asarray([float(cell) for cell in cells], np.float64)
    except ValueError:
        classes = sorted(set(cells))
        return np.asarray([classes.index(cell) for cell in cells], np.int64), classes
    return values, None


def _npz_array(path: str, key: str, split: str) -> np.ndarray | None:
    with np.load(path, allow_pickle=False) as data:
        for name in (f"{key}_{split}", key):
            if name in data.files:
                return np.asarray(data[name])
        if key == LABELS:
            return None  # the file's y / y_<split>, read with x
        raise UsageError(f"{_flag(key)}: {path} holds no array {key!r} or {key + '_' + split!r} (its arrays: {', '.join(data.files)}).")


def _folder_classes(dataset: str, split: str) -> list[str] | None:
    folder = os.path.join(dataset, split) if os.path.isdir(os.path.join(dataset, split)) else dataset
    if not os.path.isdir(folder):
        return None
    return sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))) or None


def read_condition(dataset: str, column: str, split: str, labels: Any, num_examples: int | None) -> tuple[np.ndarray, list[str] | None]:
    """The raw condition of each example of ``split`` and its class names (or None).

    Args:
        dataset: the DATASET argument.
        column: ``--condition-column``.
        split: ``"train"`` or ``"test"``.
        labels: the labels the data set's loader returned with x (or None).
        num_examples: how many examples x holds (None: not checked).

    Raises:
        UsageError: no such column / array, no labels, NaN or inf, or a length
            that is not one per example; each message names the column.
    """
    from keras_vae import datasets

    extension = os.path.splitext(dataset)[1].lower()
    classes = None
    if extension in datasets.TABULAR_EXTENSIONS and os.path.isfile(dataset):
        values, classes = _table_column(dataset, column)
    elif extension == ".npz" and os.path.isfile(dataset):
        values = _npz_array(dataset, column, split)
        if values is None:
            values = labels
    elif column == LABELS:
        values = labels
        classes = _folder_classes(dataset, split) if os.path.isdir(dataset) else None
    else:
        raise UsageError(
            f"{_flag(column)}: {dataset!r} has no named columns; use --condition-column {LABELS} "
            "for the labels of a data set or of an image folder's class sub-folders, a column "
            "of a CSV / TSV file, or an array of an .npz file."
        )
    if values is None:
        raise UsageError(
            f"{_flag(column)}: {dataset!r} has no labels (an image folder needs class "
            "sub-folders; an .npz file an array y or y_<split>)."
        )
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise UsageError(f"{_flag(column)}: the condition must hold numbers, got dtype {values.dtype}.")
    if not np.all(np.isfinite(values)):
        row = int(np.argwhere(~np.isfinite(values.reshape(len(values), -1)))[0][0])
        raise UsageError(
            f"{_flag(column)}: the condition holds NaN or inf (first at row {row + 1} of the "
            f"{split} split); fill in or remove those rows."
        )
    if num_examples is not None and len(values) != num_examples:
        raise UsageError(
            f"{_flag(column)}: {len(values)} conditions for {num_examples} examples of the "
            f"{split} split; give one per example."
        )
    return values, classes


def condition_spec(kind: str | None, c_train: np.ndarray, c_test: np.ndarray, column: str) -> dict:
    """The model's ``condition=`` argument: ``one_hot`` for integer labels (``kind``
    None), ``vector`` otherwise.

    Example:
        >>> import numpy as np
        >>> condition_spec(None, np.array([0, 2, 1]), np.array([1]), "label")
        {'name': 'one_hot', 'num_classes': 3}
        >>> condition_spec(None, np.array([[0.5, 1.0]]), np.array([[2.0, 0.0]]), "cov")
        {'name': 'vector', 'shape': (2,)}
    """
    both = np.concatenate([c_train.reshape(len(c_train), -1), c_test.reshape(len(c_test), -1)])
    integral = both.shape[1] == 1 and c_train.ndim == 1 and bool(np.all(both == np.round(both))) and both.min() >= 0
    kind = kind or ("one_hot" if integral else "vector")
    if kind == "one_hot":
        if not integral:
            raise UsageError(
                f"--condition-type one_hot needs one integer label >= 0 per example; {_flag(column)} "
                "holds other values (use --condition-type vector)."
            )
        num_classes = int(both.max()) + 1
        if num_classes < 2:
            raise UsageError(f"{_flag(column)}: every label is 0; a one-hot condition needs at least 2 classes.")
        return {"name": "one_hot", "num_classes": num_classes}
    if kind == "vector":
        shape = tuple(int(d) for d in c_train.shape[1:]) or (1,)
        return {"name": "vector", "shape": shape}
    raise UsageError(f"--condition-type must be one of {', '.join(CONDITION_TYPES)}, got {kind!r}.")


def as_model_input(c: np.ndarray, spec: dict) -> np.ndarray:
    """The raw condition in the dtype and shape the condition layer takes."""
    if spec["name"] == "one_hot":
        return np.asarray(c, np.int32).reshape(-1)
    return np.asarray(c, np.float32).reshape(len(c), *spec["shape"])


def pipeline(x: np.ndarray, c: np.ndarray, batch_size: int, seed: int, binarize: bool):
    """``(dataset of {"x", "condition"} batches, epoch callback)``: the order (and the
    dynamic binarization) of ``keras_vae.datasets.epoch_pipeline``, with each example's
    condition beside it (the pipeline runs over row numbers that pick both)."""
    import tensorflow as tf

    from keras_vae import datasets

    rows, counter = datasets.epoch_pipeline(
        np.arange(len(x), dtype=np.float32)[:, None], batch_size=batch_size, seed=seed, shuffle=True
    )
    xs, cs = tf.constant(np.asarray(x, np.float32)), tf.constant(c)
    epoch, seed = counter.epoch_variable, int(seed) % (2**31 - 1)

    def gather(batch_index, index):
        index = tf.cast(tf.reshape(index, [-1]), tf.int32)
        batch = tf.gather(xs, index)
        if binarize:  # as epoch_pipeline: fresh draws from (seed, epoch, batch)
            key = tf.stack([tf.constant(seed, tf.int64) + 1, epoch.read_value() * 1_000_003 + batch_index])
            batch = tf.cast(tf.random.stateless_uniform(tf.shape(batch), seed=key) < batch, tf.float32)
        return {"x": batch, "condition": tf.gather(cs, index)}

    return rows.enumerate().map(gather).prefetch(2), counter


def write_record(run_dir: str, column: str, spec: dict, classes: list[str] | None) -> None:
    """``condition.json``: the column, the condition component and class names."""
    with open(os.path.join(run_dir, CONDITION_FILE), "w", encoding="utf-8") as f:
        json.dump({"column": column, "condition": spec, "classes": classes}, f, indent=2)


def _record(model_path: str) -> dict:
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), CONDITION_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def describe(vae) -> str:
    """``one_hot, 10 classes`` / ``vector of shape (2,)``."""
    layer = vae.condition_layer
    if hasattr(layer, "num_classes"):
        return f"{layer.component_name}, {layer.num_classes} classes: labels 0..{layer.num_classes - 1}"
    return f"{layer.component_name} of shape {layer.example_shape}: comma-separated numbers"


def parse_value(text: str | None, vae, model_path: str, n: int) -> np.ndarray | None:
    """``--condition VALUE`` of ``keras-vae sample``, repeated for ``n`` samples.

    A label (or a class name of ``condition.json`` beside the model) for a one-hot
    model, comma-separated numbers for a vector condition.

    Raises:
        UsageError: a condition for an unconditioned model, none for a conditioned
            one, or a value the model's condition refuses (NaN, out of range, shape).
    """
    layer = getattr(vae, "condition_layer", None)
    if layer is None:
        if text is not None:
            raise UsageError(f"--condition: {model_path} is not conditioned; drop --condition.")
        return None
    if text is None:
        raise UsageError(f"{model_path} is conditioned ({describe(vae)}): give --condition VALUE, e.g. --condition 0.")
    classes = _record(model_path).get("classes") or []
    cells = [cell.strip() for cell in text.split(",")]
    if len(cells) == 1 and cells[0] in classes:
        cells = [str(classes.index(cells[0]))]
    try:
        values = np.asarray([float(cell) for cell in cells], np.float64)
    except ValueError:
        names = f" or a class name ({', '.join(classes)})" if classes else ""
        raise UsageError(f"--condition {text!r}: expected numbers{names}; this model takes {describe(vae)}.") from None
    shape = tuple(layer.example_shape)
    if int(np.prod(shape)) != values.size:
        raise UsageError(f"--condition {text!r}: {values.size} value(s), but this model takes {describe(vae)}.")
    batch = np.broadcast_to(values.reshape(shape), (n, *shape)).copy()
    try:
        layer.check_array(batch, f"--condition {text!r}")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return batch.astype(layer.input_dtype)


def column_of(vae, model_path: str) -> str | None:
    """Where a conditioned model's condition is in the data: the column its run
    recorded (``condition.json`` beside the model); None for an unconditioned model.

    Raises:
        UsageError: a conditioned model without that record.
    """
    if getattr(vae, "condition_layer", None) is None:
        return None
    column = _record(model_path).get("column")
    if column is None:
        raise UsageError(
            f"{model_path} is conditioned ({describe(vae)}), but no {CONDITION_FILE} beside it says "
            "where its condition is in DATA (keras-vae train --condition-column writes it); in "
            "Python give it with condition=, e.g. vae.log_likelihood(x, condition=c)."
        )
    return column


def model_input(vae, c: np.ndarray, column: str) -> np.ndarray:
    """Conditions read from the data, as ``vae``'s condition layer takes them (checked)."""
    layer = vae.condition_layer
    spec = ({"name": "one_hot"} if hasattr(layer, "num_classes")
            else {"name": "vector", "shape": tuple(layer.example_shape)})
    c = as_model_input(c, spec)
    try:
        layer.check_array(c, _flag(column))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return c

