"""Numbers for people: prices at their instrument's decimal places, other numbers as sent.

A market quotes with a fixed number of decimals (EUR/USD 5, gold 2). The API states it
(``snapshot.decimalPlacesFactor``) and every quote shows it, so a column of prices is printed
with that many places: ``2,317.50`` beside ``2,317.80``, ``0.00006`` rather than ``6e-05``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

MAX_PLACES = 10


def places_of(value: float | None) -> int:
    """Decimal places of a number as sent (its shortest repr): ``1.05466`` -> 5, ``2317.5`` -> 1."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return 0
    exponent = Decimal(repr(float(value))).as_tuple().exponent
    return min(MAX_PLACES, max(0, -exponent)) if isinstance(exponent, int) else 0


def price_places(values: Iterable[float | None], known: int | None = None) -> int:
    """The decimal places of an instrument's prices: ``known`` (the market's own
    ``decimalPlacesFactor``) when given, else the most any of its quotes ``values`` shows."""
    if known is not None and known >= 0:
        return min(MAX_PLACES, known)
    return max((places_of(v) for v in values), default=0)


def price(value: float | None, places: int) -> str | None:
    """A price with exactly ``places`` decimals and thousands separators; None stays None."""
    if value is None:
        return None
    return f"{value:,.{places}f}"


def number(value: float) -> str:
    """A quantity (size, volume, amount) as sent: no ``.0`` on whole numbers, no exponent."""
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.{places_of(value)}f}"
