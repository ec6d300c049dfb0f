"""A moving-average crossover bot: it goes long when the fast average of the closes crosses above
the slow one, and short when it crosses below.

The bot manages only the positions it opened itself. It remembers their deal ids (from each
deal confirmation) in a small state file (--state), or, with --journal DIR, knows them from the
SDK's order journal (docs/trading.md: every order write recorded in SQLite, writes left pending
by a crash settled at start), so a restarted bot still knows them, and it
never touches a position opened by hand or by another program, even on the same market. On an
account without hedging mode an order closes opposite positions first, whoever opened them, so
there the bot skips a signal that would trade against such a position (and says so).

Where it trades:

* With no CAPITAL_* settings (or with --simulator), it starts a simulator inside this process.
  By default that simulator's clock runs 60 times faster than real time (--speed), so a minute
  bar forms in about a second and --iterations 20 takes about 20 seconds. With --fast-forward
  the bot does not wait at all: it moves the simulator's clock one bar ahead after each
  decision, and --iterations 20 finishes in a few seconds.
* With CAPITAL_BASE_URL (e.g. a `capitalcom sim` started elsewhere), or with CAPITAL_API_KEY,
  CAPITAL_IDENTIFIER and CAPITAL_PASSWORD for the Capital.com demo server, it runs in real time:
  one decision per bar, so --iterations 20 on MINUTE bars takes about 19 minutes (on HOUR bars
  about 19 hours). A heartbeat line shows that it is alive while it waits.

* In a backtest (docs/backtest.md), unchanged: `capitalcom backtest` runs this file against a
  simulator replaying recorded bars, pointed at it by CAPITAL_BASE_URL and CAPITAL_CLOCK=simulator.
  The bot's waits (`client.sleep`) then move the simulator's clock one bar at a time, and the
  run ends where the data ends:

      capitalcom backtest examples/ma_crossover.py --epics GOLD --resolution MINUTE \
          --from 2026-01-05 --to 2026-01-06 --data GOLD.csv --warmup 25 --out report \
          -- --epic GOLD --iterations 100000

The run is bounded (--iterations). The positions the bot opened are closed at the end unless
--keep-positions is given. The live server is refused unless --i-understand-live-trading is
given.

Twenty decisions against the embedded simulator, in a few seconds:

    python examples/ma_crossover.py --epic GOLD --iterations 20 --fast-forward
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from capitalcom_sdk import (
    BacktestEnded,
    CapitalError,
    Client,
    DealRejectedError,
    Resolution,
    SimulatorClock,
)
from capitalcom_sdk.trading import OrderJournal, Safety

log = logging.getLogger("ma_crossover")

RESOLUTION_SECONDS = {r.value: r.seconds for r in Resolution}
DEFAULT_STATE = Path("ma_crossover.state.json")
STATE_VERSION = 1


def plural(count: int, word: str) -> str:
    """``1 signal``, ``2 signals``, ``0 signals``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


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


class OwnedDeals:
    """The deal ids of the positions the bot opened, per server, account and market.

    Kept in a small JSON file when ``path`` is given (written to a temporary file, then renamed
    over the old one, so a crash never leaves half a file); in memory otherwise.
    """

    def __init__(self, path: Path | None, scope: str) -> None:
        self.path = path
        self.scope = scope
        self._ids: list[str] = []
        self._others: dict[str, list[str]] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            deals = data["deals"] if data.get("version") == STATE_VERSION else {}
            self._others = {str(k): [str(i) for i in v] for k, v in deals.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SystemExit(
                f"state file {path} unreadable ({exc}); move it away to start afresh"
            ) from None
        self._ids = self._others.pop(self.scope, [])

    def __contains__(self, deal_id: object) -> bool:
        return deal_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def add(self, deal_ids: Iterable[str]) -> None:
        self._ids.extend(d for d in deal_ids if d not in self._ids)
        self._save()

    def discard(self, deal_ids: Iterable[str]) -> None:
        gone = set(deal_ids)
        if gone & set(self._ids):
            self._ids = [d for d in self._ids if d not in gone]
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        deals = dict(self._others)
        if self._ids:
            deals[self.scope] = self._ids
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"version": STATE_VERSION, "deals": deals}, indent=1))
        os.replace(temporary, self.path)


