"""A simulator with a frozen clock (moved by the tests) and two users, and catalog helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from capitalcom_sdk import Client
from capitalcom_sim.config import SimConfig, UserConfig, default_accounts, single_user
from tests.conftest import SimHandle

NOW = datetime(2026, 1, 7, 12, 0, 30, tzinfo=UTC)  # a Wednesday; the 12:00 bar is forming
PRICES = "GET /api/v1/prices/{epic}"


def second_user() -> UserConfig:
    return UserConfig(
        "22345678", "second@example.com", "sim-api-key-2", "sim-password-2", default_accounts(1)
    )


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        users=(single_user(), second_user()),
        rate_limits=False,
        seed=7,
        start_ms=int(NOW.timestamp() * 1000),
        clock_speed=0.0,
        # tests move the clock by hours; a session expiring meanwhile would add a re-login and
        # a repeated request to the counts they check
        session_idle_seconds=1e9,
        session_max_seconds=1e9,
    )


def price_requests(sim: SimHandle) -> int:
    count: int = sim.state.stats.snapshot()["requests"].get(PRICES, 0)
    return count


def all_requests(sim: SimHandle) -> dict[str, int]:
    requests: dict[str, int] = sim.state.stats.snapshot()["requests"]
    return dict(requests)


@pytest.fixture
def client(sim: SimHandle) -> Iterator[Client]:
    with Client(**sim.client_kwargs(), rate_limit=False) as c:
        yield c


def user_kwargs(sim: SimHandle, index: int) -> dict[str, Any]:
    user = sim.server.config.users[index]
    return {
        "api_key": user.api_key,
        "identifier": user.identifier,
        "password": user.password,
        "base_url": sim.base_url,
    }
