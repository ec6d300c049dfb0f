"""Bars and bot files for the backtest tests."""

from __future__ import annotations

import math
import textwrap
from datetime import UTC, datetime
from pathlib import Path

START = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)  # a Thursday: GOLD trades all afternoon
START_MS = int(START.timestamp() * 1000)


def gold_bars(n: int = 300) -> list[tuple[int, float, float, float, float, int]]:
    """A wave of minute bars around 2000 (time ms, open, high, low, close, volume)."""
    bars = []
    price = 2000.0
    for i in range(n):
        close = round(2000 + 20 * math.sin(i / 15) + (i % 7) * 0.3, 2)
        high = round(max(price, close) + 0.8, 2)
        low = round(min(price, close) - 0.8, 2)
        bars.append((START_MS + i * 60_000, price, high, low, close, 100 + i))
        price = close
    return bars


def write_csv(path: Path, n: int = 300) -> Path:
    """The bars in the simulator's CSV form (time,open,high,low,close,volume)."""
    lines = ["time,open,high,low,close,volume"]
    lines += [",".join(str(v) for v in bar) for bar in gold_bars(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_bot(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


CROSSOVER_BOT = """
    import sys
    from capitalcom_sdk import Client

    fast_n, slow_n = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (3, 10)
    client = Client.from_env()
    closes, side = [], None
    while True:
        closes.append(client.markets.get("GOLD").snapshot.bid)
        if len(closes) >= slow_n:
            fast = sum(closes[-fast_n:]) / fast_n
            slow = sum(closes[-slow_n:]) / slow_n
            want = "BUY" if fast > slow else "SELL"
            if want != side:
                client.positions.open("GOLD", want, 1.0)
                side = want
                print("signal", want, client.now().isoformat())
        client.sleep(60)
"""