class JournalDeals:
    """The deal ids of the bot's open positions on its market, from the SDK's order journal.

    Owned: opened by an order write the journal recorded (confirmed, or found by
    ``reconcile_pending()`` after a crash) and not closed by one. Positions closed elsewhere
    (a stop) are dropped for this run; a restart sees them gone again and says so once.
    """

    def __init__(self, journal: OrderJournal, account: str, epic: str) -> None:
        self.journal = journal
        self.account = account
        self.epic = epic
        self._gone: set[str] = set()

    @property
    def ids(self) -> list[str]:
        closed = self.journal.closed_deal_ids(self.account) | self._gone
        owned = self.journal.owned_deal_ids(self.account, epic=self.epic)
        return sorted(owned - closed)

    def __contains__(self, deal_id: object) -> bool:
        return deal_id in self.ids

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, deal_ids: Iterable[str]) -> None:
        """Nothing to do: the journal recorded the deal with its confirmation."""

    def discard(self, deal_ids: Iterable[str]) -> None:
        self._gone.update(deal_ids)


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
    heartbeat: float = 15.0


@dataclass
class Report:
    iterations: int = 0
    signals: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    realised: float = 0.0


class Bot:
    """The strategy loop over a :class:`~capitalcom_sdk.Client`; no I/O besides the client and
    the state file. It waits with ``client.sleep`` (or an injected ``sleep``), so the same loop
    runs in real time on a server and in lock-step in a backtest (``capitalcom backtest``)."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        sleep: Callable[[float], None] | None = None,
        owned: OwnedDeals | JournalDeals | None = None,
    ) -> None:
        if not 0 < settings.fast < settings.slow:
            raise ValueError("need 0 < fast < slow")
        self.client = client
        self.settings = settings
        # The client's own clock: real time on a server, the simulator's in a backtest.
        self.sleep = sleep or client.sleep
        self.owned: OwnedDeals | JournalDeals = (
            owned if owned is not None else OwnedDeals(None, f"{client.base_url} {settings.epic}")
        )
        self.report = Report()
        self.size = settings.size or self._min_size()
        self._foreign_reported: set[str] = set()
        self.foreign: dict[str, str] = {}  # deal id -> direction of the others' positions
        # Without hedging mode an order first nets against opposite positions of the market,
        # whoever opened them: the bot must then not trade against someone else's position.
        self.hedging = client.accounts.preferences().hedging_mode
        self.last_bar = "-"  # start of the latest completed bar, for the log

    def _min_size(self) -> float:
        rules = self.client.markets.get(self.settings.epic).dealing_rules
        return rules.min_deal_size.value if rules and rules.min_deal_size else 1.0

    def closes(self) -> list[float]:
        """Mid closes of the latest ``slow + 1`` completed bars (the forming bar dropped)."""
        s = self.settings
        history = self.client.prices.get(s.epic, s.resolution, max_bars=s.slow + 2)
        bars = history.prices[:-1]  # the newest bar is still forming
        if bars:
            self.last_bar = bars[-1].snapshot_time_utc.strftime("%Y-%m-%d %H:%M UTC")
        return [b.close_price.mid for b in bars if b.close_price.mid is not None]

    def my_positions(self) -> dict[str, str]:
        """deal id -> direction of the open positions this bot opened on its market.

        Positions opened by hand (or by anything else) are left out, and reported once; deal
        ids the bot remembers that are no longer open (a stop, a close elsewhere) are dropped.
        """
        on_market = {
            item.position.deal_id: str(item.position.direction)
            for item in self.client.positions.list().positions
            if item.market is not None and item.market.epic == self.settings.epic
        }
        gone = [deal_id for deal_id in self.owned.ids if deal_id not in on_market]
        if gone:
            log.info("no longer open (closed elsewhere): %s", ", ".join(gone))
            self.owned.discard(gone)
        foreign = sorted(set(on_market) - set(self.owned.ids) - self._foreign_reported)
        if foreign:
            self._foreign_reported.update(foreign)
            log.info(
                "%s on %s not opened by this bot, left alone: %s",
                plural(len(foreign), "position"),
                self.settings.epic,
                ", ".join(foreign),
            )
        self.foreign = {d: v for d, v in on_market.items() if d not in self.owned}
        return {d: direction for d, direction in on_market.items() if d in self.owned}

    def step(self) -> str | None:
        """One decision: read bars, act on a crossover; returns the signal acted on."""
        closes = self.closes()
        number = (
            f"decision {self.report.iterations}/{self.settings.iterations} (bar of {self.last_bar})"
        )
        signal = crossover(closes, self.settings.fast, self.settings.slow)
        if signal is None:
            log.info(
                "%s: no crossover (fast SMA %.5g, slow SMA %.5g), nothing to do",
                number,
                sma(closes, self.settings.fast) if closes else math.nan,
                sma(closes, self.settings.slow) if closes else math.nan,
            )
            return None
        self.report.signals.append(signal)
        positions = self.my_positions()
        if signal in positions.values():
            log.info("%s: %s signal, already %s: holding", number, signal, signal)
            return signal
        netted = [d for d, direction in self.foreign.items() if direction != signal]
        if netted and not self.hedging:
            log.warning(
                "%s: %s signal not traded: hedging mode is off, so the order would close %s "
                "not opened by this bot (%s); turn hedging mode on to trade beside them",
                number,
                signal,
                plural(len(netted), "position"),
                ", ".join(netted),
            )
            return signal
        log.info("%s: %s signal", number, signal)
        try:
            for deal_id in positions:
                self.close(deal_id)
            confirm = self.client.positions.open(self.settings.epic, signal, self.size)
        except DealRejectedError as exc:
            if exc.reason != "MARKET_CLOSED":
                raise
            log.info("%s: %s signal not traded: the market is closed", number, signal)
            return signal
        opened = confirm.opened_deal_ids
        self.owned.add(opened)
        self.report.opened.extend(opened)
        log.info(
            "opened %s %s %s at %s (deal %s)",
            signal,
            self.size,
            self.settings.epic,
            confirm.level,
            ", ".join(opened),
        )
        return signal

    def close(self, deal_id: str) -> None:
        """Close one of the bot's own positions."""
        if deal_id not in self.owned:  # the one rule of this bot: never close someone else's
            raise RuntimeError(f"refusing to close {deal_id}: not opened by this bot")
        confirm = self.client.positions.close(deal_id)
        self.owned.discard([deal_id])
        self.report.closed.append(deal_id)
        self.report.realised += confirm.profit or 0.0
        log.info("closed %s at %s (P&L %s)", deal_id, confirm.level, confirm.profit)

    def wait(self, seconds: float) -> None:
        """Wait for the next decision, with a heartbeat line every ``heartbeat`` seconds (none on
        a simulator's clock: there the wait passes at once)."""
        heartbeat = self.settings.heartbeat
        if isinstance(self.client.clock, SimulatorClock):
            heartbeat = math.inf
        remaining = seconds
        while remaining > 1e-9:
            chunk = min(heartbeat, remaining)
            self.sleep(chunk)
            remaining -= chunk
            if remaining > 1e-9:
                log.info("alive: next decision in %.0f s", remaining)

    def run(self, interval: float) -> Report:
        """``iterations`` decisions, ``interval`` seconds apart; then flat unless keep_positions."""
        if len(self.owned):
            log.info("resuming with %s: %s", plural(len(self.owned), "position"), self.owned.ids)
        try:
            for index in range(self.settings.iterations):
                self.report.iterations = index + 1
                self.step()
                if index + 1 < self.settings.iterations:
                    try:
                        self.wait(interval)
                    except BacktestEnded:  # in a backtest: the data ends here
                        log.info("the backtest's end is reached after %d decisions", index + 1)
                        break
        finally:
            if not self.settings.keep_positions:
                for deal_id in self.my_positions():
                    self.close(deal_id)
        return self.report


