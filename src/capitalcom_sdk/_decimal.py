"""Prices and amounts as ``Decimal``: the opt-in to the models' ``float`` (docs/data.md)."""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["to_decimal"]


def to_decimal(value: float | int | str | Decimal | None) -> Decimal | None:
    """The decimal number the API sent for a price or amount the models hold as ``float``.

    Exact: a JSON number of up to 15 significant digits (every price, level, size and amount
    the API sends) becomes the nearest binary float, and Python's ``repr`` of that float is the
    shortest text that reads back to it, which is the sent text (without trailing zeros). So
    ``to_decimal(position.level)`` is ``Decimal("1.08123")``, never
    ``Decimal("1.0812299999999999...")`` as ``Decimal(1.08123)`` would be.

    None (and NaN) stay None; ``str`` and ``int`` are converted as they are.

    Raises:
        ValueError: an infinite value, or text that is not a number.
    """
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise ValueError(f"not a finite number: {value!r}")
        return Decimal(repr(value))
    try:
        result = Decimal(value)
    except ArithmeticError:
        raise ValueError(f"not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result
