"""What the 8-bit (k-level) likelihoods share: the levels argument and its support rule."""
from __future__ import annotations

import numbers


def check_num_values(owner: str, num_values) -> int:
    """``num_values`` as an int >= 2, or a ``ValueError`` naming the fix."""
    if isinstance(num_values, bool) or not isinstance(num_values, numbers.Integral) or num_values < 2:
        raise ValueError(
            f"{owner} num_values must be an integer >= 2 (256 for 8-bit data), got {num_values!r}."
        )
    return int(num_values)


def levels_fix(num_values: int) -> str:
    top = num_values - 1
    return (
        f"Pass the raw levels 0..{top} as stored (e.g. uint8 pixels, not x / 255.0; "
        f"undo any rescaling with np.round(x * {top})), or use 'continuous_bernoulli' "
        "for data in [0, 1]."
    )
