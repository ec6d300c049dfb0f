"""The polled trade-event feed against the simulator (and its pure diff)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from capitalcom_sdk import AsyncClient, Client, RequestValidationError
from capitalcom_sdk.models.trading import Positions, WorkingOrders
from capitalcom_sdk.streaming import AsyncTradeFeed, TradeFeed, TradeSnapshot, diff_snapshots
from capitalcom_sim.config import SimConfig
from tests.conftest import SimHandle
from tests.sdk.streaming.support import stream_config


@pytest.fixture
def sim_config() -> SimConfig:
    return stream_config(speed=1.0)


def _position(deal_id: str, stop: float | None = None) -> dict[str, object]:
    return {
        "position": {
            "dealId": deal_id,
            "size": 1.0,
            "direction": "BUY",
            "level": 100.0,
            "stopLevel": stop,
        },
        "market": {"epic": "GOLD"},
    }


def test_diff_reports_openings_updates_and_closings() -> None:
    empty = WorkingOrders.model_validate({"workingOrders": []})
    before = TradeSnapshot.of(
        Positions.model_validate({"positions": [_position("a"), _position("b")]}), empty
    )
    after = TradeSnapshot.of(
        Positions.model_validate({"positions": [_position("b", stop=90.0), _position("c")]}),
        empty,
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    events = diff_snapshots(before, after, now)
    assert [(e.kind, e.deal_id, e.epic) for e in events] == [
        ("position.updated", "b", "GOLD"),
        ("position.opened", "c", "GOLD"),
        ("position.closed", "a", "GOLD"),
    ]
    assert events[0].changed == ("stop_level",)
    assert events[0].before.stop_level is None
    assert events[0].after.stop_level == 90.0
    assert diff_snapshots(after, after, now) == []


async def test_async_feed_sees_a_position_open_change_and_close(sim: SimHandle) -> None:
    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        AsyncTradeFeed(client, interval=0.05) as feed,
    ):
        confirm = await client.positions.open("GOLD", "BUY", 1)
        [deal_id] = confirm.opened_deal_ids
        opened = await anext(feed)
        assert (opened.kind, opened.deal_id, opened.epic) == ("position.opened", deal_id, "GOLD")
        level = opened.after.level
        await client.positions.update(deal_id, stop_level=round(level * 0.9, 2))
        updated = await anext(feed)
        assert updated.kind == "position.updated"
        assert "stop_level" in updated.changed
        await client.positions.close(deal_id)
        closed = await anext(feed)
        assert (closed.kind, closed.deal_id) == ("position.closed", deal_id)


def test_sync_feed_sees_a_working_order_created_and_deleted(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client, TradeFeed(client, interval=0.05) as feed:
        price = client.markets.get("GOLD").snapshot.bid
        confirm = client.orders.create("GOLD", "BUY", 1, round(price * 0.8, 2), "LIMIT")
        created = next(feed)
        assert (created.kind, created.epic) == ("order.created", "GOLD")
        assert created.deal_id == confirm.deal_id
        client.orders.delete(created.deal_id)
        deleted = next(feed)
        assert (deleted.kind, deleted.deal_id) == ("order.deleted", created.deal_id)
        assert feed.polls >= 3


def test_interval_must_be_positive(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client, pytest.raises(RequestValidationError) as bad:
        TradeFeed(client, interval=0)
    assert bad.value.field == "interval"
