"""Long ranges behind one call: the price-history pager and the history range splitter.

Prices (``GET /prices/{epic}``, SPEC 7.28): ``from`` and ``to`` are inclusive and filter on the
bar *start*; a window may not hold more bar slots than ``max`` (both edges count); ``to`` may not
lie in the future. The pager therefore walks windows ``[a, a + (max-1)*res - 1 s]`` that follow
each other without overlap (the API's dates have one-second resolution, bars start on whole
seconds). Such a window holds at most ``max - 1`` bar starts whatever the grid alignment (weeks
included), so it is valid however the server counts slots. The end is clamped to the server's
clock (``GET /time``). Windows without bars (404 ``error.prices.not-found``: weekend, before the
start of history) are empty, not errors. Results are de-duplicated and strictly increasing.

History (``GET /history/activity``: range at most one day): ranges are split into windows of one
day that share their boundary second (the API's dates have whole seconds while items carry
milliseconds, so sharing the boundary leaves no gap), then merged newest first (the API's own
order) and de-duplicated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk._endpoints import ApiCall, Endpoint
from capitalcom_sdk._transport import Flow, Prefetch
from capitalcom_sdk.errors import NotFoundError, RequestValidationError
from capitalcom_sdk.models.enums import Resolution
from capitalcom_sdk.models.general import ServerTime
from capitalcom_sdk.models.history import (
    ActivityHistory,
    TransactionHistory,
)
from capitalcom_sdk.models.prices import PriceBar, PriceHistory

T = TypeVar("T", bound=BaseModel)
P = TypeVar("P", bound=BaseModel)  # a page
Progress = Callable[[int, int], None]
"""``progress(done, total)``: called after each request of a paged call."""

PRICES_NOT_FOUND = "error.prices.not-found"
ONE_SECOND = timedelta(seconds=1)
ACTIVITY_MAX_RANGE = timedelta(days=1)


def price_windows(
    start: datetime, end: datetime, resolution: Resolution, max_bars: int = check.MAX_PRICE_BARS
) -> list[tuple[datetime, datetime]]:
    """Consecutive, non-overlapping inclusive windows covering ``[start, end]``."""
    span = timedelta(seconds=resolution.seconds * (max_bars - 1)) - ONE_SECOND
    windows = []
    cursor = start.replace(microsecond=0)
    while cursor <= end:
        last = min(cursor + span, end)
        windows.append((cursor, last))
        cursor = last + ONE_SECOND
    return windows


def prices_call(
    epic: str,
    resolution: Resolution | str | None = None,
    max_bars: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ApiCall[PriceHistory]:
    """``GET /prices/{epic}`` after validation (one request)."""
    first, last = check.date_range(start, end)
    params: dict[str, str | int | None] = {
        "resolution": check.resolution(resolution) if resolution is not None else None,
        "max": check.max_bars(max_bars) if max_bars is not None else None,
        "from": check.api_datetime(first) if first else None,
        "to": check.api_datetime(last) if last else None,
    }
    return ep.PRICES.call({"epic": check.epic(epic)}, params=params)


def _server_now() -> Flow[datetime]:
    server: ServerTime = yield ep.SERVER_TIME.call()
    return server.datetime.replace(microsecond=0)


def price_history_flow(
    epic: str,
    resolution: Resolution | str,
    start: datetime,
    end: datetime | None = None,
    *,
    drop_incomplete: bool = False,
    progress: Progress | None = None,
    max_bars: int = check.MAX_PRICE_BARS,
) -> Flow[PriceHistory]:
    """All bars of ``[start, end]`` (end defaults to now), paging past the 1000-bar limit."""
    market = check.epic(epic)
    res = check.resolution(resolution)
    if start is None:
        raise RequestValidationError("from", "a start is required")
    first, last = check.date_range(start, end)
    assert first is not None
    now = yield from _server_now()
    last = min(last, now) if last is not None else now
    bars: dict[datetime, PriceBar] = {}
    instrument_type = None
    windows = price_windows(first, last, res, max_bars) if first <= last else []
    calls = [
        ep.PRICES.call(
            {"epic": market},
            params={
                "resolution": res.value,
                "max": max_bars,
                "from": check.api_datetime(window_start),
                "to": check.api_datetime(window_end),
            },
        )
        for window_start, window_end in windows
    ]
    for done, call in enumerate(calls, start=1):
        if done < len(calls):
            # The async client sends the next window while this one is parsed; the limiter
            # still paces both, and pages are taken in order.
            yield Prefetch(calls[done])
        try:
            page: PriceHistory = yield call
        except NotFoundError as exc:
            if exc.error_code != PRICES_NOT_FOUND:
                raise
        else:
            instrument_type = page.instrument_type or instrument_type
            for bar in page.prices:
                if first <= bar.snapshot_time_utc <= last:
                    bars.setdefault(bar.snapshot_time_utc, bar)
            del page  # its list is not needed while the next page is awaited
        if progress is not None:
            progress(done, len(windows))
    ordered = [bars[key] for key in sorted(bars)]
    bars.clear()
    if drop_incomplete and ordered:
        bar_end = ordered[-1].snapshot_time_utc + timedelta(seconds=res.seconds)
        if bar_end > now:
            ordered.pop()
    # The bars were validated as they arrived; constructing skips a second pass over them.
    return PriceHistory.model_construct(prices=ordered, instrument_type=instrument_type)


def history_windows(
    start: datetime, end: datetime, max_range: timedelta
) -> list[tuple[datetime, datetime]]:
    """Windows of at most ``max_range`` covering ``[start, end]``, sharing boundary seconds."""
    windows = []
    cursor = start.replace(microsecond=0)
    final = end.replace(microsecond=0) + (ONE_SECOND if end.microsecond else timedelta(0))
    while True:
        last = min(cursor + max_range, final)
        windows.append((cursor, last))
        if last >= final:
            return windows
        cursor = last


def _merge_newest_first(items: Iterable[T], key: Callable[[T], datetime]) -> list[T]:
    seen: set[str] = set()
    unique: list[T] = []
    for item in items:
        identity = item.model_dump_json(by_alias=True)
        if identity not in seen:
            seen.add(identity)
            unique.append(item)
    return sorted(unique, key=key, reverse=True)


def _history_params(
    window: tuple[datetime, datetime] | None, last_period: int | None, extra: dict[str, Any]
) -> dict[str, Any]:
    params = dict(extra)
    if window is not None:
        params["from"] = check.api_datetime(window[0])
        params["to"] = check.api_datetime(window[1])
    if last_period is not None:
        params["lastPeriod"] = last_period
    return params


def _ranged(
    start: datetime | None,
    end: datetime | None,
    last_period: int | None,
    max_range: timedelta | None,
) -> Flow[list[tuple[datetime, datetime]] | None]:
    """The windows to request, or None for one request without a date range."""
    if last_period is not None:
        check.last_period(last_period)
        if start is not None or end is not None:
            raise RequestValidationError(
                "lastPeriod", "give either lastPeriod or a range (from/to), not both"
            )
        return None
    # Named as on the wire, as prices.* and the CLI (--from/--to) name them.
    first, last = check.date_range(start, end)
    if first is None and last is None:
        return None
    if last is None:
        last = yield from _server_now()
        last = max(last, first or last)
    if first is None:
        first = last - (max_range or ACTIVITY_MAX_RANGE)
    if max_range is None:
        return [(first, last)]
    return history_windows(first, last, max_range)


def activity_flow(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    last_period: int | None = None,
    detailed: bool | None = None,
    deal_id: str | None = None,
    filter: str | None = None,
    progress: Progress | None = None,
) -> Flow[ActivityHistory]:
    """Activities of any range (split into one-day requests), newest first, de-duplicated."""
    extra: dict[str, Any] = {"detailed": detailed}
    if deal_id is not None:
        extra["dealId"] = check.identifier(deal_id, "dealId")
    if filter is not None:
        extra["filter"] = check.fiql_filter(filter)
    windows = yield from _ranged(start, end, last_period, ACTIVITY_MAX_RANGE)
    activities = yield from _history_pages(
        ep.ACTIVITY, windows, last_period, extra, lambda page: page.activities, progress
    )
    return ActivityHistory(activities=_merge_newest_first(activities, lambda a: a.date_utc))


def transactions_flow(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    last_period: int | None = None,
    type: str | None = None,
    max_range: timedelta | None = None,
    progress: Progress | None = None,
) -> Flow[TransactionHistory]:
    """Transactions of any range, newest first, de-duplicated.

    No maximum range is documented for transactions, so one request is made unless
    ``max_range`` asks for splitting.
    """
    extra: dict[str, Any] = {}
    if type is not None:
        extra["type"] = check.identifier(str(type), "type").upper()
    windows = yield from _ranged(start, end, last_period, max_range)
    items = yield from _history_pages(
        ep.TRANSACTIONS, windows, last_period, extra, lambda page: page.transactions, progress
    )
    return TransactionHistory(transactions=_merge_newest_first(items, lambda t: t.date_utc))


def _history_pages(
    endpoint: Endpoint[P],
    windows: list[tuple[datetime, datetime]] | None,
    last_period: int | None,
    extra: dict[str, Any],
    items_of: Callable[[P], list[T]],
    progress: Progress | None,
) -> Flow[list[T]]:
    """The items of one history request per window (one request without windows)."""
    items: list[T] = []
    requests = [None] if windows is None else windows
    for done, window in enumerate(requests, start=1):
        page: P = yield endpoint.call(params=_history_params(window, last_period, extra))
        items.extend(items_of(page))
        if progress is not None:
            progress(done, len(requests))
    return items


__all__ = [
    "ACTIVITY_MAX_RANGE",
    "Progress",
    "activity_flow",
    "history_windows",
    "price_history_flow",
    "price_windows",
    "prices_call",
    "transactions_flow",
]
