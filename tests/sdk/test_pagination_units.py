"""The price pager and the history splitter against a fake server that enforces SPEC 7.28/7.12.

The fake answers GET /prices exactly as the SPEC describes the real server: ``from``/``to``
inclusive on the bar start, a from/to window may not hold more bar slots than ``max`` (both edges
count), ``to`` in the future is refused, an empty window is 404 ``error.prices.not-found``.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitalcom_sdk import Client, Resolution
from capitalcom_sdk._pagination import history_windows, price_windows
from tests.sdk.conftest import CREDENTIALS, Recorder

NOW = datetime(2026, 3, 4, 12, 34, 56, tzinfo=UTC)
FMT = "%Y-%m-%dT%H:%M:%S"


def _login(request: httpx.Request) -> httpx.Response | None:
    if request.url.path == "/api/v1/session" and request.method == "POST":
        body = {
            "accountType": "CFD",
            "accountInfo": {"balance": 1, "deposit": 1, "profitLoss": 0, "available": 1},
            "currencyIsoCode": "USD",
            "currencySymbol": "$",
            "currentAccountId": "1",
            "streamingHost": "wss://x/",
            "accounts": [],
            "clientId": "1",
            "timezoneOffset": 0,
            "hasActiveDemoAccounts": True,
            "hasActiveLiveAccounts": False,
            "trailingStopsEnabled": False,
        }
        return httpx.Response(200, json=body, headers={"CST": "c", "X-SECURITY-TOKEN": "s"})
    if request.url.path == "/api/v1/time":
        return httpx.Response(200, json={"serverTime": int(NOW.timestamp() * 1000)})
    return None


def _bar(start: datetime) -> dict[str, Any]:
    price = round(100 + (start.timestamp() % 7919) / 100, 3)
    side = {"bid": price, "ask": price + 0.5}
    return {
        "snapshotTime": start.strftime(FMT),
        "snapshotTimeUTC": start.strftime(FMT),
        "openPrice": side,
        "closePrice": side,
        "highPrice": side,
        "lowPrice": side,
        "lastTradedVolume": 1,
    }


def _grid(resolution: Resolution, moment: datetime) -> datetime:
    """Bar start containing ``moment``: epoch-aligned, weeks starting on Monday."""
    step = resolution.seconds
    offset = 4 * 86400 if resolution is Resolution.WEEK else 0  # 1970-01-05 was a Monday
    ts = int(moment.timestamp())
    return datetime.fromtimestamp(ts - (ts - offset) % step, tz=UTC)


class FakePrices:
    def __init__(self, closed_weekends: bool = False) -> None:
        self.closed_weekends = closed_weekends
        self.calls: list[dict[str, str]] = []

    def bars(self, resolution: Resolution, first: datetime, last: datetime) -> list[datetime]:
        start = _grid(resolution, first)
        if start < first:
            start += timedelta(seconds=resolution.seconds)
        out = []
        while start <= last and start <= NOW:
            if not (self.closed_weekends and start.weekday() >= 5):
                out.append(start)
            start += timedelta(seconds=resolution.seconds)
        return out

    def __call__(self, request: httpx.Request) -> httpx.Response:
        early = _login(request)
        if early is not None:
            return early
        params = dict(request.url.params)
        self.calls.append(params)
        resolution = Resolution(params.get("resolution", "MINUTE"))
        limit = int(params.get("max", "10"))
        if limit > 1000:
            return httpx.Response(400, json={"errorCode": "error.invalid.max"})
        first = datetime.strptime(params["from"], FMT).replace(tzinfo=UTC)
        last = datetime.strptime(params["to"], FMT).replace(tzinfo=UTC)
        if last > NOW:
            return httpx.Response(400, json={"errorCode": "error.invalid.daterange"})
        slots = len(self._slots(resolution, first, last))
        if slots > limit:
            return httpx.Response(400, json={"errorCode": "error.invalid.max.daterange"})
        starts = self.bars(resolution, first, last)[:limit]
        if not starts:
            return httpx.Response(404, json={"errorCode": "error.prices.not-found"})
        return httpx.Response(
            200, json={"prices": [_bar(s) for s in starts], "instrumentType": "COMMODITIES"}
        )

    @staticmethod
    def _slots(resolution: Resolution, first: datetime, last: datetime) -> list[datetime]:
        # Slots the window touches: from the bar containing `first` to the one containing `last`.
        start, end = _grid(resolution, first), _grid(resolution, last)
        out = []
        while start <= end:
            out.append(start)
            start += timedelta(seconds=resolution.seconds)
        return out


def _client(handler: Any) -> Client:
    return Client(
        **CREDENTIALS,
        base_url="http://sdk.test",
        transport=httpx.MockTransport(handler),
        rate_limit=False,
    )


@pytest.mark.parametrize("resolution", list(Resolution))
def test_history_is_complete_and_strictly_increasing(resolution: Resolution) -> None:
    fake = FakePrices()
    start = NOW - timedelta(seconds=resolution.seconds * 2500) - timedelta(seconds=17)
    progress: list[tuple[int, int]] = []
    with _client(fake) as client:
        history = client.prices.history(
            "GOLD",
            resolution,
            start,
            NOW + timedelta(days=3),
            progress=lambda *p: progress.append(p),
        )
    times = [bar.snapshot_time_utc for bar in history.prices]
    assert times == fake.bars(resolution, start, NOW)
    assert all(a < b for a, b in itertools.pairwise(times))
    assert len(times) >= 2500
    assert progress[-1][0] == progress[-1][1] == len(fake.calls)
    assert all(int(call["max"]) == 1000 for call in fake.calls)


def test_closed_windows_are_skipped_not_errors() -> None:
    fake = FakePrices(closed_weekends=True)
    start = datetime(2026, 2, 27, 0, 0, tzinfo=UTC)  # a Friday; 3 days of MINUTE bars
    with _client(fake) as client:
        history = client.prices.history("GOLD", "MINUTE", start, start + timedelta(days=3))
    times = [bar.snapshot_time_utc for bar in history.prices]
    assert times == fake.bars(Resolution.MINUTE, start, start + timedelta(days=3))
    assert len(times) == 1440 + 1  # Friday, then Monday 00:00; the weekend windows were 404
    assert len(fake.calls) > 3


def test_drop_incomplete_removes_the_forming_bar() -> None:
    with _client(FakePrices()) as client:
        full = client.prices.history("GOLD", "HOUR", NOW - timedelta(hours=5))
        trimmed = client.prices.history(
            "GOLD", "HOUR", NOW - timedelta(hours=5), drop_incomplete=True
        )
    assert full.prices[-1].snapshot_time_utc == _grid(Resolution.HOUR, NOW)
    assert trimmed.prices == full.prices[:-1]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(list(Resolution)),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=4000),
    st.integers(min_value=2, max_value=1000),
)
def test_price_windows_tile_the_range_and_fit_max(
    resolution: Resolution, offset: int, bars: int, max_bars: int
) -> None:
    start = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(seconds=offset)
    end = start + timedelta(seconds=resolution.seconds * bars // 3 + offset % 977)
    windows = price_windows(start, end, resolution, max_bars)
    assert windows[0][0] == start
    assert windows[-1][1] == end
    for (a, b), (c, _) in itertools.pairwise(windows):
        assert c == b + timedelta(seconds=1)
        assert a <= b
    for a, b in windows:
        assert len(FakePrices._slots(resolution, a, b)) <= max_bars


def test_history_windows_share_boundaries_and_respect_one_day() -> None:
    start = datetime(2026, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC)
    end = datetime(2026, 1, 3, 6, 0, 0, 500_000, tzinfo=UTC)
    windows = history_windows(start, end, timedelta(days=1))
    assert windows[0][0] <= start
    assert windows[-1][1] >= end
    for (_, b), (c, _) in itertools.pairwise(windows):
        assert c == b
    assert all(b - a <= timedelta(days=1) for a, b in windows)


def test_activity_over_three_days_is_split_and_merged_newest_first() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        early = _login(request)
        if early is not None:
            return early
        first, last = request.url.params["from"], request.url.params["to"]
        seen.append((first, last))
        lo = datetime.strptime(first, FMT).replace(tzinfo=UTC)
        hi = datetime.strptime(last, FMT).replace(tzinfo=UTC)
        if hi - lo > timedelta(days=1):
            return httpx.Response(400, json={"errorCode": "error.invalid.daterange"})
        items = []
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        while moment < datetime(2026, 1, 5, tzinfo=UTC):  # one activity every 6 h (boundaries!)
            if lo <= moment <= hi + timedelta(seconds=1):
                items.append(
                    {
                        "date": moment.strftime(FMT + ".000"),
                        "dateUTC": moment.strftime(FMT + ".000"),
                        "epic": "GOLD",
                        "dealId": moment.isoformat(),
                        "source": "USER",
                        "type": "POSITION",
                        "status": "ACCEPTED",
                    }
                )
            moment += timedelta(hours=6)
        return httpx.Response(200, json={"activities": items[::-1]})

    start = datetime(2026, 1, 1, tzinfo=UTC)
    with _client(handler) as client:
        result = client.history.activity(start=start, end=start + timedelta(days=3))
    assert len(seen) == 3
    dates = [a.date_utc for a in result.activities]
    assert dates == sorted(dates, reverse=True)
    assert len(dates) == len(set(dates)) == 13  # 0h..72h every 6 h, boundaries once


def test_recorded_params_are_json_free_strings() -> None:
    recorder = Recorder(lambda r: _login(r) or httpx.Response(200, json={"prices": []}))
    with _client(recorder) as client:
        client.prices.get("GOLD", "minute_5", 5, NOW - timedelta(minutes=20), NOW)
    request = recorder.requests[-1]
    assert dict(request.url.params) == {
        "resolution": "MINUTE_5",
        "max": "5",
        "from": "2026-03-04T12:14:56",
        "to": "2026-03-04T12:34:56",
    }
    assert json.loads(recorder.requests[0].content)["identifier"] == CREDENTIALS["identifier"]
