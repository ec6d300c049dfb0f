"""Streaming client: parse-and-dispatch throughput of quote frames on one core.

The frames are the simulator's quote frames (same JSON text) for 50 epics. They are fed through
the real reading loop (``Connection.run``: ``parse_frame`` -> ``AsyncStream._dispatch`` -> the
bounded buffer) from an in-memory socket, while the consumer takes them with ``async for``, all
on one event loop pinned to one core. Target: >= 50,000 quotes/s.

Run: ``python -m bench.stream_parse [--frames 200000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from bench._common import CLIENT_CPUS, pinned
from capitalcom_sdk.streaming import AsyncStream, Quote, StreamOptions, parse_frame
from capitalcom_sdk.streaming._connection import Connection, Tokens

TARGET = 50_000.0
EPICS = [f"EPIC{i:02d}" for i in range(50)]


def _frames(count: int) -> list[str]:
    out = []
    t0 = 1_795_618_800_000
    for i in range(count):
        bid = round(100.0 + (i % 997) * 0.01, 2)
        payload = {
            "epic": EPICS[i % len(EPICS)],
            "product": "CFD",
            "bid": bid,
            "bidQty": 1000.0 + i % 9000,
            "ofr": round(bid + 0.02, 2),
            "ofrQty": 2000.0 + i % 7000,
            "timestamp": t0 + (i // len(EPICS)) * 1000,
        }
        frame = {"status": "OK", "destination": "quote", "payload": payload}
        out.append(json.dumps(frame, separators=(",", ":")))
    return out


class _MemorySocket:
    """Stands in for the websocket: yields the frames, letting the consumer run every batch."""

    def __init__(self, frames: list[str], batch: int = 256) -> None:
        self._frames = frames
        self._batch = batch

    async def _iterate(self) -> AsyncIterator[str]:
        for index, frame in enumerate(self._frames):
            if index % self._batch == 0:
                await asyncio.sleep(0)
            yield frame

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()


class _NoSession:
    tokens: Any = None

    def streaming_host(self) -> str | None:
        return None

    async def relogin(self, generation: int) -> None:
        return None


async def _pipeline(frames: list[str]) -> float:
    stream = AsyncStream(_NoSession(), StreamOptions(max_queue=len(frames) + 1))
    conn = Connection(
        _MemorySocket(frames),  # type: ignore[arg-type]
        Tokens("cst", "token", 0),
        stream._dispatch,
        request_timeout=1.0,
    )
    count = len(frames)
    started = time.perf_counter()
    reader = asyncio.create_task(conn.run())
    received = 0
    async for event in stream:
        assert type(event) is Quote
        received += 1
        if received == count:
            break
    elapsed = time.perf_counter() - started
    await reader
    assert stream.stats.dropped_quotes == 0
    return count / elapsed


def _parse_only(frames: list[str]) -> float:
    started = time.perf_counter()
    for frame in frames:
        parse_frame(frame)
    return len(frames) / (time.perf_counter() - started)


def run(frames: int = 200_000, rounds: int = 3, quick: bool = False) -> dict[str, Any]:
    """Measure; returns the figure (quotes/s through the whole client path) and details."""
    if quick:
        frames, rounds = 20_000, 1
    data = _frames(frames)
    with pinned(CLIENT_CPUS):
        parse_rates = [_parse_only(data) for _ in range(rounds)]
        pipeline_rates = [asyncio.run(_pipeline(data)) for _ in range(rounds)]
    best = max(pipeline_rates)
    return {
        "name": "quotes parsed and dispatched to an async-for consumer (1 core)",
        "value": round(best),
        "unit": "quotes/s",
        "target": f">= {TARGET:,.0f} quotes/s",
        "met": best >= TARGET,
        "note": (
            f"parse_frame alone: {max(parse_rates):,.0f} frames/s; {frames:,} frames, "
            f"best of {rounds}"
        ),
        "parse_only": round(max(parse_rates)),
        "pipeline_rounds": [round(r) for r in pipeline_rates],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.frames, args.rounds, args.quick), indent=2))


if __name__ == "__main__":
    main()
