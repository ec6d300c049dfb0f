"""A moving-average crossover bot: long when the fast average crosses above the slow one, short
when it crosses below.

It runs unchanged against:

* an embedded simulator (default when no CAPITAL_* credentials are set): started here, with its
  clock sped up (``--speed``) so that minute bars form in about a second;
* any server named by CAPITAL_BASE_URL (e.g. ``capitalcom sim``), or the Capital.com demo server
  with CAPITAL_API_KEY / CAPITAL_IDENTIFIER / CAPITAL_PASSWORD: real time, no speed-up.

The run is bounded (``--iterations``); positions the bot opened are closed at the end unless
``--keep-positions``. The live server is refused unless ``--i-understand-live-trading``.

Example: ``python examples/ma_crossover.py --epic GOLD --iterations 20``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from capitalcom_sdk import CapitalError, Client, Resolution

log = logging.getLogger("ma_crossover")

RESOLUTION_SECONDS = {r.value: r.seconds for r in Resolution}


def sma(values: Sequence[float], length: int) -> float:
    """Simple moving average of the last ``length`` values."""
    window = values[-length:]
    return sum(window) / len(window)


def crossover(closes: Sequence[float], fast: int, slow: int) -> str | None:
    """``"BUY"`` when the fast SMA crossed above the slow one on the last bar, ``"SELL"`` when it
    crossed below, else None. Needs ``slow + 1`` closes."""
    if len(closes) < slow + 1:
        return None
    # Averages of equal prices may differ in the last bits; treat that as "equal".
    tolerance = abs(closes[-1]) * 1e-9

    def gap(values: Sequence[float]) -> float:
        difference = sma(values, fast) - sma(values, slow)
        return 0.0 if abs(difference) <= tolerance else difference

    before, after = gap(closes[:-1]), gap(closes)
    if before <= 0 < after:
        return "BUY"
    if before >= 0 > after:
        return "SELL"
    return None


@dataclass
class Settings:
    epic: str = "GOLD"
    resolution: str = "MINUTE"
    fast: int = 5
    slow: int = 20
    size: float | None = None
    iterations: int = 30
    interval: float | None = None
    keep_positions: bool = False


@dataclass
class Report:
    iterations: int = 0
    signals: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    realised: float = 0.0


class Bot:
    """The strategy loop over a :class:`~capitalcom_sdk.Client`; no I/O besides the client."""

    def __init__(
        self, client: Client, settings: Settings, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if not 0 < settings.fast < settings.slow:
            raise ValueError("need 0 < fast < slow")
        self.client = client
        self.settings = settings
        self.sleep = sleep
        self.report = Report()
        self.size = settings.size or self._min_size()

    def _min_size(self) -> float:
        rules = self.client.markets.get(self.settings.epic).dealing_rules
        return rules.min_deal_size.value if rules and rules.min_deal_size else 1.0

    def closes(self) -> list[float]:
        """Mid closes of the latest ``slow + 1`` completed bars (the forming bar dropped)."""
        s = self.settings
        history = self.client.prices.get(s.epic, s.resolution, max=s.slow + 2)
        bars = history.prices[:-1]  # the newest bar is still forming
        return [b.close_price.mid for b in bars if b.close_price.mid is not None]

    def my_positions(self) -> dict[str, str]:
        """deal id -> direction of the open positions on the bot's market."""
        return {
            item.position.deal_id: str(item.position.direction)
            for item in self.client.positions.list().positions
            if item.market is not None and item.market.epic == self.settings.epic
        }

    def step(self) -> str | None:
        """One decision: read bars, act on a crossover; returns the signal acted on."""
        closes = self.closes()
        signal = crossover(closes, self.settings.fast, self.settings.slow)
        if signal is None:
            log.info(
                "no crossover (fast %.5g, slow %.5g)",
                sma(closes, self.settings.fast) if closes else float("nan"),
                sma(closes, self.settings.slow) if closes else float("nan"),
            )
            return None
        self.report.signals.append(signal)
        positions = self.my_positions()
        if signal in positions.values():
            log.info("%s signal, already %s", signal, signal)
            return signal
        for deal_id in positions:
            self.close(deal_id)
        confirm = self.client.positions.open(self.settings.epic, signal, self.size)
        opened = confirm.opened_deal_ids
        self.report.opened.extend(opened)
        log.info(
            "%s %s %s at %s (deal %s)",
            signal,
            self.size,
            self.settings.epic,
            confirm.level,
            ", ".join(opened),
        )
        return signal

    def close(self, deal_id: str) -> None:
        confirm = self.client.positions.close(deal_id)
        self.report.closed.append(deal_id)
        self.report.realised += confirm.profit or 0.0
        log.info("closed %s at %s (P&L %s)", deal_id, confirm.level, confirm.profit)

    def run(self, interval: float) -> Report:
        """``iterations`` steps, ``interval`` seconds apart; then flat unless keep_positions."""
        try:
            for index in range(self.settings.iterations):
                self.report.iterations = index + 1
                log.info("iteration %d/%d", index + 1, self.settings.iterations)
                self.step()
                if index + 1 < self.settings.iterations:
                    self.sleep(interval)
        finally:
            if not self.settings.keep_positions:
                for deal_id in self.my_positions():
                    if deal_id in self.report.opened:
                        self.close(deal_id)
        return self.report


