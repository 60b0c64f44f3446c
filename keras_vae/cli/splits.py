"""Held-out rows of a data file without a test split, the same in ``train`` and
``evaluate``.

``keras-vae train FILE`` holds out 10 % of the rows of a file that has no separate
test split (a CSV, an ``.npy``, an image folder without ``train/`` / ``test/``),
chosen by ``--seed``, and writes which rows to ``split.json`` in the run folder.
``keras-vae evaluate MODEL FILE`` then scores exactly those rows by default
(``--split test``), the others with ``--split train``, and every row with
``--split all``, and says which it scored. Without ``split.json`` (a model file
moved away from its run folder) the rows are drawn again from the model's seed,
which is the ``--seed`` that ``train`` used.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

SPLIT_FILE = "split.json"
#: the fraction of rows held out for testing.
HOLDOUT = 0.1


def holdout_rows(num_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(test_rows, train_rows)``: row numbers (0-based, in file order) of a seeded
    10 % holdout (at least one row), each in the order ``train`` uses them.

    Example:
        >>> from keras_vae.cli.splits import holdout_rows
        >>> test, train = holdout_rows(20, seed=0)
        >>> len(test), len(train), sorted(set(test) | set(train)) == list(range(20))
        (2, 18, True)
    """
    order = np.random.default_rng(seed).permutation(num_rows)
    n_test = max(1, int(num_rows * HOLDOUT))
    return order[:n_test], order[n_test:]


def same_data(a: str, b: str) -> bool:
    """Whether two DATA arguments name the same file or data set."""
    norm = lambda p: os.path.realpath(os.path.expanduser(p)) if os.path.exists(os.path.expanduser(p)) else p.lower()  # noqa: E731
    return norm(str(a)) == norm(str(b))


def write_split(run_dir: str, data: str, num_rows: int, seed: int, test_rows, limit: int | None) -> str:
    """Record the held-out rows of ``data`` in ``run_dir/split.json``; its path."""
    path = os.path.join(run_dir, SPLIT_FILE)
    record = {
        "data": os.path.realpath(data) if os.path.exists(data) else data,
        "num_rows": int(num_rows),
        "seed": int(seed),
        "limit": limit,
        "test_rows": sorted(int(i) for i in test_rows),
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(record, f)
    return path


def read_split(model_path: str) -> dict[str, Any] | None:
    """The ``split.json`` beside ``model_path``, or ``None``."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), SPLIT_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def select(x: np.ndarray, y, data: str, split: str, model_path: str, seed: int):
    """The rows of a file without a test split that ``split`` names: ``(x, y, note,
    rows)``, ``rows`` their 0-based numbers in the file.

    ``split`` is ``"test"`` (the rows ``train`` held out), ``"train"`` (the others)
    or ``"all"``. ``note`` says which rows were taken.
    """
    n = len(x)
    if split == "all":
        return x, y, f"all {n} rows", np.arange(n)
    record = read_split(model_path)
    if record is not None and same_data(record["data"], data) and record["num_rows"] == n:
        test = np.asarray(record["test_rows"], np.int64)
        source = f"the rows train held out, recorded in {SPLIT_FILE}"
    else:
        test, _ = holdout_rows(n, seed)
        test = np.sort(test)
        source = f"the rows train holds out with seed {seed}, drawn again (no matching {SPLIT_FILE} beside the model)"
    if split == "test":
        rows = test
    else:
        mask = np.ones(n, bool)
        mask[test] = False
        rows = np.flatnonzero(mask)
    shown = ", ".join(str(int(i) + 1) for i in rows[:8]) + (", ..." if len(rows) > 8 else "")
    what = "held-out" if split == "test" else "training"
    note = f"{len(rows)} {what} rows of {n} ({source}; rows {shown}, counted from 1); --split all scores every row"
    return x[rows], (None if y is None else y[rows]), note, rows


def load_rows(data: str, split: str, vae, model_path: str, condition_column: str | None = None):
    """``(x, y, note, rows)``: the rows of DATA that ``split`` names for a saved model
    (``rows``: their 0-based numbers in the file, or in the split).

    A data set with its own train / test splits (MNIST, an ``.npz`` with
    ``x_train`` / ``x_test``, an image folder with ``train/`` / ``test/``) gives that
    split (``"all"``: both). A file without one gives the rows ``train`` held out
    (``"test"``), the others (``"train"``) or every row (``"all"``), see
    :func:`select`. Raw levels for an integer-valued likelihood, as
    :func:`keras_vae.cli.levels.load`. With ``condition_column`` (a conditioned
    model's, :func:`keras_vae.cli.conditioning.column_of`) ``y`` is the condition of
    each row, read as ``train`` read it (a table's column is not a feature).
    """
    import warnings

    from keras_vae.cli import levels
    from keras_vae.cli.output import relay_warnings

    # A table's columns left out at training (the run's config.json) are left out here too.
    config = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    drop = None
    if os.path.isfile(config):
        try:
            with open(config, encoding="utf-8") as f:
                drop = json.load(f).get("drop_columns")
        except (OSError, ValueError):
            drop = None
    table = os.path.splitext(str(data))[1].lower() in (".csv", ".tsv", ".tab", ".txt")
    if condition_column is not None and table:
        from keras_vae.cli.conditioning import read_condition

        read_condition(data, condition_column, "train", None, None)  # the column is there
        drop = [*(drop or []), condition_column]
    extra = {"drop_columns": drop} if drop and table else {}
    first = "train" if split == "all" else split
    with relay_warnings():
        x, y = levels.load(data, first, vae=vae, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other, other_y = levels.load(data, "test" if first == "train" else "train", vae=vae, **extra)
    if condition_column is not None:
        from keras_vae.cli.conditioning import read_condition

        y, _ = read_condition(data, condition_column, first, y, len(x))
        other_y, _ = read_condition(data, condition_column, "test" if first == "train" else "train", other_y, len(other))
    single = np.shape(x) == np.shape(other) and np.array_equal(x, other)
    if single:
        return select(x, y, data, split, model_path, int(getattr(vae, "seed", 0)))
    if split == "all":
        both_y = None if y is None or other_y is None else np.concatenate([y, other_y])
        n = len(x) + len(other)
        return np.concatenate([x, other]), both_y, f"both splits, {n} examples", np.arange(n)
    return x, y, f"{split} split, {len(x)} examples", np.arange(len(x))
