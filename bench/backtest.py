"""Backtest throughput: bars per second through the full API path, against the design's floor.

Two runs, each a ``Backtest(...).run(script)`` (a simulator child process frozen at the start,
the bot a child process on the simulator's clock, HTTP to the simulator as a live bot would
speak to the server):

* one year of HOUR bars (~6,200 bars, 24 h a day on weekdays) of one epic;
* one month of MINUTE bars (~30,000 bars).

In each, the example bot (``examples/ma_crossover.py``: a GET /prices per bar, the positions
and a deal on each crossover, one wait per bar) is measured against the floor of this design: a
bot that only waits one bar at a time (one ``POST /_sim/clock`` per bar, nothing else), through
the same runner. Both include the runner's start-up (simulator, bot process, loading the bars)
and its end (ledger, closing positions). Figures: wall seconds, bars per second, and the ratio
of the example to the floor.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._common import ROOT, Figure, Section

EPIC = "BTCUSD"  # trades around the clock in the simulator: no closed-market gaps
EXAMPLE = ROOT / "examples" / "ma_crossover.py"
FLOOR_BOT = """\
from capitalcom_sdk import Client
from capitalcom_sdk.errors import BacktestEnded

client = Client.from_env()
try:
    while True:
        client.sleep({seconds})
except BacktestEnded:
    pass
"""
TARGETS = {"HOUR": 20.0, "MINUTE": 90.0}


def _bars(path: Path, start: datetime, resolution_s: int, count: int) -> int:
    """A deterministic random-walk series (weekdays only), written as the simulator's CSV."""
    rows = ["time,open,high,low,close"]
    t, price, written, step = start, 60_000.0, 0, 0
    while written < count:
        if t.weekday() < 5:
            drift = math.sin(step / 37.0) * 40.0 + math.sin(step / 5.3) * 15.0
            close = max(100.0, price + drift)
            high, low = max(price, close) + 12.5, min(price, close) - 12.5
            rows.append(f"{int(t.timestamp() * 1000)},{price:.2f},{high:.2f},{low:.2f},{close:.2f}")
            price, written = close, written + 1
        step += 1
        t += timedelta(seconds=resolution_s)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return written


def _run(
    script: Path,
    args: list[str],
    data: Path,
    resolution: str,
    start: datetime,
    end: datetime,
    out: Path | None,
) -> tuple[float, int, int, str]:
    from capitalcom_sdk.backtest import Backtest

    started = time.perf_counter()
    result = Backtest(
        EPIC, resolution, start, end, data=data, warmup=25, timeout=60.0, out=out
    ).run(str(script), args)
    wall = time.perf_counter() - started
    return wall, result.bars, len(result.trades), result.exit


def run(hour_bars: int = 6_200, minute_bars: int = 30_000) -> Section:
    """Time the example and the floor on ``hour_bars`` HOUR bars and ``minute_bars`` MINUTE."""
    section = Section("9. Backtest throughput")
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for resolution, seconds, count in (
            ("HOUR", 3600, hour_bars),
            ("MINUTE", 60, minute_bars),
        ):
            start = datetime(2025, 1, 6, tzinfo=UTC)
            data = folder / f"{resolution}.csv"
            loaded = _bars(data, start - timedelta(seconds=seconds * 40), seconds, count + 30)
            end = start + timedelta(seconds=seconds * (count * 7 // 5 + 10))
            floor_bot = folder / f"floor_{resolution}.py"
            floor_bot.write_text(FLOOR_BOT.format(seconds=seconds), encoding="utf-8")
            floor_wall, floor_bars, _, floor_exit = _run(
                floor_bot, [], data, resolution, start, end, None
            )
            args = ["--epic", EPIC, "--resolution", resolution, "--iterations", str(10**9)]
            wall, bars, trades, exit_ = _run(
                EXAMPLE, args, data, resolution, start, end, folder / f"report_{resolution}"
            )
            target = TARGETS[resolution]
            label = "one year of HOUR bars" if resolution == "HOUR" else "one month of MINUTE bars"
            section.figures.append(
                Figure(
                    section.title,
                    f"{label}: examples/ma_crossover.py through Backtest (wall time)",
                    wall,
                    "s",
                    baseline=floor_wall,
                    baseline_name="a bot that only waits one bar at a time (the floor)",
                    ratio=wall / floor_wall if floor_wall else None,
                    target=f"<= {target:g} s",
                    met=exit_ == "ok" and wall <= target,
                    note=f"{bars:,} bars ({loaded:,} in the file), {bars / wall:,.0f} bars/s "
                    f"vs floor {floor_bars / floor_wall:,.0f} bars/s; {trades} trades; exits "
                    f"{exit_} / floor {floor_exit}",
                )
            )
    section.notes.append(
        "Measured by bench/backtest.py: both runs go through Backtest(...).run(script) with its"
        " start-up and end; the floor bot only calls client.sleep(one bar) until the end, so"
        " the ratio is what the example's own requests (GET /prices each bar, positions and"
        " deals on crossovers) add to the lock-step itself."
    )
    return section


if __name__ == "__main__":
    for figure in run(*(int(a) for a in sys.argv[1:3])).figures:
        print(f"{figure.name}: {figure.ours:.1f} s (floor {figure.baseline:.1f} s) - {figure.note}")