def _credentials_given(environ: dict[str, str]) -> bool:
    return all(
        environ.get(k) for k in ("CAPITAL_API_KEY", "CAPITAL_IDENTIFIER", "CAPITAL_PASSWORD")
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--epic", default="GOLD")
    parser.add_argument("--resolution", default="MINUTE", choices=sorted(RESOLUTION_SECONDS))
    parser.add_argument("--fast", type=int, default=5, help="fast SMA length (bars)")
    parser.add_argument("--slow", type=int, default=20, help="slow SMA length (bars)")
    parser.add_argument("--size", type=float, help="deal size (default: the market's minimum)")
    parser.add_argument("--iterations", type=int, default=30, help="decisions before stopping")
    parser.add_argument("--interval", type=float, help="seconds between decisions")
    parser.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="clock speed of the embedded simulator (ignored for other servers)",
    )
    parser.add_argument("--keep-positions", action="store_true")
    parser.add_argument("--i-understand-live-trading", dest="live_ok", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    settings = Settings(
        epic=args.epic,
        resolution=args.resolution,
        fast=args.fast,
        slow=args.slow,
        size=args.size,
        iterations=args.iterations,
        interval=args.interval,
        keep_positions=args.keep_positions,
    )
    environ = dict(os.environ)
    bar_seconds = RESOLUTION_SECONDS[settings.resolution]
    with ExitStack() as stack:
        if _credentials_given(environ) or environ.get("CAPITAL_BASE_URL"):
            live = environ.get("CAPITAL_ENV") == "live" and not environ.get("CAPITAL_BASE_URL")
            if live and not args.live_ok:
                log.error(
                    "refusing to trade on the LIVE server without --i-understand-live-trading"
                )
                return 2
            if not _credentials_given(environ):
                log.error("set CAPITAL_API_KEY, CAPITAL_IDENTIFIER and CAPITAL_PASSWORD")
                return 2
            client = stack.enter_context(Client.from_env())
            speed = 1.0
            log.info("trading on %s", client.base_url)
        else:
            from capitalcom_sim.config import SimConfig
            from capitalcom_sim.server import SimServer

            server = stack.enter_context(SimServer(SimConfig(clock_speed=args.speed)))
            user = server.config.users[0]
            client = stack.enter_context(
                Client(user.api_key, user.identifier, user.password, base_url=server.base_url)
            )
            speed = args.speed
            log.info("embedded simulator on %s, clock x%g", server.base_url, speed)
        interval = settings.interval if settings.interval is not None else bar_seconds / speed
        try:
            report = Bot(client, settings).run(interval)
        except CapitalError as exc:
            log.error("stopped: %s", exc)
            return 1
    log.info(
        "done: %d iterations, %d signals, %d opened, %d closed, realised P&L %.2f",
        report.iterations,
        len(report.signals),
        len(report.opened),
        len(report.closed),
        report.realised,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