def _credentials_given(environ: dict[str, str]) -> bool:
    return all(
        environ.get(k) for k in ("CAPITAL_API_KEY", "CAPITAL_IDENTIFIER", "CAPITAL_PASSWORD")
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line: every option explained in a sentence."""
    parser = argparse.ArgumentParser(
        prog="ma_crossover.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--epic", default="GOLD", help="The market to trade (default: GOLD).")
    parser.add_argument(
        "--resolution",
        default="MINUTE",
        choices=sorted(RESOLUTION_SECONDS),
        help="The bar length; one decision is taken per bar (default: MINUTE).",
    )
    parser.add_argument(
        "--fast", type=int, default=5, help="The length of the fast average, in bars (default: 5)."
    )
    parser.add_argument(
        "--slow",
        type=int,
        default=20,
        help="The length of the slow average, in bars (default: 20).",
    )
    parser.add_argument(
        "--size", type=float, help="The deal size (default: the market's minimum deal size)."
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=30,
        help="The number of decisions before the bot stops (default: 30).",
    )
    parser.add_argument(
        "--interval",
        type=float,
        help="Seconds between decisions (default: one bar, at the server's clock speed).",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=15.0,
        help="Seconds between the 'alive' lines logged while waiting (default: 15).",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        help="Keep the SDK's order journal in this directory and know the bot's positions from "
        "it instead of the state file (writes left pending by a crash are settled at start).",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="The file that remembers the positions the bot opened (default: "
        f"{DEFAULT_STATE} for a server; none for the embedded simulator, whose positions end "
        "with it).",
    )
    parser.add_argument(
        "--simulator",
        action="store_true",
        help="Trade on a simulator started in this process, even if CAPITAL_* settings are set.",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="The clock speed of the embedded simulator (default: 60); ignored for other servers.",
    )
    parser.add_argument(
        "--fast-forward",
        action="store_true",
        help="With the embedded simulator: move its clock one bar ahead after each decision "
        "instead of waiting (--iterations 20 takes a few seconds).",
    )
    parser.add_argument(
        "--keep-positions",
        action="store_true",
        help="Leave the bot's positions open at the end (they are closed by default).",
    )
    parser.add_argument(
        "--i-understand-live-trading",
        dest="live_ok",
        action="store_true",
        help="Allow trading on the LIVE server, with real money.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="Also log every HTTP request (httpx's 'HTTP Request:' lines).",
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def configure_logging(verbose: bool) -> None:
    """INFO lines of the bot and the SDK on stderr; httpx's per-request lines only with -v."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    settings = Settings(
        epic=args.epic,
        resolution=args.resolution,
        fast=args.fast,
        slow=args.slow,
        size=args.size,
        iterations=args.iterations,
        interval=args.interval,
        keep_positions=args.keep_positions,
        heartbeat=args.heartbeat,
    )
    environ = dict(os.environ)
    bar_seconds = RESOLUTION_SECONDS[settings.resolution]
    embedded = args.simulator or not (
        _credentials_given(environ) or environ.get("CAPITAL_BASE_URL")
    )
    journal = OrderJournal(args.journal) if args.journal else None
    safety = Safety(journal=journal) if journal is not None else None
    with ExitStack() as stack:
        if not embedded:
            if args.fast_forward:
                log.error("--fast-forward needs the embedded simulator (--simulator)")
                return 2
            live = environ.get("CAPITAL_ENV") == "live" and not environ.get("CAPITAL_BASE_URL")
            if live and not args.live_ok:
                log.error(
                    "refusing to trade on the LIVE server without --i-understand-live-trading"
                )
                return 2
            if not _credentials_given(environ):
                log.error("set CAPITAL_API_KEY, CAPITAL_IDENTIFIER and CAPITAL_PASSWORD")
                return 2
            client = stack.enter_context(Client.from_env(safety=safety))
            speed = 1.0
            log.info(
                "trading on %s %s: one decision per %s bar",
                client.base_url,
                "on the simulator's clock (a backtest)"
                if isinstance(client.clock, SimulatorClock)
                else "in real time",
                settings.resolution,
            )
        else:
            from capitalcom_sim.config import SimConfig
            from capitalcom_sim.server import SimServer

            speed = 0.0 if args.fast_forward else args.speed
            server = stack.enter_context(SimServer(SimConfig(clock_speed=speed)))
            user = server.config.users[0]
            client = stack.enter_context(
                Client(
                    user.api_key,
                    user.identifier,
                    user.password,
                    base_url=server.base_url,
                    safety=safety,
                    # fast-forward: the simulator's clock, moved by the bot's own waits
                    clock="simulator" if args.fast_forward else "wall",
                )
            )
            if args.fast_forward:
                log.info(
                    "embedded simulator on %s, clock moved one bar per decision", server.base_url
                )
            else:
                log.info("embedded simulator on %s, clock x%g", server.base_url, speed)
        interval = settings.interval
        if interval is None:
            interval = bar_seconds if args.fast_forward or not embedded else bar_seconds / speed
        # No state file by default where positions end with the simulator (embedded, backtest).
        on_simulator = embedded or isinstance(client.clock, SimulatorClock)
        state_file = args.state or (None if on_simulator else DEFAULT_STATE)
        try:
            # per server, account and market: deal ids of another account are not "gone"
            account = client.session.details().account_id
        except CapitalError as exc:
            log.error("stopped: %s", exc)
            return 1
        owned: OwnedDeals | JournalDeals
        if journal is not None:
            try:
                settled = client.reconcile_pending()
            except CapitalError as exc:
                log.error("stopped: pending writes of the journal not settled: %s", exc)
                return 1
            for item in settled:
                log.info(
                    "journal: %s %s settled as %s", item.entry.endpoint, item.entry.id, item.verdict
                )
            owned = JournalDeals(journal, account, settings.epic)
        else:
            owned = OwnedDeals(state_file, f"{client.base_url} {account} {settings.epic}")
        try:
            report = Bot(client, settings, owned=owned).run(interval)
        except CapitalError as exc:
            log.error("stopped: %s", exc)
            return 1
    log.info(
        "done: %s, %s, %s opened, %s closed, realised P&L %.2f",
        plural(report.iterations, "iteration"),
        plural(len(report.signals), "signal"),
        plural(len(report.opened), "position"),
        plural(len(report.closed), "position"),
        report.realised,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
