"""``Paper(source, epics).run(bot)``: the bot against a simulator whose market is real quotes.

Paper trading: a simulator child process runs on the wall clock (clock speed 1, quotes on a
100 ms grid) and a :class:`~capitalcom_sdk.backtest._bridge.PriceBridge` pins the source's
streamed quotes (bid and offer) on it. The bot script runs as in a backtest, pointed at the
simulator (``CAPITAL_*`` of the simulator's made-up user, ``CAPITAL_CLOCK=wall``): real prices,
simulated fills, no order on any account. The source client is only read by the bridge.

The run ends when the bot exits, when ``duration`` seconds have passed, on :meth:`Paper.stop`,
or on SIGINT / SIGTERM (handled while :meth:`Paper.run` runs in the main thread): the bot is
interrupted (SIGINT, then killed after a grace), what is still open is closed as ``END``
trades, and the result (the same :class:`~capitalcom_sdk.backtest.BacktestResult` as a
backtest's, ``resolution="QUOTES"``, ``bars`` = quotes bridged) says why it ended.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from capitalcom_sdk._simprocess import SimOptions, SimulatorProcess
from capitalcom_sdk.backtest._launch import (
    POLL_SECONDS,
    BotProcess,
    Control,
    LogBuffer,
    Outcome,
    error_code,
    result_of,
    simulator,
)
from capitalcom_sdk.errors import ConfigurationError, NotFoundError

if TYPE_CHECKING:
    from capitalcom_sdk import Client
    from capitalcom_sdk.backtest._bridge import PriceBridge
    from capitalcom_sdk.backtest._results import BacktestResult

log = logging.getLogger(__name__)

RESOLUTION = "QUOTES"
"""The result's ``resolution`` of a paper run (its ``bars`` count the quotes bridged)."""
TICK_MS = 100
"""The simulator's quote grid: keeps the bot's quotes within ~0.1 s of the source's."""
EQUITY_EVERY_SECONDS = 1.0
"""One equity point per this many wall seconds."""

_SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class Paper:
    """Paper trading of one bot script: real quotes from ``source``, the simulator's fills.

    Args:
        source: the client whose quotes drive the market (demo, live or any server); used only
            to read quotes and market details, never to trade.
        epics: the markets to bridge; the simulator must know each of them.
        balance: the simulated account's starting balance.
        currency: the simulated account's currency.
        seed: the simulator's seed (deal ids; the prices are the source's).
        out: a folder to write the report into after the run (None: none written).
        duration: stop after this many wall seconds (None: until the bot exits or a stop).
        rate_limits: enforce the API's documented rate limits on the bot.
        grace: seconds the bot has to exit after its SIGINT before it is killed.
    """

    def __init__(
        self,
        source: Client,
        epics: str | Sequence[str],
        *,
        balance: float = 10_000.0,
        currency: str = "USD",
        seed: int = 42,
        out: str | os.PathLike[str] | None = None,
        duration: float | None = None,
        rate_limits: bool = True,
        grace: float = 5.0,
    ) -> None:
        self.epics = (epics,) if isinstance(epics, str) else tuple(dict.fromkeys(epics))
        if not self.epics or not all(isinstance(e, str) and e for e in self.epics):
            raise ConfigurationError("epics: at least one epic is needed")
        if not isinstance(balance, int | float) or not math.isfinite(balance) or balance < 0:
            raise ConfigurationError(f"balance must be a number >= 0, got {balance!r}")
        if duration is not None and (not math.isfinite(duration) or duration <= 0):
            raise ConfigurationError(f"duration must be > 0 seconds, got {duration!r}")
        if not math.isfinite(grace) or grace < 0:
            raise ConfigurationError(f"grace must be >= 0 seconds, got {grace!r}")
        self.source = source
        self.balance = float(balance)
        self.currency = currency.upper()
        self.seed = int(seed)
        self.out = out
        self.duration = duration
        self.rate_limits = rate_limits
        self.grace = float(grace)
        self._stop = threading.Event()
        self.stopped_by: int | None = None
        """The signal that stopped the last run (``signal.SIGINT`` / ``SIGTERM``), or None."""

    def __repr__(self) -> str:
        return f"Paper(epics={list(self.epics)!r}, duration={self.duration!r})"

    def stop(self) -> None:
        """End the run now (from another thread): as Ctrl-C does, the report is still made."""
        self._stop.set()

    def run(self, bot: str | os.PathLike[str], args: Sequence[str] = ()) -> BacktestResult:
        """Run the bot script ``bot`` (as ``__main__`` with ``args``) until it exits, the
        duration passes or the run is stopped; return what it did.

        Raises:
            ConfigurationError: the script is missing, or the source or the simulator does not
                know an epic.
        """
        if not isinstance(bot, str | os.PathLike):
            raise ConfigurationError("bot: paper trading runs a bot script (its path)")
        script = Path(bot)
        if not script.is_file():
            raise ConfigurationError(f"bot: {script} is not a file")
        self._stop.clear()
        self.stopped_by = None
        began = time.monotonic()
        options = SimOptions(
            seed=self.seed,
            clock_speed=1.0,
            balance=self.balance,
            currency=self.currency,
            rate_limits=self.rate_limits,
            equity_sample_ms=int(EQUITY_EVERY_SECONDS * 1000),
            extra_args=("--tick-ms", str(TICK_MS)),
        )
        output = LogBuffer()
        with self._signals_stop(), simulator(options) as (sim, control):
            self._check_epics(control)
            with self._bridge(sim) as bridge:
                start_ms = int(control.call("POST", "/_sim/clock", json={"advance": 0})["now"])
                outcome = self._run_bot(sim, control, bridge, script, args, output)
                pushed = bridge.stats.pushed
            ledger, finished_ms = control.close_all()
        return result_of(
            self,
            ledger,
            outcome,
            resolution=RESOLUTION,
            output=output,
            bars=pushed,
            start_ms=start_ms,
            finished_ms=finished_ms,
            began=began,
        )

    # -- setting up ----------------------------------------------------------------------------
    def _check_epics(self, control: Control) -> None:
        """Every epic must be one of the simulator's markets."""
        for epic in self.epics:
            # An empty body: the epic is looked up first (404 when unknown), then the body is
            # refused (400): nothing is changed.
            response = control.http.post(f"/_sim/prices/{epic}", json={})
            if response.status_code == 404:
                raise ConfigurationError(
                    f"the simulator has no market {epic!r}: paper trading bridges the quotes of "
                    "the simulator's own markets only (see `capitalcom sim` and docs/simulator.md)"
                )
            if response.status_code not in (200, 400):
                raise ConfigurationError(
                    f"the simulator answered {response.status_code} {error_code(response)} "
                    f"for {epic}"
                )

    @contextlib.contextmanager
    def _bridge(self, sim: SimulatorProcess) -> Iterator[PriceBridge]:
        from capitalcom_sdk.backtest._bridge import BridgeError, PriceBridge

        bridge = PriceBridge(self.source, sim.base_url, self.epics)
        try:
            bridge.start()
        except NotFoundError as exc:
            raise ConfigurationError(
                f"the price source has no market among {', '.join(self.epics)}: {exc}"
            ) from None
        except BridgeError as exc:
            raise ConfigurationError(str(exc)) from None
        try:
            yield bridge
        finally:
            bridge.stop()

    @contextlib.contextmanager
    def _signals_stop(self) -> Iterator[None]:
        """SIGINT and SIGTERM end the run (in the main thread only, where signals arrive)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopped_by = signum
            self._stop.set()

        previous = {s: signal.signal(s, stop) for s in _SIGNAL_NAMES}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    # -- the run -------------------------------------------------------------------------------
    def _run_bot(
        self,
        sim: SimulatorProcess,
        control: Control,
        bridge: PriceBridge,
        script: Path,
        args: Sequence[str],
        output: LogBuffer,
    ) -> Outcome:
        bot = BotProcess(sim, script, args, output, clock="wall")
        try:
            stopped = self._watch(control, bridge, bot)
            if stopped is not None:
                bot.interrupt(self.grace)
        finally:
            bot.finish()
        if stopped is not None:
            return stopped
        ended = bot.outcome(control)
        if ended.exit == "ok":
            return Outcome("ok", "the bot exited by itself")
        return ended

    def _stopper(self) -> str:
        if self.stopped_by is None:
            return "Paper.stop()"
        return _SIGNAL_NAMES.get(signal.Signals(self.stopped_by), f"signal {self.stopped_by}")

    def _watch(self, control: Control, bridge: PriceBridge, bot: BotProcess) -> Outcome | None:
        """Wait for the bot; an outcome when the run must stop it."""
        began = sampled = time.monotonic()
        while not bot.ended(POLL_SECONDS):
            moment = time.monotonic()
            if self._stop.is_set():
                return Outcome("ok", f"stopped by {self._stopper()}")
            if self.duration is not None and moment - began >= self.duration:
                return Outcome("ok", f"stopped after the duration ({self.duration:g} s)")
            if bridge.failure is not None:
                return Outcome(
                    "error", f"the price source's stream failed: {type(bridge.failure).__name__}"
                )
            if moment - sampled >= EQUITY_EVERY_SECONDS:
                sampled = moment
                try:  # an equity point: the simulator samples on clock moves
                    control.call("POST", "/_sim/clock", json={"advance": 0})
                except Exception as exc:  # httpx errors: the simulator is gone
                    return Outcome(
                        "error", f"the simulator stopped answering: {type(exc).__name__}"
                    )
        return None
