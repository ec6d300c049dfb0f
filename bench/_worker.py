"""One measured client in its own process: ``python -m bench._worker VARIANT BASE_URL EPIC``.

Protocol on stdin/stdout, one line each: the worker prints ``ready <epic seen>`` once it has
logged in and fetched the market once; then ``run N`` makes N sequential
``GET /api/v1/markets/{epic}`` calls and answers the elapsed wall-clock and CPU seconds of this
process; ``quit`` ends it.
Every variant parses the body (that is part of the cost of a call). TLS trust comes from
SSL_CERT_FILE / REQUESTS_CA_BUNDLE set by the parent. Fetched baseline packages are imported
from BENCH_BASELINES (a temp dir, see bench/_baselines.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench._common import API_KEY, CLIENT_CPUS, IDENTIFIER, PASSWORD, pin

Call = Callable[[], Any]
AsyncCall = Callable[[], Awaitable[Any]]


def _login_headers(base_url: str) -> dict[str, str]:
    import httpx

    response = httpx.post(
        base_url + "/api/v1/session",
        json={"identifier": IDENTIFIER, "password": PASSWORD},
        headers={"X-CAP-API-KEY": API_KEY},
    )
    response.raise_for_status()
    return {k: response.headers[k] for k in ("CST", "X-SECURITY-TOKEN")}


def floor(base_url: str, epic: str) -> Call:
    """Raw httpx.Client with keep-alive and json.loads: the least a call can cost."""
    import httpx

    http = httpx.Client(base_url=base_url, headers=_login_headers(base_url))
    path = f"/api/v1/markets/{epic}"

    def call() -> Any:
        return json.loads(http.get(path).content)["instrument"]["epic"]

    return call


def sync_client(base_url: str, epic: str) -> Call:
    """Our Client: typed MarketDetails model, limits off (the simulator's are off too)."""
    from capitalcom_sdk import Client

    client = Client(API_KEY, IDENTIFIER, PASSWORD, base_url=base_url, rate_limit=False)

    def call() -> Any:
        return client.markets.get(epic).instrument.epic

    return call


def async_client(base_url: str, epic: str) -> AsyncCall:
    """Our AsyncClient, awaited call after call."""
    from capitalcom_sdk import AsyncClient

    client = AsyncClient(API_KEY, IDENTIFIER, PASSWORD, base_url=base_url, rate_limit=False)

    async def call() -> Any:
        return (await client.markets.get(epic)).instrument.epic

    return call


def async_client_httpcore(base_url: str, epic: str) -> AsyncCall:
    """Our AsyncClient on httpx's own async transport (httpcore) instead of aiohttp."""
    import httpx

    from capitalcom_sdk import AsyncClient
    from capitalcom_sdk._settings import DEFAULT_LIMITS

    client = AsyncClient(
        API_KEY,
        IDENTIFIER,
        PASSWORD,
        base_url=base_url,
        rate_limit=False,
        transport=httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS),
    )

    async def call() -> Any:
        return (await client.markets.get(epic)).instrument.epic

    return call


def async_floor(base_url: str, epic: str) -> AsyncCall:
    """Raw httpx.AsyncClient with keep-alive and json.loads (the async floor, for reference)."""
    import httpx

    http = httpx.AsyncClient(base_url=base_url, headers=_login_headers(base_url))
    path = f"/api/v1/markets/{epic}"

    async def call() -> Any:
        return json.loads((await http.get(path)).content)["instrument"]["epic"]

    return call


def aiohttp_floor(base_url: str, epic: str) -> AsyncCall:
    """Raw aiohttp.ClientSession with keep-alive and json.loads: the async wire on its own."""
    import aiohttp

    session = aiohttp.ClientSession(base_url, headers=_login_headers(base_url))
    path = f"/api/v1/markets/{epic}"

    async def call() -> Any:
        async with session.get(path) as response:
            return json.loads(await response.read())["instrument"]["epic"]

    return call


