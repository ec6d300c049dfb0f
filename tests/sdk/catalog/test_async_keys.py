"""AsyncCatalog driving: several API keys in one event loop share a sync; keys.toml."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk.catalog import Catalog, load_keys
from capitalcom_sdk.errors import ConfigurationError, RequestValidationError
from tests.conftest import SimHandle
from tests.sdk.catalog.conftest import NOW, user_kwargs

START = NOW - timedelta(days=5)
EPICS = ["GOLD", "BTCUSD", "EURUSD", "US500"]


def _count_price_requests(clients: list[AsyncClient], sent: Counter[int]) -> None:
    """Count each client's GET /prices in ``sent`` (by the client's index)."""
    for index, each in enumerate(clients):
        original = each.prices.get

        async def counted(*args: Any, _index: int = index, _get: Any = original, **kw: Any) -> Any:
            sent[_index] += 1
            return await _get(*args, **kw)

        each.prices.get = counted  # type: ignore[method-assign]


async def test_a_sync_spread_over_two_keys_gives_the_bars_of_a_one_key_sync(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    sent: Counter[int] = Counter()
    clients = [AsyncClient(**user_kwargs(sim, i), rate_limit=False) for i in (0, 1)]
    _count_price_requests(clients, sent)
    try:
        summary = await Catalog(tmp_path / "two", clients).async_sync(EPICS, "MINUTE", START)
    finally:
        for each in clients:
            await each.aclose()
    one = Catalog(tmp_path / "one", client)
    one.sync(EPICS, "MINUTE", START)

    two = Catalog(tmp_path / "two")
    for epic in EPICS:
        pd.testing.assert_frame_equal(two.bars(epic, "MINUTE"), one.bars(epic, "MINUTE"))
    assert sent[0] > 0
    assert sent[1] > 0
    assert sent[0] + sent[1] == summary.price_requests
    assert summary.clients == 2


async def test_two_keys_share_the_windows_of_one_series_evenly(
    sim: SimHandle, tmp_path: Path
) -> None:
    # One series of 26 windows: one segment of 25 and one of 1. Workers that took whole
    # segments left one key with 25 requests and the other with 1 (it then idled).
    sent: Counter[int] = Counter()
    clients = [AsyncClient(**user_kwargs(sim, i), rate_limit=False) for i in (0, 1)]
    _count_price_requests(clients, sent)
    start = NOW - timedelta(minutes=26 * 1000 + 30)
    try:
        summary = await Catalog(tmp_path, clients).async_sync(
            "BTCUSD", "MINUTE", start, tasks_per_client=1
        )
    finally:
        for each in clients:
            await each.aclose()
    assert summary.price_requests == 27  # 26 full windows and the part before them
    assert min(sent.values()) >= 10, sent


async def test_a_window_goes_to_a_key_with_a_free_slot_not_one_that_would_wait(
    sim: SimHandle, tmp_path: Path
) -> None:
    """Key 1 starts with its second full (its login and 9 pings): its workers take no window
    until its slot comes, so nothing waits in key 1's limiter while key 0 could send it."""
    delays: list[list[float]] = [[], []]
    clients = [AsyncClient(**user_kwargs(sim, i)) for i in (0, 1)]  # client limits on
    for index, each in enumerate(clients):
        original = each.prices.get

        async def noted(*args: Any, _index: int = index, _get: Any = original, **kw: Any) -> Any:
            delays[_index].append(clients[_index].request_delay())
            return await _get(*args, **kw)

        each.prices.get = noted  # type: ignore[method-assign]
    try:
        for _ in range(9):
            await clients[1].general.ping()
        assert clients[1].request_delay() > 0.5
        summary = await Catalog(tmp_path, clients).async_sync(
            "BTCUSD", "MINUTE", NOW - timedelta(minutes=14 * 1000)
        )
    finally:
        for each in clients:
            await each.aclose()
    assert summary.price_requests == len(delays[0]) + len(delays[1]) == 15
    assert delays[0]
    assert delays[1]
    assert max(delays[0] + delays[1]) == 0.0  # every window left at once
    assert len(delays[0]) >= 8  # key 0's free slots (all but its login's and lookup's) first


