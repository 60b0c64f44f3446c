"""The error a data set that cannot be found raises."""
from __future__ import annotations

class DatasetNotFoundError(FileNotFoundError):
    """A data set was found in none of the places searched (and not downloaded).

    A subclass of ``FileNotFoundError`` (hence of ``OSError``). ``tried`` lists each
    place searched with the reason it failed; ``dataset`` and ``split`` name
    what was looked for (``None`` when not known).
    """

    def __init__(
        self,
        message: str,
        tried: list[str] | None = None,
        dataset: str | None = None,
        split: str | None = None,
    ):
        super().__init__(message)
        self.tried = list(tried or [])
        self.dataset = dataset
        self.split = split
