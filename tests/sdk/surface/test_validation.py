"""Bad arguments are refused before anything is sent, naming the field, by both clients."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from capitalcom_sdk import (
    AsyncClient,
    AuthenticationError,
    Client,
    Direction,
    OrderType,
    RequestValidationError,
)
from capitalcom_sdk import _validation as check
from tests.sdk.surface.conftest import Recorder

FUTURE = datetime.now(UTC) + timedelta(days=2)
PAST = datetime.now(UTC) - timedelta(days=2)
NAIVE = datetime(2030, 1, 1, 12, 0, 0)

# (namespace.method, args, kwargs, field named in the error)
CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = [
    ("positions.open", ("GOLD", "BUY", 0), {}, "size"),
    ("positions.open", ("GOLD", "BUY", -1), {}, "size"),
    ("positions.open", ("GOLD", "BUY", math.nan), {}, "size"),
    ("positions.open", ("GOLD", "BUY", math.inf), {}, "size"),
    ("positions.open", ("GOLD", "BUY", True), {}, "size"),
    ("positions.open", ("GOLD", "BUY", 1e12), {}, "size"),
    ("positions.open", ("GO\nLD", "BUY", 1), {}, "epic"),
    ("positions.open", ("G" * 500, "BUY", 1), {}, "epic"),
    ("positions.open", ("GOLD", "HOLD", 1), {}, "direction"),
    ("positions.open", ("GOLD", 1, 1), {}, "direction"),
    ("positions.open", ("", "BUY", 1), {}, "epic"),
    ("positions.open", ("GOLD,SILVER", "BUY", 1), {}, "epic"),
    ("positions.open", ("GOLD", "BUY", 1), {"stop_level": 1, "stop_distance": 2}, "stopDistance"),
    ("positions.open", ("GOLD", "BUY", 1), {"stop_distance": 1, "stop_amount": 2}, "stopAmount"),
    (
        "positions.open",
        ("GOLD", "BUY", 1),
        {"profit_level": 1, "profit_amount": 2},
        "profitAmount",
    ),
    ("positions.open", ("GOLD", "BUY", 1), {"trailing_stop": True}, "trailingStop"),
    (
        "positions.open",
        ("GOLD", "BUY", 1),
        {"trailing_stop": True, "stop_level": 5},
        "trailingStop",
    ),
    (
        "positions.open",
        ("GOLD", "BUY", 1),
        {"trailing_stop": True, "stop_distance": 5, "guaranteed_stop": True},
        "guaranteedStop",
    ),
    ("positions.open", ("GOLD", "BUY", 1), {"guaranteed_stop": True}, "guaranteedStop"),
    ("positions.open", ("GOLD", "BUY", 1), {"stop_level": math.nan}, "stopLevel"),
    ("positions.open", ("GOLD", "BUY", 1), {"stop_level": 0}, "stopLevel"),
    ("positions.open", ("GOLD", "BUY", 1), {"profit_distance": -3}, "profitDistance"),
    ("positions.open", ("GOLD", "BUY", 1), {"stop_amount": math.inf}, "stopAmount"),
    ("positions.get", ("",), {}, "dealId"),
    ("positions.update", ("",), {"stop_level": 5}, "dealId"),
    ("positions.update", ("deal-1",), {}, "body"),
    ("positions.update", ("deal-1",), {"stop_level": 5, "stop_amount": 1}, "stopAmount"),
    ("positions.close", ("  ",), {}, "dealId"),
    ("orders.create", ("GOLD", "BUY", 1, 0, "LIMIT"), {}, "level"),
    ("orders.create", ("GOLD", "BUY", 1, math.nan, "LIMIT"), {}, "level"),
    ("orders.create", ("GOLD", "BUY", 1, 10, "MARKET"), {}, "type"),
    ("orders.create", ("GOLD", "BUY", 0, 10, "LIMIT"), {}, "size"),
    ("orders.create", ("GOLD", "BUY", 1, 10, "STOP"), {"good_till_date": NAIVE}, "goodTillDate"),
    ("orders.create", ("GOLD", "BUY", 1, 10, "STOP"), {"good_till_date": PAST}, "goodTillDate"),
    (
        "orders.create",
        ("GOLD", "BUY", 1, 10, "STOP"),
        {"good_till_date": "2030-01-01T00:00:00"},
        "goodTillDate",
    ),
    ("orders.create", ("GOLD", "BUY", 1, 100, "LIMIT"), {"stop_level": 100}, "stopLevel"),
    ("orders.create", ("GOLD", "BUY", 1, 100, "LIMIT"), {"profit_level": 90}, "profitLevel"),
    ("orders.create", ("GOLD", "SELL", 1, 100, "STOP"), {"stop_level": 90}, "stopLevel"),
    ("orders.create", ("GOLD", "SELL", 1, 100, "STOP"), {"profit_level": 110}, "profitLevel"),
    ("orders.update", ("deal-1",), {}, "body"),
    ("orders.update", ("deal-1",), {"level": -5}, "level"),
    ("orders.update", ("deal-1",), {"good_till_date": NAIVE}, "goodTillDate"),
    ("orders.delete", ("",), {}, "dealId"),
    ("confirms.get", ("",), {}, "dealReference"),
    ("markets.search", (), {"epics": [f"E{i}" for i in range(51)]}, "epics"),
    ("markets.search", (), {"epics": []}, "epics"),
    ("markets.search", (), {"epics": ["GOLD", ""]}, "epics"),
    ("markets.search", (), {"epics": ["GOLD,SILVER"]}, "epics"),
    ("markets.search", (), {"search_term": ""}, "searchTerm"),
    ("markets.search", (), {"search_term": "gold", "epics": ["GOLD"]}, "epics"),
    ("markets.get", ("",), {}, "epic"),
    ("markets.navigation", ("node",), {"limit": 0}, "limit"),
    ("markets.navigation", ("node",), {"limit": 501}, "limit"),
    ("markets.navigation", (), {"limit": 5}, "limit"),
    ("prices.get", ("GOLD",), {"resolution": "MINUTE_3"}, "resolution"),
    ("prices.get", ("GOLD",), {"max": 0}, "max"),
    ("prices.get", ("GOLD",), {"max": 1001}, "max"),
    ("prices.get", ("GOLD",), {"start": NAIVE}, "from"),
    ("prices.get", ("GOLD",), {"start": FUTURE, "end": PAST}, "to"),
    ("prices.get", ("",), {}, "epic"),
    ("prices.history", ("GOLD", "MINUTE", NAIVE), {}, "from"),
    ("prices.history", ("GOLD", "MINUTE", None), {}, "from"),
    ("prices.history", ("GOLD", "SECOND", PAST), {}, "resolution"),
    ("prices.history", ("GOLD", "MINUTE", FUTURE, PAST), {}, "to"),
    ("history.activity", (), {"last_period": 0}, "lastPeriod"),
    ("history.activity", (), {"last_period": 86_401}, "lastPeriod"),
    ("history.activity", (), {"start": NAIVE}, "from"),
    ("history.activity", (), {"start": FUTURE, "end": PAST}, "to"),
    ("history.activity", (), {"last_period": 60, "start": PAST}, "lastPeriod"),
    ("history.activity", (), {"deal_id": ""}, "dealId"),
    ("history.activity", (), {"filter": "type==POSITION\x00"}, "filter"),
    ("history.transactions", (), {"last_period": 100_000}, "lastPeriod"),
    ("history.transactions", (), {"end": NAIVE}, "to"),
    ("accounts.top_up", (0,), {}, "amount"),
    ("accounts.top_up", (400_001,), {}, "amount"),
    ("accounts.top_up", (-400_001,), {}, "amount"),
    ("accounts.top_up", (math.nan,), {}, "amount"),
    ("accounts.update_preferences", (), {}, "body"),
    ("accounts.update_preferences", (), {"leverages": {"SHARES": 0}}, "leverages.SHARES"),
    ("accounts.update_preferences", (), {"leverages": {"SHARES": 2.5}}, "leverages.SHARES"),
    ("accounts.update_preferences", (), {"leverages": {}}, "leverages"),
    ("accounts.update_preferences", (), {"hedging_mode": "yes"}, "hedgingMode"),
    ("session.switch_account", ("",), {}, "accountId"),
    ("sentiment.list", ([],), {}, "marketIds"),
    ("sentiment.get", ("",), {}, "marketId"),
    ("watchlists.create", ("",), {}, "name"),
    ("watchlists.create", ("x" * 21,), {}, "name"),
    ("watchlists.create", ("ok", ["GOLD", ""]), {}, "epics"),
    ("watchlists.get", ("",), {}, "watchlistId"),
    ("watchlists.add_market", ("1", ""), {}, "epic"),
    ("watchlists.remove_market", ("", "GOLD"), {}, "watchlistId"),
    ("watchlists.delete", ("",), {}, "watchlistId"),
]


def _method(client: Client | AsyncClient, dotted: str) -> Any:
    namespace, name = dotted.split(".")
    return getattr(getattr(client, namespace), name)


@pytest.mark.parametrize(("method", "args", "kwargs", "field"), CASES)
def test_sync_client_refuses_and_sends_nothing(
    offline_client: Client,
    recorder: Recorder,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        _method(offline_client, method)(*args, **kwargs)
    assert caught.value.field == field
    assert field in str(caught.value)
    assert recorder.requests == []


@pytest.mark.parametrize(("method", "args", "kwargs", "field"), CASES)
async def test_async_client_refuses_and_sends_nothing(
    offline_async_client: AsyncClient,
    recorder: Recorder,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await _method(offline_async_client, method)(*args, **kwargs)
    assert caught.value.field == field
    assert recorder.requests == []


def test_valid_arguments_do_reach_the_transport(offline_client: Client, recorder: Recorder) -> None:
    """The recorder does see requests when validation passes (the tests above can fail)."""
    recorder.handler = lambda _: httpx.Response(401, json={"errorCode": "error.invalid.details"})
    with pytest.raises(AuthenticationError):
        offline_client.positions.open("GOLD", "buy", 1, stop_distance=5, trailing_stop=True)
    assert [r.url.path for r in recorder.requests] == ["/api/v1/session"]


def test_direction_and_type_accept_enums_and_any_case() -> None:
    assert check.direction(Direction.SELL) == "SELL"
    assert check.direction(" buy ") == "BUY"
    assert check.order_type(OrderType.STOP) == "STOP"
    assert check.order_type("limit") == "LIMIT"


def test_good_till_date_is_sent_in_utc_without_zone() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    when = datetime(2030, 6, 9, 4, 1, 0, 700_000, tzinfo=timezone(timedelta(hours=3)))
    assert check.good_till_date(when, now) == "2030-06-09T01:01:00"


def test_naive_datetime_error_says_why() -> None:
    with pytest.raises(RequestValidationError, match="timezone-aware"):
        check.aware(NAIVE, "from")


def test_stop_options_build_the_wire_body() -> None:
    body = check.stops_and_profits(
        stop_distance=5, profit_level=30.5, guaranteed_stop=True, trailing_stop=False
    )
    assert body == {
        "stopDistance": 5.0,
        "profitLevel": 30.5,
        "guaranteedStop": True,
        "trailingStop": False,
    }
