"""The SDK against the real demo server: the same calls the simulator tests make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from capitalcom_sdk import AsyncClient, Client, Quote

pytestmark = pytest.mark.live

EPIC = "BTCUSD"  # trades around the clock, so the suite works at any hour


def test_time_ping_and_session(client: Client) -> None:
    server = client.general.server_time().datetime
    assert abs((server - datetime.now(UTC)).total_seconds()) < 300
    assert client.general.ping().status == "OK"
    details = client.session.details()
    assert details.account_id in {a.account_id for a in client.accounts.list().accounts}


def test_encrypted_login(client: Client) -> None:
    login = client.session.login(encrypted=True)
    assert login.current_account_id
    assert login.streaming_host


def test_markets_search_details_and_navigation(client: Client) -> None:
    found = client.markets.search("bitcoin").markets
    assert any(m.epic == EPIC for m in found)
    details = client.markets.get(EPIC)
    assert details.instrument.epic == EPIC
    assert details.snapshot is not None
    assert details.snapshot.bid is not None
    assert client.markets.navigation().nodes


def test_prices_and_paged_history(client: Client) -> None:
    assert len(client.prices.get(EPIC, "MINUTE", max_bars=10).prices) == 10
    start = datetime.now(UTC) - timedelta(hours=20)
    bars = client.prices.history(EPIC, "MINUTE", start).prices  # more than 1000: two requests
    assert len(bars) > 1000
    times = [b.snapshot_time_utc for b in bars]
    assert times == sorted(set(times))


def test_sentiment_watchlists_and_account_state(client: Client) -> None:
    assert client.sentiment.get(EPIC).market_id == EPIC
    client.watchlists.list()
    client.positions.list()
    client.orders.list()
    client.history.activity(last_period=3600)
    client.history.transactions(last_period=3600)


async def test_stream_delivers_quotes(async_client: AsyncClient) -> None:
    async with async_client, async_client.stream() as stream:
        await stream.subscribe_quotes([EPIC])
        async for event in stream:
            if isinstance(event, Quote):
                assert event.epic == EPIC
                assert event.bid > 0
                break


def test_open_and_close_the_smallest_position(client: Client, trading: None) -> None:
    rules = client.markets.get(EPIC).dealing_rules
    size = rules.min_deal_size.value if rules and rules.min_deal_size else 0.01
    opened = client.positions.open(EPIC, "BUY", size)
    assert str(opened.deal_status) == "ACCEPTED"
    deal_id = opened.affected_deals[0].deal_id
    closed = client.positions.close(deal_id)
    assert str(closed.deal_status) == "ACCEPTED"
    assert deal_id not in {p.position.deal_id for p in client.positions.list().positions}