async def test_the_lookups_of_many_epics_go_fifty_at_a_time_over_the_keys(
    sim: SimHandle, tmp_path: Path
) -> None:
    from capitalcom_sim.engine.instruments import INSTRUMENTS

    epics = [i.epic for i in INSTRUMENTS]  # 53: two GET /markets?epics= (50 + 3)
    assert len(epics) > 50
    looked_up: Counter[int] = Counter()
    clients = [AsyncClient(**user_kwargs(sim, i), rate_limit=False) for i in (0, 1)]
    for index, each in enumerate(clients):
        original = each.markets.search

        async def counted(*args: Any, _index: int = index, _f: Any = original, **kw: Any) -> Any:
            looked_up[_index] += len(kw["epics"])
            return await _f(*args, **kw)

        each.markets.search = counted  # type: ignore[method-assign]
    try:
        summary = await Catalog(tmp_path, clients).async_sync(epics, "DAY", NOW - timedelta(days=3))
    finally:
        for each in clients:
            await each.aclose()
    assert sorted(looked_up.values()) == [3, 50]  # one batch per key
    assert summary.requests == summary.price_requests + 1 + 2
    decimals = {s.epic: s.decimal_places for s in Catalog(tmp_path).series()}
    assert set(decimals) == set(epics)
    assert all(isinstance(d, int) for d in decimals.values())


async def test_async_sync_with_a_sync_client_is_refused(client: Client, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="AsyncClient"):
        await Catalog(tmp_path, client).async_sync("GOLD", "MINUTE", START)


async def test_async_sync_refuses_a_bad_task_count(sim: SimHandle, tmp_path: Path) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as each:
        with pytest.raises(RequestValidationError, match="tasks_per_client"):
            await Catalog(tmp_path, each).async_sync("GOLD", "MINUTE", START, tasks_per_client=0)


def test_keys_file_gives_credentials_and_names_what_is_missing(tmp_path: Path) -> None:
    good = tmp_path / "keys.toml"
    good.write_text(
        '[[keys]]\napi_key = "k1"\nidentifier = "a@example.com"\npassword = "p1"\n'
        '[[keys]]\napi_key = "k2"\nidentifier = "b@example.com"\npassword = "p2"\n'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[[keys]]\napi_key = "k1"\nidentifier = "a@example.com"\n')

    keys = load_keys(good)

    assert [k.identifier for k in keys] == ["a@example.com", "b@example.com"]
    assert "p1" not in repr(keys)
    assert "k1" not in repr(keys)
    with pytest.raises(ConfigurationError, match=r"#1 lacks password"):
        load_keys(bad)
    with pytest.raises(ConfigurationError, match=r"(?i)no such file"):
        load_keys(tmp_path / "missing.toml")


def test_a_sync_with_two_sync_clients_runs_one_thread_each_to_the_same_bars(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    sent: Counter[int] = Counter()
    clients = [Client(**user_kwargs(sim, i), rate_limit=False) for i in (0, 1)]
    for index, each in enumerate(clients):
        original = each.prices.get

        def counted(*args: Any, _index: int = index, _get: Any = original, **kw: Any) -> Any:
            sent[_index] += 1
            return _get(*args, **kw)

        each.prices.get = counted  # type: ignore[method-assign]
    try:
        summary = Catalog(tmp_path / "two", clients).sync(EPICS, "MINUTE", START)
    finally:
        for each in clients:
            each.close()
    one = Catalog(tmp_path / "one", client)
    one.sync(EPICS, "MINUTE", START)

    for epic in EPICS:
        pd.testing.assert_frame_equal(
            Catalog(tmp_path / "two").bars(epic, "MINUTE"), one.bars(epic, "MINUTE")
        )
    assert sent[0] > 0
    assert sent[1] > 0
    assert sum(sent.values()) == summary.price_requests


def test_sync_clients_take_a_window_only_when_their_slot_is_free(
    sim: SimHandle, tmp_path: Path
) -> None:
    """The threaded driver as the async one: key 1 starts full and waits before it takes work."""
    delays: list[list[float]] = [[], []]
    clients = [Client(**user_kwargs(sim, i)) for i in (0, 1)]  # client limits on
    for index, each in enumerate(clients):
        original = each.prices.get

        def noted(*args: Any, _index: int = index, _get: Any = original, **kw: Any) -> Any:
            delays[_index].append(clients[_index].request_delay())
            return _get(*args, **kw)

        each.prices.get = noted  # type: ignore[method-assign]
    try:
        for _ in range(9):
            clients[1].general.ping()
        assert clients[1].request_delay() > 0.5
        summary = Catalog(tmp_path, clients).sync(
            "BTCUSD", "MINUTE", NOW - timedelta(minutes=14 * 1000)
        )
    finally:
        for each in clients:
            each.close()
    assert summary.price_requests == len(delays[0]) + len(delays[1]) == 15
    assert delays[1]
    assert max(delays[0] + delays[1]) == 0.0  # each request found its client's slot free
    assert len(delays[0]) >= 8
