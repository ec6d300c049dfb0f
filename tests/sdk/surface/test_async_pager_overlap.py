"""The async price pager keeps the next window's request in flight while it parses the current
one (Prefetch): same bars as the sequential sync pager, at most two requests at a time, limits
kept, and a failing window leaves nothing running behind it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client, InvalidRequestError
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle

WEDNESDAY_NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
END = WEDNESDAY_NOON - timedelta(hours=1)
START = END - timedelta(minutes=4500)  # five 999-bar windows


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        users=(single_user(),),
        rate_limits=True,
        seed=5,
        start_ms=int(WEDNESDAY_NOON.timestamp() * 1000),
    )


class _Watching(httpx.AsyncHTTPTransport):
    """Counts GET /prices requests in flight (sent, body not yet read); may fail one window."""

    def __init__(self, fail_window: int | None = None) -> None:
        super().__init__()
        self.in_flight = 0
        self.most = 0
        self.sent = 0
        self.fail_window = fail_window

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/prices/" not in request.url.path:
            return await super().handle_async_request(request)
        self.sent += 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            if self.sent == self.fail_window:
                # real time on purpose: the failing window answers late, so the prefetched
                # next window is in flight when it fails
                await asyncio.sleep(0.01)
                return httpx.Response(400, json={"errorCode": "error.invalid.from"})
            response = await super().handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight -= 1


async def test_async_pager_overlaps_requests_and_matches_the_sync_pager(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        expected = client.prices.history("GOLD", "MINUTE", START, END)
    watching = _Watching()
    async with AsyncClient(**sim.client_kwargs(), transport=watching) as client:
        got = await client.prices.history("GOLD", "MINUTE", START, END)
    assert got == expected
    assert len(got.prices) > 3000  # GOLD pauses daily
    assert watching.sent == 5
    assert watching.most == 2, "the next window is requested while the current one is parsed"
    assert sim.state.stats.snapshot()["status"].get("429", 0) == 0


async def test_failing_window_raises_and_leaves_no_request_running(sim: SimHandle) -> None:
    watching = _Watching(fail_window=2)
    before = asyncio.all_tasks()
    async with AsyncClient(**sim.client_kwargs(), transport=watching) as client:
        with pytest.raises(InvalidRequestError):
            await client.prices.history("GOLD", "MINUTE", START, END)
        assert asyncio.all_tasks() - before == set()
        assert watching.in_flight == 0
        sent = watching.sent
        await asyncio.sleep(0.05)  # real time: a window for a stray request to show up
        assert watching.sent == sent <= 3, "nothing is sent after the failure"
