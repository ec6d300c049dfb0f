"""Pure-Python engine fixtures: an Engine on a frozen clock at a known market time."""

from __future__ import annotations

import pytest

from capitalcom_sim.config import AccountConfig, SimConfig, UserConfig
from capitalcom_sim.engine import Clock, Engine

# Wednesday 2026-11-25 12:00:00 UTC: commodities, indices, FX and crypto are open.
WEDNESDAY_NOON = 1_795_608_000_000
HOUR = 3_600_000
DAY = 24 * HOUR
USD_ACCOUNT = "11111111111111111"
EUR_ACCOUNT = "11111111111111112"


def make_config(seed: int = 7) -> SimConfig:
    user = UserConfig(
        "11111111",
        "engine@example.com",
        "engine-key",
        "engine-pass",
        (
            AccountConfig(USD_ACCOUNT, "USD", "USD", 10_000.0, preferred=True),
            AccountConfig(EUR_ACCOUNT, "EUR", "EUR", 5_000.0),
        ),
    )
    return SimConfig(users=(user,), seed=seed, rate_limits=False)


@pytest.fixture
def clock() -> Clock:
    return Clock(WEDNESDAY_NOON, speed=0)


@pytest.fixture
def engine(clock: Clock) -> Engine:
    return Engine(make_config(), clock)
