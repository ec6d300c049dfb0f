"""Paper trading: how late the bridge's quotes reach the simulator the bot trades on.

Not part of ``make bench`` (a standalone script, no targets). Two simulators in their own
processes: the source stands for the demo server (clock at wall time, speed 1, its seeded
market quoting every 1 s tick), the target is the paper-trading simulator (speed 1). A
:class:`~capitalcom_sdk.backtest._bridge.PriceBridge` (its own Client on the source) pins every
source quote on the target. Figures:

- bridge: a quote's arrival at the bridge to the target's answer (``BridgeStats.latency_*``);
- age: the quote's own timestamp to the target's answer (``BridgeStats.age_*``, corrected for
  the source clock's offset from this machine's: the end-to-end lag up to the target's REST;
  its p99 holds the quotes sent on subscribing, which are up to one source tick old);
- bot stream: the quote's timestamp to the bot's ``stream()`` on the target delivering that bid
  and offer (each epic's first quote, the subscription's snapshot, left out); the target
  re-quotes on its own tick grid, so this adds up to one target tick (``--target-tick-ms``).

Run: ``python -m bench.paper_bridge [--seconds 20] [--epics 10] [--target-tick-ms 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from typing import Any

from bench._common import API_KEY, IDENTIFIER, PASSWORD, SimProcess
from capitalcom_sdk import AsyncClient, Client, Quote
from capitalcom_sdk.backtest._bridge import PriceBridge


def _minus(value: float | None, offset: float) -> float | None:
    return None if value is None else round(value - offset, 2)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {}
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "max_ms": round(ordered[-1], 2),
        "n": len(ordered),
    }


def _clock_offset_ms(sim: SimProcess, samples: int = 20) -> float:
    """This machine's time minus the simulator's (ms), from the fastest of several round trips."""
    best: tuple[float, float] | None = None
    for _ in range(samples):
        before = time.time()
        now_ms = float(sim.control("GET", "/_sim/clock")["now"])
        after = time.time()
        if best is None or after - before < best[1]:
            best = ((before + after) / 2 * 1000.0 - now_ms, after - before)
    assert best is not None
    return best[0]


def _open_epics(now_ms: int, count: int) -> list[str]:
    from capitalcom_sim.engine.instruments import InstrumentTable

    table = InstrumentTable.default()
    return [i.epic for i in table if i.opening_hours.is_open(now_ms)][:count]


async def _bot_stream(
    base_url: str,
    epics: list[str],
    source_stamps: dict[tuple[str, float, float], int],
    seconds: float,
    offset: float,
) -> list[float]:
    """Ages (ms) of the quotes the bot's stream on the target delivers, matched to the source's."""
    ages: list[float] = []
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    async with (
        AsyncClient(API_KEY, IDENTIFIER, PASSWORD, base_url=base_url) as client,
        client.stream() as stream,
    ):
        await stream.subscribe_quotes(epics)
        while time.monotonic() < deadline:
            try:
                event = await asyncio.wait_for(anext(stream), 0.5)
            except TimeoutError:
                continue
            if isinstance(event, Quote):
                if event.epic not in seen:  # the subscription's snapshot: as old as it is
                    seen.add(event.epic)
                    continue
                stamped = source_stamps.get((event.epic, event.bid, event.offer))
                if stamped is not None:
                    ages.append(time.time() * 1000.0 - stamped - offset)
    return ages


def run(seconds: float = 20.0, epics: int = 10, target_tick_ms: int = 1000) -> dict[str, Any]:
    """Measure; returns the figures as a dict."""
    now_ms = int(time.time() * 1000)
    source = SimProcess(args=["--start-ms", str(now_ms)]).start()
    target = SimProcess(args=["--tick-ms", str(target_tick_ms), "--seed", "8"]).start()
    try:
        offset = _clock_offset_ms(source)  # the source's clock started a little late
        names = _open_epics(now_ms, epics)
        if not names:
            raise SystemExit("no simulated market is open now")
        stamps: dict[tuple[str, float, float], int] = {}
        with Client(API_KEY, IDENTIFIER, PASSWORD, base_url=source.base_url) as feed:
            # What the source streams, stamped, so that the bot's quotes can be matched.
            watcher = feed.stream()
            watcher.open()
            watcher.subscribe_quotes(names)
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    event = watcher.get(timeout=0.2)
                    if isinstance(event, Quote):
                        stamps[(event.epic, event.bid, event.offer)] = event.timestamp_ms

            thread = threading.Thread(target=watch, daemon=True)
            thread.start()
            with PriceBridge(feed, target.base_url, names) as bridge:
                bot_ages = asyncio.run(_bot_stream(target.base_url, names, stamps, seconds, offset))
                stats = bridge.stats
            stop.set()
            thread.join()
            watcher.close()
        return {
            "epics": len(names),
            "seconds": seconds,
            "target_tick_ms": target_tick_ms,
            "quotes_received": stats.received,
            "quotes_pushed": stats.pushed,
            "coalesced": stats.coalesced,
            "push_errors": stats.push_errors,
            "bridge": {
                "median_ms": _minus(stats.latency_median_ms, 0.0),
                "p99_ms": _minus(stats.latency_p99_ms, 0.0),
            },
            "source_clock_offset_ms": round(offset, 2),
            "age_at_target": {  # corrected for the source's clock offset
                "median_ms": _minus(stats.age_median_ms, offset),
                "p99_ms": _minus(stats.age_p99_ms, offset),
            },
            "bot_stream": _percentiles(bot_ages),
        }
    finally:
        source.stop()
        target.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--epics", type=int, default=10)
    parser.add_argument("--target-tick-ms", type=int, default=1000)
    args = parser.parse_args()
    figures = run(args.seconds, args.epics, args.target_tick_ms)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
