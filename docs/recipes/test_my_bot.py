"""Test a bot against the simulator: a real server on loopback, a clock you control.

Run it with pytest: ``.venv/bin/pytest docs/recipes/test_my_bot.py``.
"""

from collections.abc import Iterator

import pytest

from capitalcom_sdk import Client
from capitalcom_sim import SimConfig, SimServer, single_user

WEDNESDAY_NOON = 1_795_003_200_000  # 2026-11-18 12:00 UTC: markets open


def buy_the_dip(client: Client, epic: str, drop: float) -> str | None:
    """The bot under test: buy when the price is ``drop`` below the day's high."""
    bars = client.prices.get(epic, "HOUR", 24).prices  # the last 24 hourly bars
    high = max(bar.high_price.bid for bar in bars)
    bid = client.markets.get(epic).snapshot.bid
    if bid is not None and bid < high * (1 - drop):
        return client.positions.open(epic, "BUY", 1, stop_distance=30).opened_deal_ids[0]
    return None


@pytest.fixture
def sim() -> Iterator[SimServer]:
    # A frozen clock (clock_speed=0): prices change only when the test says so.
    config = SimConfig(users=(single_user(),), start_ms=WEDNESDAY_NOON, clock_speed=0.0)
    with SimServer(config) as server:
        yield server


@pytest.fixture
def client(sim: SimServer) -> Iterator[Client]:
    user = sim.config.users[0]
    with Client(user.api_key, user.identifier, user.password, base_url=sim.base_url) as client:
        yield client


def test_buys_after_a_two_percent_drop(sim: SimServer, client: Client) -> None:
    state = sim.state
    now = state.clock.now_ms()
    bid, _offer = state.engine.prices.quote("GOLD", now)
    # Script the price path: flat for a day, then 3% down over the next hour.
    state.engine.set_path(
        "GOLD", [(now - 86_400_000, bid), (now, bid), (now + 3_600_000, bid * 0.97)]
    )
    assert buy_the_dip(client, "GOLD", drop=0.02) is None  # not yet
    state.move_clock(advance_seconds=3600)
    deal_id = buy_the_dip(client, "GOLD", drop=0.02)
    assert deal_id is not None
    assert client.positions.get(deal_id).position.stop_level is not None
