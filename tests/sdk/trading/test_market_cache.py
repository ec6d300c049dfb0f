"""The dealing rules of a market are cached for ``market_ttl`` and read again after a refusal."""

from __future__ import annotations

import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.errors import InvalidRequestError
from capitalcom_sdk.trading import Safety
from tests.conftest import SimHandle


def _market_reads(sim: SimHandle) -> int:
    requests = sim.state.stats.snapshot()["requests"]
    return sum(n for key, n in requests.items() if key.startswith("GET") and "/markets/" in key)


def test_rules_are_cached_then_refreshed_after_a_refusal(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False, safety=Safety(market_ttl=3600))
    client.positions.open("BTCUSD", "BUY", 0.01)
    client.positions.open("BTCUSD", "BUY", 0.01)
    assert _market_reads(sim) == 1  # warm cache: one read for two writes
    sim.state.faults.add(
        {
            "method": "POST",
            "path": "/api/v1/positions",
            "kind": "status",
            "status": 400,
            "errorCode": "error.invalid.stoploss.minvalue",
        }
    )
    with pytest.raises(InvalidRequestError):
        client.positions.open("BTCUSD", "BUY", 0.01)
    client.positions.open("BTCUSD", "BUY", 0.01)
    assert _market_reads(sim) == 2  # the refusal dropped the cached rules


def test_a_zero_ttl_reads_the_rules_for_every_write(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False, safety=Safety(market_ttl=0))
    client.positions.open("BTCUSD", "BUY", 0.01)
    client.positions.open("BTCUSD", "BUY", 0.01)
    assert _market_reads(sim) == 2
