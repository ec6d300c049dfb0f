"""``Backtest(...).run(bot)``: the bot against a simulator replaying history, in lock-step.

The runner loads the bars into a simulator child process whose clock is frozen at ``start``
and stops at ``end`` (a wait past it is cut there; the next one is refused), points the bot at
it (``CAPITAL_*`` variables, ``CAPITAL_CLOCK=simulator``), watches it, closes what is still
open as ``END`` trades and reads the trades and the equity curve back (``GET /_sim/ledger``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capitalcom_sdk._simprocess import SimOptions, SimulatorProcess
from capitalcom_sdk.backtest._botmain import END_NOTE, at_end
from capitalcom_sdk.backtest._data import (
    Bar,
    DataSource,
    bars_csv,
    load_history,
    recorded_spread,
)
from capitalcom_sdk.backtest._launch import (
    BotProcess,
    Control,
    LogBuffer,
    Outcome,
    at_ms,
    error_code,
    ms_of,
    result_of,
    simulator,
    verdict,
)
from capitalcom_sdk.errors import CapitalError, ConfigurationError, SimulatorClockError
from capitalcom_sdk.models.enums import Resolution

if TYPE_CHECKING:
    from capitalcom_sdk.backtest._results import BacktestResult

log = logging.getLogger(__name__)

END_GRACE_SECONDS = 2.0
"""At the end of the data, a bot still running that makes no request for this long is stopped."""

RECORDED_SPREADS = ("recorded", "recorded-median")
"""The ``spread=`` texts: each bar's recorded spread, or their median for the whole run."""

WATCH_SECONDS = 0.5
"""How often the watchdog reads the simulator's progress (two control requests, each holding
the simulator's one event loop from the bot's requests). The bot's exit is seen at once
whatever this is: the watch waits on the bot itself in between."""

BotCallable = Callable[[Any], Any]


