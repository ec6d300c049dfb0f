"""Against the simulator: the price pager versus direct requests and the engine, long history
ranges, and deal confirmations including rejections (both clients)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from capitalcom_sdk import (
    AsyncClient,
    Client,
    DealRejectedError,
    Direction,
    OrderOutcomeUnknown,
    Resolution,
)
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle

WEDNESDAY_NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
WEDNESDAY_NOON_MS = int(WEDNESDAY_NOON.timestamp() * 1000)


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(users=(single_user(),), rate_limits=False, seed=11, start_ms=WEDNESDAY_NOON_MS)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("resolution", "span"),
    [
        (Resolution.MINUTE, timedelta(minutes=2600)),
        (Resolution.HOUR, timedelta(hours=2100)),
        (Resolution.DAY, timedelta(days=1500)),
        (Resolution.WEEK, timedelta(weeks=1100)),
    ],
)
def test_pager_matches_direct_requests_and_the_engine(
    sim: SimHandle, resolution: Resolution, span: timedelta
) -> None:
    end = WEDNESDAY_NOON - timedelta(hours=1)
    start = end - span
    progress: list[tuple[int, int]] = []
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        paged = client.prices.history(
            "GOLD", resolution, start, end, progress=lambda d, t: progress.append((d, t))
        ).prices
        direct = client.prices.get(
            "GOLD",
            resolution,
            max_bars=1000,
            start=start,
            end=start + resolution_span(resolution, 900),
        ).prices
    times = [bar.snapshot_time_utc for bar in paged]
    assert all(a < b for a, b in itertools.pairwise(times)), "strictly increasing"
    assert times[0] >= start
    assert times[-1] <= end
    assert progress[-1][0] == progress[-1][1] >= 2, "several pages were needed"
    assert paged[: len(direct)] == direct, "first page equals one direct request"
    engine_bars = sim.state.engine.prices.bars("GOLD", resolution.value, _ms(start), _ms(end))
    assert len(paged) == len(engine_bars), "no gaps, no duplicates"


def resolution_span(resolution: Resolution, bars: int) -> timedelta:
    return timedelta(seconds=resolution.seconds * bars)


async def test_async_pager_clamps_to_server_now_and_drops_forming_bar(sim: SimHandle) -> None:
    start = WEDNESDAY_NOON - timedelta(minutes=1500)
    far_future = WEDNESDAY_NOON + timedelta(days=30)
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        full = (await client.prices.history("GOLD", "MINUTE", start, far_future)).prices
        closed = (
            await client.prices.history("GOLD", "MINUTE", start, far_future, drop_incomplete=True)
        ).prices
    now = datetime.fromtimestamp(sim.state.clock.now_ms() / 1000, UTC)
    assert full[-1].snapshot_time_utc <= now
    assert full[-1].snapshot_time_utc > now - timedelta(minutes=2)
    assert closed[-1].snapshot_time_utc + timedelta(minutes=1) <= now
    assert len(closed) in (len(full) - 1, len(full))


def test_activity_of_several_days_is_merged_newest_first(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        first = client.positions.open("EURUSD", Direction.BUY, 1000)
        sim.state.move_clock(advance_seconds=2 * 86400 + 5)
        second = client.positions.open("GBPUSD", Direction.SELL, 1000)
        now = datetime.fromtimestamp(sim.state.clock.now_ms() / 1000, UTC)
        history = client.history.activity(start=now - timedelta(days=3), end=now)
    deal_ids = [a.deal_id for a in history.activities]
    dates = [a.date_utc for a in history.activities]
    assert dates == sorted(dates, reverse=True)
    assert len({a.model_dump_json() for a in history.activities}) == len(history.activities)
    (first_position,) = first.opened_deal_ids
    (second_position,) = second.opened_deal_ids
    assert first_position in deal_ids
    assert second_position in deal_ids
    assert deal_ids.index(second_position) < deal_ids.index(first_position)
    stats = sim.state.stats.snapshot()["requests"]
    activity_requests = sum(v for k, v in stats.items() if k.startswith("GET /api/v1/history/act"))
    assert activity_requests >= 3, "a three-day range takes three one-day requests"


def test_order_too_big_for_the_funds_is_rejected(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        with pytest.raises(DealRejectedError) as caught:
            client.positions.open("GOLD", Direction.BUY, 90_000)
        assert client.positions.list().positions == []
    assert caught.value.confirm is not None
    assert caught.value.confirm.deal_status == "REJECTED"
    assert caught.value.reason


async def test_async_order_on_a_closed_market_is_rejected(sim: SimHandle) -> None:
    sim.state.move_clock(advance_seconds=3 * 86400)  # Saturday noon: commodities closed
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        with pytest.raises(DealRejectedError) as caught:
            await client.positions.open("SILVER", "SELL", 1)
    assert caught.value.confirm is not None
    assert caught.value.reason


def test_confirm_that_never_arrives_is_reconciled_to_the_opened_position(sim: SimHandle) -> None:
    sim.state.faults.add(
        {
            "method": "GET",
            "path": "/api/v1/confirms",
            "kind": "status",
            "status": 404,
            "errorCode": "error.not-found.dealReference",
            "times": None,
        }
    )
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        with pytest.raises(OrderOutcomeUnknown) as caught:
            client.positions.open("GOLD", Direction.BUY, 1, confirm_timeout=0.4)
        # a small skew: finding the deal proves sent_at is the moment of sending, not of giving up
        verdict = client.reconcile(caught.value, clock_skew=0.1)
        positions = client.positions.list().positions
    assert verdict.status == "FOUND"
    assert [p.position.deal_id for p in positions] == [verdict.deal_id]
    stats = sim.state.stats.snapshot()["requests"]
    assert stats["POST /api/v1/positions"] == 1, "never re-sent"


async def test_transactions_over_days_newest_first_with_type_filter(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        for amount in (10, -5, 20):
            await client.accounts.top_up(amount)
            sim.state.move_clock(advance_seconds=86400)
        now = datetime.fromtimestamp(sim.state.clock.now_ms() / 1000, UTC)
        everything = await client.history.transactions(start=now - timedelta(days=4), end=now)
        deposits = await client.history.transactions(
            start=now - timedelta(days=4), end=now, type="deposit"
        )
        recent = await client.history.transactions(last_period=600)
    assert [t.size for t in everything.transactions] == [20.0, -5.0, 10.0]
    dates = [t.date_utc for t in everything.transactions]
    assert dates == sorted(dates, reverse=True)
    assert all(t.date_utc.tzinfo is UTC for t in everything.transactions)
    assert [t.size for t in deposits.transactions] == [20.0, 10.0]
    assert recent.transactions == []
