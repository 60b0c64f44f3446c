"""CSV / TSV files: one example per row, numeric columns as features."""
from __future__ import annotations

import csv
import os
import pathlib
import warnings
from typing import Sequence

import numpy as np

TABULAR_EXTENSIONS = (".csv", ".tsv", ".tab", ".txt")


class DroppedColumnsWarning(UserWarning):
    """Non-numeric columns of a table were left out (the message names them)."""


class Table:
    """The numeric part of a CSV / TSV file.

    Attributes:
        x: float32 array ``(rows, features)``.
        columns: the feature names (the header's, or ``column_1`` ... without one).
        dropped: names of the non-numeric columns left out.
        has_header: whether the first line was read as a header.
    """

    def __init__(self, x: np.ndarray, columns: list[str], dropped: list[str], has_header: bool):
        self.x = x
        self.columns = columns
        self.dropped = dropped
        self.has_header = has_header


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _delimiter(path: pathlib.Path, sample: str) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t ").delimiter
    except csv.Error:
        return ","


def read_table(path: str | os.PathLike, drop_columns: Sequence[str] | None = None) -> Table:
    """Read the numeric columns of a CSV / TSV file; nothing is dropped silently.

    The delimiter is a tab for ``.tsv`` / ``.tab`` and sniffed otherwise (comma,
    semicolon, tab or space). The first line is a header when any of its cells is
    not a number while the column below it is numeric. The rule for each column:

    * every cell a number: a feature;
    * mostly text (fewer than half of its filled cells are numbers: names,
      categories, dates): left out and listed in :attr:`Table.dropped` (the
      loaders and the command line name them);
    * mostly numbers with some cells that are not (``unknown``, ``1,234.5``,
      ``12 kg``): an error naming the file, line, column and cell, with the fix
      (clean the cell, or leave the column out with ``drop_columns``);
    * an empty cell or ``nan`` / ``na`` in a numeric column: an error naming its
      line and column.

    Args:
        path: the file.
        drop_columns: column names (the header's, or ``column_<j>``) to leave out
            before reading.

    Returns:
        A :class:`Table`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: no rows, no numeric column, ragged rows, missing values, a bad
            cell in a numeric column, or an unknown name in ``drop_columns``.

    Example:
        >>> import os, tempfile
        >>> from keras_vae.datasets import read_table
        >>> f = os.path.join(tempfile.mkdtemp(), "t.csv")
        >>> _ = open(f, "w").write("name,height,weight\\nann,1.6,60\\nbob,1.8,80\\n")
        >>> table = read_table(f)
        >>> table.x.tolist(), table.columns, table.dropped
        ([[1.600000023841858, 60.0], [1.7999999523162842, 80.0]], ['height', 'weight'], ['name'])
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    text = path.read_text(encoding="utf-8-sig")
    delimiter = _delimiter(path, text[:8192])
    rows = [row for row in csv.reader(text.splitlines(), delimiter=delimiter, skipinitialspace=True)
            if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path} holds no rows.")
    width = len(rows[0])
    for number, row in enumerate(rows, 1):
        if len(row) != width:
            raise ValueError(
                f"{path}, row {number}: {len(row)} values where the first row has {width}; "
                "every row needs the same number of columns."
            )
    # A header: the first line has a cell that is not a number.
    has_header = any(_number(cell) is None for cell in rows[0])
    header = [cell.strip() for cell in rows[0]] if has_header else [f"column_{j + 1}" for j in range(width)]
    body = rows[1:] if has_header else rows
    if not body:
        raise ValueError(f"{path} holds a header and no data rows.")
    drop_columns = [] if drop_columns is None else [str(c) for c in drop_columns]
    unknown = [c for c in drop_columns if c not in header]
    if unknown:
        raise ValueError(f"{path}: drop_columns names {unknown}, which are not columns of the file ({header}).")
    offset = 1 + (1 if has_header else 0)  # line number of body row 0
    keep, dropped = [], []
    for j in range(width):
        if header[j] in drop_columns:
            continue
        cells = [row[j].strip() for row in body]
        missing = [i for i, cell in enumerate(cells) if not cell or cell.lower() in ("nan", "na")]
        values = [_number(cell) for cell in cells]
        numeric = sum(v is not None for v in values)
        bad = [i for i, (cell, v) in enumerate(zip(cells, values)) if v is None and i not in set(missing)]
        filled = len(body) - len(missing)
        if numeric == len(body) and not missing:
            keep.append(j)
        elif bad and 2 * numeric >= filled:
            i = bad[0]
            raise ValueError(
                f"{path}, line {i + offset}, column {header[j]!r}: the cell {body[i][j].strip()!r} is "
                f"not a number, in a column of numbers ({len(bad)} such cell(s) of {len(body)}). "
                "Clean the cell (e.g. write 1234.5 for '1,234.5', leave units out), or leave the "
                f"column out: keras-vae ... --drop-columns {header[j]} (in Python, "
                f"read_table(path, drop_columns=[{header[j]!r}]))."
            )
        elif missing and not bad:
            raise ValueError(
                f"{path}, line {missing[0] + offset}, column {header[j]!r}: missing value. Fill or "
                "drop the rows with missing values first."
            )
        else:
            dropped.append(header[j])
    if not keep:
        raise ValueError(f"{path} has no numeric column (columns: {header}).")
    x = np.asarray([[float(row[j]) for j in keep] for row in body], dtype=np.float32)
    if not np.all(np.isfinite(x)):
        i, j = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{path}: row {i + 1}, column {header[keep[j]]!r} is not finite ({x[i, j]}).")
    return Table(x, [header[j] for j in keep], dropped, has_header)


def load_table(path: str | os.PathLike, drop_columns: Sequence[str] | None = None) -> tuple[np.ndarray, None]:
    """``(x, None)`` from a CSV / TSV file: see :func:`read_table`. Columns left out
    because they are not numeric are named in a :class:`DroppedColumnsWarning`."""
    table = read_table(path, drop_columns=drop_columns)
    if table.dropped:
        warnings.warn(
            f"{path}: left out {len(table.dropped)} non-numeric column(s): "
            f"{', '.join(table.dropped)} (only numeric columns are features; encode a "
            "category as numbers to keep it).",
            DroppedColumnsWarning, stacklevel=3,
        )
    return table.x, None
