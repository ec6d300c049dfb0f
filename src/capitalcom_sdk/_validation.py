"""Client-side checks of request arguments, run before anything is sent.

Pure functions: each returns the value in its wire form or raises
:class:`~capitalcom_sdk.errors.RequestValidationError` naming the offending field (wire name).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from capitalcom_sdk.errors import RequestValidationError
from capitalcom_sdk.models.enums import Direction, OrderType, Resolution

API_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
MAX_SEARCH_EPICS = 50
MAX_LIST_EPICS = MAX_SEARCH_EPICS
"""Epics in one request's list (a watchlist's ``epics``, sentiment's ``marketIds``): SPEC 4
documents 50 for ``GET /markets?epics=``, the only documented limit of a list of epics."""
MAX_PRICE_BARS = 1000
MAX_LAST_PERIOD = 86_400
TOP_UP_LIMIT = 400_000.0
WATCHLIST_NAME_LENGTH = (1, 20)
NAVIGATION_LIMIT = (1, 500)
MAX_SIZE = 1e9
"""Sanity bound of a deal size (no market allows more; each has its own ``maxDealSize``)."""
MAX_NUMBER = 1e12
"""Sanity bound of a level, distance or amount (no price comes near it); sizes have MAX_SIZE."""
MAX_IDENTIFIER_LENGTH = 128
MAX_FILTER_LENGTH = 2000

STOP_FIELDS = ("stopLevel", "stopDistance", "stopAmount")
PROFIT_FIELDS = ("profitLevel", "profitDistance", "profitAmount")


def _shown(value: Any) -> str:
    """``repr(value)`` kept short (a 10,000-character string or a 400-digit number)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _number(value: Any, field: str, maximum: float = MAX_NUMBER) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestValidationError(field, f"must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range (10**400)
        raise RequestValidationError(
            field, f"must be a finite number of at most {maximum:g}, got {_shown(value)}"
        ) from None
    if not math.isfinite(number):
        raise RequestValidationError(field, f"must be finite, got {_shown(value)}")
    if abs(number) > maximum:
        raise RequestValidationError(field, f"must be at most {maximum:g}, got {_shown(value)}")
    return number


def positive(value: Any, field: str, maximum: float = MAX_NUMBER) -> float:
    """A finite number > 0 and at most ``maximum``."""
    number = _number(value, field, maximum)
    if number <= 0:
        raise RequestValidationError(field, f"must be > 0, got {_shown(value)}")
    return number


def size(value: Any, field: str = "size") -> float:
    """A deal size: finite, > 0 and at most :data:`MAX_SIZE`."""
    return positive(value, field, MAX_SIZE)


def direction(value: Any, field: str = "direction") -> str:
    """``BUY`` or ``SELL``; a :class:`Direction` or a case-insensitive string."""
    if isinstance(value, str) and value.strip().upper() in Direction.__members__:
        return value.strip().upper()
    raise RequestValidationError(field, f"must be BUY or SELL, got {_shown(value)}")


def order_type(value: Any, field: str = "type") -> str:
    """``LIMIT`` or ``STOP``; an :class:`OrderType` or a case-insensitive string."""
    if isinstance(value, str) and value.strip().upper() in OrderType.__members__:
        return value.strip().upper()
    raise RequestValidationError(field, f"must be LIMIT or STOP, got {_shown(value)}")


def resolution(value: Any, field: str = "resolution") -> Resolution:
    """One of the eight resolutions (case-insensitive)."""
    if isinstance(value, str) and value.strip().upper() in Resolution.__members__:
        return Resolution(value.strip().upper())
    allowed = ", ".join(Resolution.__members__)
    raise RequestValidationError(field, f"must be one of {allowed}, got {_shown(value)}")


def text(value: Any, field: str, max_length: int) -> str:
    """A non-empty single-line string of printable characters, at most ``max_length`` long."""
    if not isinstance(value, str) or not value.strip():
        raise RequestValidationError(field, f"must be a non-empty string, got {_shown(value)}")
    stripped = value.strip()
    if len(stripped) > max_length:
        raise RequestValidationError(field, f"at most {max_length} characters, got {len(value)}")
    if not stripped.isprintable():
        raise RequestValidationError(field, "must not contain control characters")
    return stripped


def identifier(value: Any, field: str) -> str:
    """A non-empty identifier (dealId, dealReference, watchlistId, accountId, nodeId, epic)."""
    return text(value, field, MAX_IDENTIFIER_LENGTH)


_DOT_SEGMENTS = frozenset({".", ".."})
_DECODE_ROUNDS = 4  # %2e, %252e, ...: a proxy or framework may decode a path more than once


def path_segment(value: str, field: str) -> str:
    """A value sent as one path segment that stays that one segment.

    Values are percent-encoded into the path, but ``.`` and ``..`` are not encoded by any URL
    library and are collapsed by httpx and aiohttp (``DELETE /watchlists/1/.`` would delete
    the whole watchlist; ``DELETE /positions/..`` would go to ``/api/v1``). Refused: the empty
    string, a dot segment, and anything that decodes (once or several times) to one or to
    something holding ``/`` or ``\\``.
    """
    decoded = value
    for _ in range(_DECODE_ROUNDS):
        if decoded in _DOT_SEGMENTS or "/" in decoded or "\\" in decoded:
            break
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    if not decoded or decoded in _DOT_SEGMENTS or "/" in decoded or "\\" in decoded:
        raise RequestValidationError(
            field,
            f"{_shown(value)} cannot be sent as a path segment (empty, '.', '..', '/' or '\\',"
            " also percent-encoded, would change the request path)",
        )
    return value


def fiql_filter(value: Any, field: str = "filter") -> str:
    """An activity filter (FIQL, SPEC 5.1): a non-empty single line."""
    return text(value, field, MAX_FILTER_LENGTH)


def epic(value: Any, field: str = "epic") -> str:
    """A non-empty epic without commas (commas separate epics in list parameters)."""
    name = identifier(value, field)
    if "," in name or " " in name:
        raise RequestValidationError(
            field, f"must be a single epic (no commas), got {_shown(value)}"
        )
    return path_segment(name, field)  # an epic goes into paths (markets, prices, watchlists)


def epic_list(values: Any, field: str = "epics", maximum: int | None = None) -> list[str]:
    """A non-empty list of epics (a single string counts as one epic), at most ``maximum``."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable):
        raise RequestValidationError(field, f"must be a list of epics, got {_shown(values)}")
    epics = [epic(item, field) for item in values]
    if not epics:
        raise RequestValidationError(field, "must name at least one epic")
    if maximum is not None and len(epics) > maximum:
        raise RequestValidationError(field, f"at most {maximum} epics, got {len(epics)}")
    return epics


def watchlist_name(value: Any, field: str = "name") -> str:
    """A watchlist name of 1..20 printable characters, not only spaces (sent as given)."""
    low, high = WATCHLIST_NAME_LENGTH
    if not isinstance(value, str) or not low <= len(value) <= high:
        shown = f"{len(value)}" if isinstance(value, str) else _shown(value)
        raise RequestValidationError(field, f"must be {low}..{high} characters, got {shown}")
    if not value.strip():
        raise RequestValidationError(field, "must not be only spaces")
    if not value.isprintable():
        raise RequestValidationError(
            field, "must not contain control characters (NUL, newline, tab, ...)"
        )
    return value


def top_up_amount(value: Any, field: str = "amount") -> float:
    """A non-zero top-up amount in [-400000, 400000]."""
    number = _number(value, field)
    if not -TOP_UP_LIMIT <= number <= TOP_UP_LIMIT or number == 0:
        raise RequestValidationError(
            field, f"must be non-zero and within +/-{TOP_UP_LIMIT:.0f}, got {_shown(value)}"
        )
    return number


def leverages(value: Any, field: str = "leverages") -> dict[str, int]:
    """A non-empty mapping of leverage group to a positive integer leverage."""
    if not isinstance(value, Mapping) or not value:
        raise RequestValidationError(field, "must be a non-empty mapping of group to leverage")
    out: dict[str, int] = {}
    for group, leverage in value.items():
        name = identifier(str(group), f"{field}.{group}").upper()
        if isinstance(leverage, bool) or not isinstance(leverage, int) or leverage <= 0:
            raise RequestValidationError(
                f"{field}.{name}", f"must be a positive integer, got {leverage!r}"
            )
        out[name] = leverage
    return out


def bounded_int(value: Any, field: str, low: int, high: int) -> int:
    """An integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestValidationError(
            field, f"must be an integer in {low}..{high}, got {_shown(value)}"
        )
    return value


def max_bars(value: Any, field: str = "max") -> int:
    """``max`` of GET /prices: 1..1000."""
    return bounded_int(value, field, 1, MAX_PRICE_BARS)


def last_period(value: Any, field: str = "lastPeriod") -> int:
    """``lastPeriod`` of the history endpoints: 1..86400 seconds."""
    return bounded_int(value, field, 1, MAX_LAST_PERIOD)


def aware(value: Any, field: str) -> datetime:
    """A timezone-aware datetime, converted to UTC (naive datetimes are ambiguous: refused)."""
    if not isinstance(value, datetime):
        raise RequestValidationError(field, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise RequestValidationError(
            field, "must be timezone-aware (e.g. datetime(..., tzinfo=UTC)); naive is ambiguous"
        )
    return value.astimezone(UTC)


def api_datetime(value: datetime) -> str:
    """The API's date format, UTC without zone: ``YYYY-MM-DDTHH:MM:SS``."""
    return value.astimezone(UTC).strftime(API_DATETIME_FORMAT)


def date_range(
    start: Any, end: Any, start_field: str = "from", end_field: str = "to"
) -> tuple[datetime | None, datetime | None]:
    """Optional aware start/end in UTC with start <= end."""
    first = aware(start, start_field) if start is not None else None
    last = aware(end, end_field) if end is not None else None
    if first is not None and last is not None and first > last:
        raise RequestValidationError(end_field, f"must not be before {start_field}")
    return first, last


def good_till_date(value: Any, now: datetime, field: str = "goodTillDate") -> str:
    """An aware datetime in the future, in the API's UTC format."""
    when = aware(value, field)
    if when <= now:
        raise RequestValidationError(field, f"must be in the future, got {api_datetime(when)}")
    return api_datetime(when)


def stops_and_profits(
    *,
    stop_level: float | None = None,
    stop_distance: float | None = None,
    stop_amount: float | None = None,
    profit_level: float | None = None,
    profit_distance: float | None = None,
    profit_amount: float | None = None,
    guaranteed_stop: bool | None = None,
    trailing_stop: bool | None = None,
) -> dict[str, Any]:
    """The stop/profit part of a trading body, checked for the documented exclusions."""
    body: dict[str, Any] = {}
    for name, value in (
        ("stopLevel", stop_level),
        ("stopDistance", stop_distance),
        ("stopAmount", stop_amount),
        ("profitLevel", profit_level),
        ("profitDistance", profit_distance),
        ("profitAmount", profit_amount),
    ):
        if value is not None:
            body[name] = positive(value, name)
    for group in (STOP_FIELDS, PROFIT_FIELDS):
        given = [name for name in group if name in body]
        if len(given) > 1:
            raise RequestValidationError(given[1], f"at most one of {', '.join(group)}")
    for name, flag in (("guaranteedStop", guaranteed_stop), ("trailingStop", trailing_stop)):
        if flag is not None:
            if not isinstance(flag, bool):
                raise RequestValidationError(name, f"must be a bool, got {flag!r}")
            body[name] = flag
    if trailing_stop:
        if "stopDistance" not in body:
            raise RequestValidationError("trailingStop", "requires stopDistance")
        if guaranteed_stop:
            raise RequestValidationError("guaranteedStop", "cannot be combined with trailingStop")
    if guaranteed_stop and not any(name in body for name in STOP_FIELDS):
        raise RequestValidationError(
            "guaranteedStop", "requires one of stopLevel, stopDistance, stopAmount"
        )
    return body


def sides_of_level(body: dict[str, Any], direction: str, level: float) -> None:
    """Stop and profit *levels* of a working order on the right side of its order level.

    A BUY order's stop lies below its level and its profit above; a SELL order's the reverse.
    """
    below, above = (
        ("stopLevel", "profitLevel") if direction == "BUY" else ("profitLevel", "stopLevel")
    )
    if below in body and body[below] >= level:
        raise RequestValidationError(
            below, f"must be below the order level {level:g} ({direction})"
        )
    if above in body and body[above] <= level:
        raise RequestValidationError(
            above, f"must be above the order level {level:g} ({direction})"
        )
