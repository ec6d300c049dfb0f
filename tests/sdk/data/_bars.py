"""Synthetic wire-format API items for the pure data tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any


def wire_bars(
    n: int, *, start: datetime | None = None, step_minutes: int = 60, seed: int = 1
) -> list[dict[str, Any]]:
    """``n`` price bars as GET /prices returns them (random walk, 0.02 spread)."""
    rng = random.Random(seed)
    t = start or datetime(2026, 1, 5, tzinfo=UTC)
    price = 100.0
    bars = []
    for _ in range(n):
        o = price
        c = round(o + rng.uniform(-1, 1), 3)
        h = round(max(o, c) + rng.uniform(0, 0.5), 3)
        low = round(min(o, c) - rng.uniform(0, 0.5), 3)
        bars.append(
            {
                "snapshotTime": (t + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S"),
                "snapshotTimeUTC": t.strftime("%Y-%m-%dT%H:%M:%S"),
                "openPrice": {"bid": o, "ask": round(o + 0.02, 3)},
                "highPrice": {"bid": h, "ask": round(h + 0.02, 3)},
                "lowPrice": {"bid": low, "ask": round(low + 0.02, 3)},
                "closePrice": {"bid": c, "ask": round(c + 0.02, 3)},
                "lastTradedVolume": rng.randint(1, 5000),
            }
        )
        price = c
        t += timedelta(minutes=step_minutes)
    return bars


MARKET = {
    "instrumentName": "Silver",
    "expiry": "-",
    "marketStatus": "TRADEABLE",
    "epic": "SILVER",
    "symbol": "Silver",
    "instrumentType": "COMMODITIES",
    "lotSize": 1,
    "bid": 24.366,
    "offer": 24.386,
    "updateTimeUTC": "2022-04-06T13:17:38.477",
}

POSITION = {
    "position": {
        "contractSize": 1,
        "createdDate": "2022-04-05T12:46:01.872",
        "createdDateUTC": "2022-04-05T09:46:01.872",
        "dealId": "00018387-0001-54c4-0000-000080560014",
        "dealReference": "p_00018387-0001-54c4-0000-000080560014",
        "workingOrderId": "00018387-0001-54c4-0000-000080560012",
        "size": 10,
        "leverage": 20,
        "upl": -0.05,
        "direction": "BUY",
        "level": 2.764,
        "currency": "USD",
        "guaranteedStop": False,
        "stopLevel": 2.5,
    },
    "market": MARKET,
}

ACTIVITY = {
    "date": "2022-01-03T18:01:48.420",
    "dateUTC": "2022-01-03T15:01:48.420",
    "epic": "OIL_CRUDE",
    "dealId": "00018509-0001-54c4-0000-0000803c0ec6",
    "source": "CLOSE_OUT",
    "type": "POSITION",
    "status": "ACCEPTED",
    "details": {
        "dealReference": "p_00018509-0001-54c4-0000-0000803c0ec6",
        "marketName": "Crude Oil",
        "currency": "USD",
        "size": 1,
        "direction": "SELL",
        "level": 75.2,
        "guaranteedStop": False,
    },
}

TRANSACTION = {
    "date": "2022-04-04T19:51:05.648",
    "dateUtc": "2022-04-04T16:51:05.648",
    "instrumentName": "NATURALGAS",
    "transactionType": "TRADE",
    "note": "Trade closed",
    "reference": "12345678",
    "size": "-1.05",
    "currency": "USD",
    "status": "PROCESSED",
}
