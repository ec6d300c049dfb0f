"""The opt-in suite against the real Capital.com *demo* server (``pytest -m live``).

It runs only when CAPITAL_API_KEY, CAPITAL_IDENTIFIER and CAPITAL_PASSWORD are set (without them
its tests are deselected, not skipped: see tests/conftest.py). It never talks to the live (real
money) server: CAPITAL_ENV=live stops the run. Trades (smallest size, opened and closed at once,
on the demo account) run only with CAPITAL_LIVE_TRADING=1. CAPITAL_BASE_URL points it at another
server: tests/test_live_suite.py runs it against the simulator so that the suite itself is known
to work before anybody's credentials meet it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from capitalcom_sdk import AsyncClient, Client


def _kwargs() -> dict[str, str | None]:
    if os.environ.get("CAPITAL_ENV", "demo").lower() != "demo":
        pytest.exit("the live suite runs against the demo server only (CAPITAL_ENV=demo)", 2)
    return {
        "api_key": os.environ["CAPITAL_API_KEY"],
        "identifier": os.environ["CAPITAL_IDENTIFIER"],
        "password": os.environ["CAPITAL_PASSWORD"],
        "base_url": os.environ.get("CAPITAL_BASE_URL") or None,
    }


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with Client(**_kwargs(), env="demo") as live:  # type: ignore[arg-type]
        yield live


@pytest.fixture
async def async_client() -> AsyncClient:
    return AsyncClient(**_kwargs(), env="demo")  # type: ignore[arg-type]


@pytest.fixture
def trading() -> None:
    if os.environ.get("CAPITAL_LIVE_TRADING") != "1":
        pytest.skip("trades on the demo account only with CAPITAL_LIVE_TRADING=1")
