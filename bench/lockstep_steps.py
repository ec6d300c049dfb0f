"""Lock-step steps per second: how fast a bot on ``clock="simulator"`` walks a frozen simulator.

``python -m bench.lockstep_steps [--steps 2000]``: the simulator in its own process (as the
backtest runner starts it), the client in this one, everything over loopback HTTP + WebSocket.

* ``stream.get()``: OHLC MINUTE of one epic, each ``get`` moves the clock to the next bar close
  (``POST /_sim/clock {"next": true}``) and waits for its frames (two per bar: bid and ask).
* ``sleep + prices``: ``client.sleep(60)`` then ``client.prices.get(epic, "MINUTE", max_bars=3)``
  per step, with and without a stream open (the barrier after each move costs a ping).
* the floor: bare ``POST /_sim/clock {"advance": 60}`` calls.

Not part of ``make bench`` (a figure for the backtest design, docs/streaming.md "Lock-step").
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench._common import SimProcess
from capitalcom_sdk import Client
from capitalcom_sim.config import DEFAULT_API_KEY, DEFAULT_IDENTIFIER, DEFAULT_PASSWORD

START_MS = 1_767_571_200_000  # Mon 2026-01-05 00:00 UTC


def _rate(steps: int, step: Callable[[], object]) -> dict[str, float]:
    started = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - started
    return {
        "steps_per_s": round(steps / elapsed, 1),
        "ms_per_step": round(elapsed / steps * 1e3, 3),
    }


def run(steps: int = 2000) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    args = ["--clock-speed", "0", "--start-ms", str(START_MS), "--session-max-minutes", "100000"]
    with SimProcess(args=args) as sim:
        kwargs: dict[str, Any] = {
            "api_key": DEFAULT_API_KEY,
            "identifier": DEFAULT_IDENTIFIER,
            "password": DEFAULT_PASSWORD,
            "base_url": sim.base_url,
        }
        with httpx.Client(timeout=10) as http:
            url = sim.base_url + "/_sim/clock"
            results["floor: POST /_sim/clock advance 60"] = _rate(
                steps, lambda: http.post(url, json={"advance": 60})
            )
        with Client(**kwargs, clock="simulator") as client:
            client.accounts.list()  # logged in before timing

            def sleep_and_prices() -> None:
                client.sleep(60)
                client.prices.get("GOLD", "MINUTE", max_bars=3)

            results["sleep(60) + prices.get, no stream"] = _rate(steps, sleep_and_prices)
            with client.stream() as stream:
                stream.subscribe_ohlc("GOLD", "MINUTE")
                bars = _rate(steps, lambda: (stream.get(), stream.get()))  # bid + ask per bar
                results["stream.get() per MINUTE bar (2 events)"] = bars
                results["sleep(60) + prices.get, stream open"] = _rate(steps, sleep_and_prices)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    print(json.dumps(run(parser.parse_args().steps), indent=2))


if __name__ == "__main__":
    main()