def _utc(value: datetime | str, name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigurationError(f"{name}: not an ISO 8601 date or time: {value!r}") from None
    if not isinstance(value, datetime):
        raise ConfigurationError(f"{name} must be a datetime or an ISO 8601 text")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _ThreadLogHandler(logging.Handler):
    """Log records of one thread (an in-process bot) into a :class:`LogBuffer`."""

    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__(logging.INFO)
        self.buffer = buffer
        self.thread_id: int | None = None
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            self.buffer.write(self.format(record) + "\n")


class Backtest:
    """A backtest of one bot on recorded bars, with the simulator's real trading rules.

    Args:
        epics: the markets to replay (one epic or several).
        resolution: the bars' resolution (``"MINUTE"``, ``Resolution.HOUR``, ...).
        start: the first simulated instant (aware datetime, naive = UTC, or ISO text).
        end: the run stops there (or at the end of the data, if earlier).
        data: where the bars come from: a catalog folder, a CSV / Parquet file (one epic), a
            folder of ``EPIC.csv`` / ``EPIC.parquet`` files, a mapping epic -> file, or a
            :class:`~capitalcom_sdk.Client` to fetch them with (cached in ``cache``).
        balance: the account's balance at ``start``.
        currency: the account's currency.
        seed: the simulator's seed (spreads are the instruments' own; ids come from it).
        out: a folder to write the report into after the run (None: none written).
        timeout: the watchdog, in wall seconds: a bot that makes no request and no wait for
            this long, or whose simulated time does not move for this long, is stopped
            (exit ``hung``).
        warmup: bars before ``start`` loaded too (history the bot may read at ``start``).
        cache: the catalog folder that ``data=Client`` fills.
        rate_limits: enforce the API's documented rate limits (in simulated time).
        spread: the offer - bid quoted around the bars' mid: None (the simulator's spread of
            each instrument), a number (every epic), a mapping epic -> number, ``"recorded"``
            (each bar's own close_ask - close_bid, quoted while that bar is in force; the
            median of the data where a bar has none) or ``"recorded-median"`` (the median
            close_ask - close_bid of each epic's data, one spread for the whole run).
    """

    def __init__(
        self,
        epics: str | Sequence[str],
        resolution: Resolution | str,
        start: datetime | str,
        end: datetime | str,
        *,
        data: DataSource,
        balance: float = 10_000.0,
        currency: str = "USD",
        seed: int = 42,
        out: str | os.PathLike[str] | None = None,
        timeout: float = 30.0,
        warmup: int = 0,
        cache: str | os.PathLike[str] | None = None,
        rate_limits: bool = True,
        spread: float | Mapping[str, float] | str | None = None,
    ) -> None:
        self.epics = (epics,) if isinstance(epics, str) else tuple(dict.fromkeys(epics))
        if not self.epics or not all(isinstance(e, str) and e for e in self.epics):
            raise ConfigurationError("epics: at least one epic is needed")
        try:
            self.resolution = Resolution(str(getattr(resolution, "value", resolution)).upper())
        except ValueError:
            names = ", ".join(r.value for r in Resolution)
            raise ConfigurationError(
                f"resolution must be one of {names}, got {resolution!r}"
            ) from None
        self.start = _utc(start, "start")
        self.end = _utc(end, "end")
        if self.end <= self.start:
            raise ConfigurationError("end must be after start")
        if not isinstance(balance, int | float) or balance < 0:
            raise ConfigurationError(f"balance must be a number >= 0, got {balance!r}")
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {timeout!r}")
        if not isinstance(warmup, int) or warmup < 0:
            raise ConfigurationError(f"warmup must be a number of bars >= 0, got {warmup!r}")
        self.data = data
        self.balance = float(balance)
        self.currency = currency.upper()
        self.seed = int(seed)
        self.out = out
        self.timeout = float(timeout)
        self.warmup = warmup
        self.cache = cache
        self.rate_limits = rate_limits
        if isinstance(spread, str) and spread not in RECORDED_SPREADS:
            raise ConfigurationError(
                "spread must be a number, a mapping, 'recorded' or 'recorded-median', "
                f"got {spread!r}"
            )
        self.spread = spread

    def __repr__(self) -> str:
        return (
            f"Backtest(epics={list(self.epics)!r}, resolution={self.resolution.value!r}, "
            f"start={self.start.isoformat()!r}, end={self.end.isoformat()!r})"
        )

    # -- the run -------------------------------------------------------------------------------
    def run(
        self, bot: str | os.PathLike[str] | BotCallable, args: Sequence[str] = ()
    ) -> BacktestResult:
        """Run ``bot`` (a script's path, run as ``__main__`` with ``args``; or a callable
        ``bot(client)``, sync with a :class:`~capitalcom_sdk.Client` or ``async`` with an
        :class:`~capitalcom_sdk.AsyncClient`) and return what it did.

        Raises:
            ConfigurationError: the inputs are wrong (no bars, unknown epic, missing script).
        """
        began = time.monotonic()
        script: Path | None = None
        if isinstance(bot, str | os.PathLike):
            script = Path(bot)
            if not script.is_file():
                raise ConfigurationError(f"bot: {script} is not a file")
        elif not callable(bot):
            raise ConfigurationError("bot must be a script's path or a callable bot(client)")
        bar_ms = self.resolution.seconds * 1000
        history = load_history(
            self.data,
            self.epics,
            self.resolution.value,
            self.start - timedelta(milliseconds=bar_ms * self.warmup),
            self.end,
            cache=self.cache,
        )
        start_ms = max(ms_of(self.start), *(self._first(bars) for bars in history.values()))
        end_ms = min(ms_of(self.end), *(bars[-1].time_ms + bar_ms for bars in history.values()))
        if end_ms <= start_ms:
            raise ConfigurationError("data: the epics' bars do not overlap in time")
        replayed = sum(
            1 for bars in history.values() for b in bars if start_ms <= b.time_ms < end_ms
        )
        lifetime = str((end_ms - start_ms) // 60_000 + 24 * 60)  # minutes: the span and a day
        options = SimOptions(
            seed=self.seed,
            start_ms=start_ms,
            end_ms=end_ms,
            clock_speed=0.0,
            balance=self.balance,
            currency=self.currency,
            rate_limits=self.rate_limits,
            deterministic_ids=True,
            equity_sample_ms=bar_ms,
            # Sessions outlive the run: a bot waiting an HOUR bar would otherwise log in again
            # at every bar (the 10-minute idle lifetime), ~45 ms each, on every bar of the run.
            extra_args=("--session-max-minutes", lifetime, "--session-idle-minutes", lifetime),
        )
        output = LogBuffer()
        with simulator(options) as (sim, control):
            for epic, bars in history.items():
                self._set_spread(control, epic, bars)
                self._load(control, epic, [b for b in bars if b.time_ms < end_ms], bar_ms)
            control.call("POST", "/_sim/clock", json={"advance": 0})  # the first equity point
            if script is not None:
                outcome = self._run_script(sim, control, script, args, output, end_ms)
            else:
                outcome = self._run_callable(sim, control, bot, output, end_ms)  # type: ignore[arg-type]
            ledger, finished_ms = control.close_all()
        return result_of(
            self,
            ledger,
            outcome,
            resolution=self.resolution.value,
            output=output,
            bars=replayed,
            start_ms=start_ms,
            finished_ms=finished_ms,
            began=began,
        )

    def _first(self, bars: list[Bar]) -> int:
        start = ms_of(self.start)
        return next((b.time_ms for b in bars if b.time_ms >= start), bars[-1].time_ms)

    def _spread_of(self, epic: str, bars: list[Bar]) -> float | None:
        if self.spread is None:
            return None
        if self.spread in RECORDED_SPREADS:
            value = recorded_spread(bars)
            if value is None:
                raise ConfigurationError(
                    f"spread={self.spread!r}: the data of {epic} has no close_bid and close_ask"
                )
            return value
        if isinstance(self.spread, Mapping):
            return self.spread.get(epic)
        return float(self.spread)

    def _set_spread(self, control: Control, epic: str, bars: list[Bar]) -> None:
        """Give the instrument the spread asked for (``POST /_sim/prices`` with bid and offer,
        which the bars then replace as the price)."""
        spread = self._spread_of(epic, bars)
        if spread is None:
            return
        if not math.isfinite(spread) or spread < 0:
            raise ConfigurationError(f"spread of {epic} must be a number >= 0, got {spread!r}")
        mid = bars[0].open
        body = {"bid": mid - spread / 2, "offer": mid + spread / 2}
        response = control.http.post(f"/_sim/prices/{epic}", json=body)
        if response.status_code == 404:
            raise ConfigurationError(f"the simulator has no market {epic!r}")
        if response.status_code != 200:
            raise ConfigurationError(
                f"the simulator refused the spread of {epic}: {error_code(response)}"
            )

    def _load(self, control: Control, epic: str, bars: list[Bar], bar_ms: int) -> None:
        """Replay ``bars`` (``POST /_sim/bars``), each with its recorded spread when
        ``spread="recorded"``."""
        text = bars_csv(bars, bar_ms, spreads=self.spread == "recorded")
        response = control.http.post(f"/_sim/bars/{epic}", content=text)
        if response.status_code == 404:
            raise ConfigurationError(f"the simulator has no market {epic!r}")
        if response.status_code != 200:
            raise ConfigurationError(
                f"the simulator refused the bars of {epic}: {error_code(response)}"
            )

    # -- watching ----------------------------------------------------------------------------
    def _watch(
        self, control: Control, ended: Callable[[float], bool], end_ms: int
    ) -> Outcome | None:
        """Wait for the bot; an outcome when the runner must stop it (hung, or done at the end)."""
        last_now, last_requests = -1, -1
        changed = clock_moved = time.monotonic()
        while not ended(WATCH_SECONDS):
            try:
                now, requests = control.progress()
            except (CapitalError, OSError) as exc:
                return Outcome("error", f"the simulator stopped answering: {exc}")
            except Exception as exc:  # httpx errors: the simulator is gone
                return Outcome("error", f"the simulator stopped answering: {type(exc).__name__}")
            moment = time.monotonic()
            if now != last_now:
                last_now, changed, clock_moved = now, moment, moment
            if requests != last_requests:
                last_requests, changed = requests, moment
            if now >= end_ms and moment - changed > END_GRACE_SECONDS:
                return Outcome("ok", None)
            at = at_ms(now).strftime("%Y-%m-%d %H:%M:%S UTC")
            if moment - changed > self.timeout:
                return Outcome(
                    "hung",
                    f"the bot made no request and no wait for {self.timeout:g} s (wall clock) at "
                    f"{at}: stopped by the watchdog",
                )
            if moment - clock_moved > self.timeout:
                return Outcome(
                    "hung",
                    f"simulated time has not moved for {self.timeout:g} s (wall clock) at {at} "
                    "while the bot kept making requests (a loop without client.sleep()?): "
                    "stopped by the watchdog",
                )
        return None

    # -- a script in a child process -------------------------------------------------------------
    def _run_script(
        self,
        sim: SimulatorProcess,
        control: Control,
        script: Path,
        args: Sequence[str],
        output: LogBuffer,
        end_ms: int,
    ) -> Outcome:
        bot = BotProcess(sim, script, args, output, clock="simulator")
        try:
            stopped = self._watch(control, bot.ended, end_ms)
        finally:
            bot.finish()
        return stopped if stopped is not None else bot.outcome(control)

    # -- a callable in this process --------------------------------------------------------------
    def _run_callable(
        self,
        sim: SimulatorProcess,
        control: Control,
        bot: BotCallable,
        output: LogBuffer,
        end_ms: int,
    ) -> Outcome:
        failure: list[BaseException] = []
        handler = _ThreadLogHandler(output)

        def target() -> None:
            handler.thread_id = threading.get_ident()
            try:
                _call_bot(bot, sim)
            except SimulatorClockError as exc:
                if at_end(sim.base_url):
                    output.write(END_NOTE)
                else:
                    failure.append(exc)
                    output.write(traceback.format_exc())
            except BaseException as exc:
                failure.append(exc)
                output.write(traceback.format_exc())

        thread = threading.Thread(target=target, name="backtest-bot", daemon=True)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            thread.start()

            def ended(seconds: float) -> bool:
                thread.join(timeout=seconds)
                return not thread.is_alive()

            stopped = self._watch(control, ended, end_ms)
        finally:
            root.removeHandler(handler)
        if stopped is not None:
            return stopped
        error = failure[0] if failure else None
        if error is None or (isinstance(error, SystemExit) and error.code in (None, 0)):
            return Outcome("ok", None)
        return verdict(control, f"{type(error).__name__}: {error}", error)


def _call_bot(bot: BotCallable, sim: SimulatorProcess) -> None:
    from capitalcom_sdk import AsyncClient, Client

    credentials = (sim.api_key, sim.identifier, sim.password)
    if inspect.iscoroutinefunction(bot):

        async def main() -> None:
            async with AsyncClient(
                *credentials, base_url=sim.base_url, clock="simulator"
            ) as client:
                await bot(client)

        asyncio.run(main())
        return
    with Client(*credentials, base_url=sim.base_url, clock="simulator") as client:
        bot(client)
