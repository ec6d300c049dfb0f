"""Safe requests under 20 % injected 5xx / 429 / latency, with the simulator's limits ON.

Every call must succeed; no call may use more attempts than the retry budget allows (counted
per call with an httpx event hook and a context variable, and in total by the simulator's
stats); and the client's own pacing must never trip the simulator's rate limiter: the only 429s
the client may see are the injected ones (``rejected_429`` counts the limiter's, not faults).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from capitalcom_sdk import AsyncClient
from capitalcom_sdk._retry import RetryPolicy
from capitalcom_sim.server import SimServer
from tests.conftest import start_sim
from tests.reliability.conftest import config, handle

USERS = 4
CALLS_PER_USER = 60
START_MS = 1_795_003_200_000  # a Wednesday, 12:00 UTC
POLICY = RetryPolicy(max_retries=8, max_delay=30.0, base_delay=0.02, rate_limit_delay=0.2)
# (share of GET requests, fault); shares add up to 20 %.
FAULTS: list[tuple[float, dict[str, object]]] = [
    (0.04, {"kind": "status", "status": 500, "errorCode": "error.internal"}),
    (0.04, {"kind": "status", "status": 502, "errorCode": "error.bad.gateway"}),
    (0.04, {"kind": "status", "status": 503, "errorCode": "error.service.unavailable"}),
    (0.04, {"kind": "status", "status": 429, "errorCode": "error.too-many.requests"}),
    (0.04, {"kind": "latency", "latencyMs": 150}),
]

current_call: contextvars.ContextVar[str | None] = contextvars.ContextVar("call", default=None)

Call = Callable[[AsyncClient], Awaitable[Any]]
SAFE_CALLS: list[tuple[str, Call]] = [
    ("ping", lambda c: c.general.ping()),
    ("time", lambda c: c.general.server_time()),
    ("details", lambda c: c.session.details()),
    ("accounts", lambda c: c.accounts.list()),
    ("preferences", lambda c: c.accounts.preferences()),
    ("positions", lambda c: c.positions.list()),
    ("orders", lambda c: c.orders.list()),
    ("market", lambda c: c.markets.get("GOLD")),
    ("search", lambda c: c.markets.search(epics=["GOLD", "SILVER", "US500"])),
    ("navigation", lambda c: c.markets.navigation()),
    ("prices", lambda c: c.prices.get("GOLD", max_bars=20)),
    ("sentiment", lambda c: c.sentiment.get("GOLD")),
    ("watchlists", lambda c: c.watchlists.list()),
    ("transactions", lambda c: c.history.transactions(last_period=600)),
]


@pytest.fixture
def server() -> Iterator[SimServer]:
    server = start_sim(config(USERS, rate_limits=True, start_ms=START_MS, seed=2020))
    try:
        yield server
    finally:
        server.stop()


def fault_rules() -> list[dict[str, object]]:
    rules, left = [], 1.0
    for share, spec in FAULTS:
        rules.append(
            {"method": "GET", "path": "/api/v1/", "times": None, "probability": share / left} | spec
        )
        left -= share
    return rules


async def worker(server: SimServer, user: int, attempts: Counter[str], failures: list[str]) -> None:
    async def count(request: httpx.Request) -> None:
        call = current_call.get()
        if call is not None:
            attempts[call] += 1

    me = handle(server, user)
    async with AsyncClient(**me.client_kwargs(), retry=POLICY) as client:
        client._http.event_hooks["request"].append(count)
        await client.session.login()
        for i in range(CALLS_PER_USER):
            name, call = SAFE_CALLS[(i + user) % len(SAFE_CALLS)]
            token = current_call.set(f"{user}:{i}:{name}")
            try:
                await call(client)
            except Exception as exc:  # every failure is a finding; collect them all
                failures.append(f"{user}:{i}:{name}: {type(exc).__name__}: {exc}")
            finally:
                current_call.reset(token)


@pytest.mark.slow
async def test_safe_requests_succeed_within_the_retry_budget_and_the_rate_limit(
    server: SimServer,
) -> None:
    sim = handle(server)
    for rule in fault_rules():
        sim.state.faults.add(rule)
    attempts: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    await asyncio.gather(*(worker(server, user, attempts, failures) for user in range(USERS)))
    elapsed = time.monotonic() - started

    stats = sim.state.stats.snapshot()
    injected = sum(int(f["hits"]) for f in sim.state.faults.list())
    failed_injected = sum(int(f["hits"]) for f in sim.state.faults.list() if f["kind"] != "latency")
    get_requests = sum(n for key, n in stats["requests"].items() if key.startswith("GET "))
    calls = USERS * CALLS_PER_USER
    print(
        f"\n{calls} safe calls, {sum(attempts.values())} attempts, {get_requests} GETs in "
        f"{elapsed:.1f} s; faults {injected} ({failed_injected} failing); most attempts of one "
        f"call {max(attempts.values())}; status {stats['status']}; limiter 429s "
        f"{stats['rejected_429']}"
    )
    assert failures == []
    assert len(attempts) == calls
    assert max(attempts.values()) <= 1 + POLICY.max_retries
    # Every retry answered an injected failure: attempts = calls + failing faults.
    assert sum(attempts.values()) == calls + failed_injected
    assert 0.12 <= injected / get_requests <= 0.28
    # The client's pacing never tripped the simulator's limiter.
    assert stats["rejected_429"] == {k: 0 for k in stats["rejected_429"]}
    assert int(stats["status"].get("429", 0)) == sum(
        int(f["hits"])
        for f in sim.state.faults.list()
        if f.get("status") == 429 and f["kind"] == "status"
    )


@pytest.mark.slow
async def test_concurrent_orders_and_reads_keep_every_server_limit(server: SimServer) -> None:
    """A burst of order POSTs (one per 0.1 s allowed) mixed with reads (10/s): no 429 at all."""
    sim = handle(server)
    async with AsyncClient(**sim.client_kwargs(), max_retries=0) as client:
        await client.session.login()
        opens = [client.positions.open("EURUSD", "BUY", 100 + i) for i in range(12)]
        reads = [client.positions.list() for _ in range(8)]
        results = await asyncio.gather(*opens, *reads)
    stats = sim.state.stats.snapshot()
    assert len(results) == 20
    assert stats["rejected_429"] == {k: 0 for k in stats["rejected_429"]}
    assert int(stats["status"].get("429", 0)) == 0
    account = sim.state.config.users[0].preferred_account.account_id
    assert len(sim.state.engine.positions(account)) == 12