def starting_point(base_url: str, epic: str) -> Call:
    """capitalcom-python 0.2.3 as published, its endpoint constants pointed at the simulator."""
    import capitalcom

    module = sys.modules[capitalcom.Client.__module__]
    constants = module.CapitalComConstants
    for name, value in vars(constants).copy().items():
        if isinstance(value, str) and value.startswith("https://"):
            path = value.split("/api/", 1)[1]
            setattr(constants, name, f"{base_url}/api/{path}")
    client = capitalcom.Client(IDENTIFIER, PASSWORD, API_KEY)

    def call() -> Any:
        return client.single_market(epic)["instrument"]["epic"]

    return call


def starting_point_emulated(base_url: str, epic: str) -> Call:
    """The starting-point pattern without the package: ``requests.get`` (no session) per call."""
    import requests

    headers = _login_headers(base_url)
    url = f"{base_url}/api/v1/markets/{epic}"

    def call() -> Any:
        return requests.get(url, headers=headers, timeout=15).json()["instrument"]["epic"]

    return call


def cli_sdk(base_url: str, epic: str) -> AsyncCall:
    """capitalcom-cli's SDK (CapitalComApp), its base URL and rate limiter overridden.

    Its config has the server URL as a property, so a subclass answers the simulator's; its
    client-side limiter (10/s, process-global) is replaced by one that never waits, so this
    measures per-call overhead like the other rows (the simulator's limits are off).
    """
    from capital_cli.core import rate_limit
    from capital_cli.sdk import CapitalComApp, CapitalComConfig

    class SimConfig(CapitalComConfig):
        @property
        def base_url(self) -> str:
            return base_url

    async def allow(*args: Any, **kwargs: Any) -> bool:
        return True

    for method in ("acquire_global", "acquire_session", "acquire_trading"):
        setattr(rate_limit.RateLimiter, method, allow)
    config = SimConfig(
        cap_api_key=API_KEY,
        cap_identifier=IDENTIFIER,
        cap_api_password=PASSWORD,
        cap_persist_session=False,
    )
    app = CapitalComApp(config)

    async def call() -> Any:  # the service logs in on first use
        return (await app.markets.get(epic))["instrument"]["epic"]

    return call


VARIANTS: dict[str, Callable[[str, str], Call | AsyncCall]] = {
    "floor": floor,
    "sync": sync_client,
    "async": async_client,
    "async_floor": async_floor,
    "async_httpcore": async_client_httpcore,
    "aiohttp_floor": aiohttp_floor,
    "starting_point": starting_point,
    "starting_point_emulated": starting_point_emulated,
    "cli_sdk": cli_sdk,
}
ASYNC = {"async", "async_floor", "async_httpcore", "aiohttp_floor", "cli_sdk"}


def main() -> int:
    variant, base_url, epic = sys.argv[1:4]
    pin(CLIENT_CPUS)
    if os.environ.get("BENCH_BASELINES"):
        sys.path.insert(0, os.environ["BENCH_BASELINES"])
    loop = asyncio.new_event_loop()
    if variant in ASYNC:

        async def build() -> AsyncCall:
            return VARIANTS[variant](base_url, epic)  # type: ignore[return-value]

        acall = loop.run_until_complete(build())

        async def many(n: int) -> None:
            for _ in range(n):
                await acall()

        def calls(n: int) -> None:
            loop.run_until_complete(many(n))

        seen = loop.run_until_complete(acall())
    else:
        call: Call = VARIANTS[variant](base_url, epic)  # type: ignore[assignment]

        def calls(n: int) -> None:
            for _ in range(n):
                call()

        seen = call()
    print(f"ready {seen}", flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] == "quit":
            break
        wall, cpu = time.perf_counter(), time.process_time()
        calls(int(command[1]))
        print(f"{time.perf_counter() - wall:.9f} {time.process_time() - cpu:.9f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
