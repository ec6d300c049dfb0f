"""List results iterate, index and ``len()`` over their items (against the simulator)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk.models import (
    Account,
    Activity,
    ClientSentiment,
    ListModel,
    MarketDetails,
    Markets,
    MarketSummary,
    PositionWithMarket,
    PriceBar,
    PriceHistory,
    Transaction,
    Watchlist,
    WorkingOrderWithMarket,
)
from tests.conftest import SimHandle


def _behaves_like_its_list(result: ListModel[Any], items: list[Any], item_type: type) -> None:
    assert len(result) == len(items)
    assert list(result) == items
    assert [item for item in result] == items  # the for statement itself
    assert all(isinstance(item, item_type) for item in result)
    if items:
        assert result[0] == items[0]
        assert result[-1] == items[-1]
        assert result[1:3] == items[1:3]
        assert result[::-1] == items[::-1]
        assert result
    with pytest.raises(IndexError):
        result[len(items)]


def test_price_history_iterates_over_its_bars(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        now = client.general.server_time().datetime
        history = client.prices.history("GOLD", "MINUTE", now - timedelta(hours=3), now)
    assert len(history.prices) > 100
    _behaves_like_its_list(history, history.prices, PriceBar)
    for bar in history:
        assert bar.snapshot_time_utc <= now


def test_every_list_result_of_the_api_iterates_over_its_items(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        for epic in ("GOLD", "EURUSD"):
            client.positions.open(epic, "BUY", 1 if epic == "GOLD" else 1000)
        closed = client.positions.open("SILVER", "SELL", 10).opened_deal_ids[0]
        client.positions.close(closed)  # a transaction
        gold = client.markets.get("GOLD").snapshot
        assert gold is not None
        assert gold.bid is not None
        client.orders.create("GOLD", "BUY", 1, round(gold.bid * 0.9, 2), "LIMIT")
        created = client.watchlists.create("mine", ["GOLD", "SILVER"])
        results: list[tuple[ListModel[Any], list[Any], type]] = []
        positions = client.positions.list()
        results.append((positions, positions.positions, PositionWithMarket))
        orders = client.orders.list()
        results.append((orders, orders.working_orders, WorkingOrderWithMarket))
        activity = client.history.activity(last_period=3600)
        results.append((activity, activity.activities, Activity))
        transactions = client.history.transactions(last_period=3600)
        results.append((transactions, transactions.transactions, Transaction))
        found = client.markets.search("gold")
        results.append((found, found.markets or [], MarketSummary))
        accounts = client.accounts.list()
        results.append((accounts, accounts.accounts, Account))
        watchlists = client.watchlists.list()
        results.append((watchlists, watchlists.watchlists, Watchlist))
        watched = client.watchlists.get(created.watchlist_id)
        results.append((watched, watched.markets, MarketSummary))
        sentiments = client.sentiment.list(["GOLD", "EURUSD"])
        results.append((sentiments, sentiments.client_sentiments, ClientSentiment))
        by_epics = client.markets.search(epics=["GOLD", "EURUSD"])
    assert len(positions) == 2
    assert len(orders) == 1
    assert len(activity) >= 3
    for result, items, item_type in results:
        assert items, type(result).__name__
        _behaves_like_its_list(result, items, item_type)
    # GET /markets?epics= answers marketDetails: that is the list it iterates over
    assert by_epics.markets is None
    _behaves_like_its_list(by_epics, by_epics.market_details or [], MarketDetails)
    assert [d.instrument.epic for d in by_epics] == ["GOLD", "EURUSD"]


async def test_async_results_iterate_too(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        bars = await client.prices.get("SILVER", "MINUTE", max_bars=7)
        accounts = await client.accounts.list()
    assert len(bars) == 7
    assert [bar.snapshot_time_utc for bar in bars] == [b.snapshot_time_utc for b in bars.prices]
    assert list(accounts) == accounts.accounts


def test_an_empty_result_is_falsy_and_has_length_zero(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        positions = client.positions.list()
    assert len(positions) == 0
    assert not positions
    assert list(positions) == []


def test_fields_are_read_by_model_dump_not_by_iteration() -> None:
    body = {"prices": [], "instrumentType": "COMMODITIES"}
    history = PriceHistory.model_validate(body)
    assert history.model_dump(by_alias=True) == body
    assert history.model_dump_json(by_alias=True) == '{"prices":[],"instrumentType":"COMMODITIES"}'
    assert dict(Markets.model_validate({"markets": []})) == {}  # iterates items (none), not fields
    assert PriceHistory.model_validate(history.model_dump()) == history


def test_exports_still_work_on_iterable_results(sim: SimHandle, tmp_path: Any) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        bars = client.prices.get("GOLD", "MINUTE", max_bars=12)
    assert bars.to_csv(tmp_path / "bars.csv") == 12
    frame = bars.to_pandas()
    assert len(frame) == len(bars) == 12
    assert list(frame["close_bid"]) == [bar.close_price.bid for bar in bars]


def test_prices_get_max_is_a_deprecated_spelling_of_max_bars(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        with pytest.warns(DeprecationWarning, match="max_bars"):
            old = client.prices.get("GOLD", "MINUTE", max=4)
        new = client.prices.get("GOLD", "MINUTE", max_bars=4)
        assert len(old) == len(new) == 4
        with pytest.raises(ValueError, match="max_bars"):
            client.prices.get("GOLD", "MINUTE", max_bars=0)
