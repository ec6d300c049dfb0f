"""What the backtest runner and paper trading share: a simulator's control plane, the bot
script as a child process pointed at the simulator, its output, how it ended, and the ledger
(``GET /_sim/ledger``) read back as a :class:`~capitalcom_sdk.backtest.BacktestResult`.

The bot's environment holds the simulator's ``CAPITAL_*`` variables only (never the user's
own credentials) and ``CAPITAL_CLOCK`` (``simulator`` in a backtest, ``wall`` when paper
trading).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from capitalcom_sdk._simprocess import SimOptions, SimulatorProcess
from capitalcom_sdk.errors import ConfigurationError, RateLimitError, SimulatorClockError

if TYPE_CHECKING:
    import httpx

    from capitalcom_sdk.backtest._results import BacktestResult

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
MAX_LOG_CHARS = 2_000_000


def ms_of(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class LogBuffer:
    """The bot's output, kept to :data:`MAX_LOG_CHARS` (the start and the end survive)."""

    def __init__(self) -> None:
        self._head: list[str] = []
        self._size = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_size = 0
        self._dropped = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            if self._size < MAX_LOG_CHARS // 2:
                self._head.append(text)
                self._size += len(text)
                return
            self._tail.append(text)
            self._tail_size += len(text)
            while self._tail_size > MAX_LOG_CHARS // 2 and len(self._tail) > 1:
                self._tail_size -= len(self._tail.popleft())
                self._dropped += 1

    def text(self) -> str:
        with self._lock:
            gap = [f"[... {self._dropped} lines of output left out ...]\n"] if self._dropped else []
            return "".join([*self._head, *gap, *self._tail])

    def last_line(self) -> str:
        lines = [line for line in self.text().splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


@dataclass
class Outcome:
    """How a run ended: the result's ``exit`` and ``message``."""

    exit: str
    message: str | None


def error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("errorCode", ""))
    except ValueError:
        return ""


class Control:
    """The runner's requests to the simulator's control plane."""

    def __init__(self, sim: SimulatorProcess) -> None:
        import httpx

        self.sim = sim
        self.http: httpx.Client = httpx.Client(base_url=sim.base_url, timeout=60.0, trust_env=False)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code != 200:
            code = error_code(response)
            raise ConfigurationError(
                f"the simulator answered {method} {path} {response.status_code} {code}"
            )
        return response.json()

    def progress(self) -> tuple[int, int]:
        """(the simulator's time in ms, requests served on the real API so far)."""
        now = int(self.call("GET", "/_sim/clock")["now"])
        requests = sum(int(v) for v in self.call("GET", "/_sim/stats")["requests"].values())
        return now, requests

    def rejected(self) -> dict[str, int]:
        counts = self.call("GET", "/_sim/stats")["rejected_429"]
        return {str(k): int(v) for k, v in counts.items() if int(v)}

    def close_all(self) -> tuple[dict[str, Any], int]:
        """Close what is still open (``END`` trades); the ledger and the time (ms) then."""
        self.call("POST", "/_sim/ledger/close-all", json={})
        ledger: dict[str, Any] = self.call("GET", "/_sim/ledger")
        return ledger, int(self.call("GET", "/_sim/clock")["now"])

    def close(self) -> None:
        self.http.close()


@contextlib.contextmanager
def simulator(options: SimOptions) -> Iterator[tuple[SimulatorProcess, Control]]:
    """A simulator child started with ``options`` and its control plane, stopped at the end."""
    sim = SimulatorProcess.start(options)
    control = Control(sim)
    try:
        yield sim, control
    finally:
        control.close()
        sim.stop()


def verdict(control: Control, what: str, error: BaseException | None) -> Outcome:
    """How a bot that failed by itself ended (``what``: its last words)."""
    ledger = control.call("GET", "/_sim/ledger")
    if ledger.get("clockEndRefused") and (error is None or isinstance(error, SimulatorClockError)):
        return Outcome("ok", None)  # its wait past the end was refused and it stopped there
    rejected = control.rejected()
    if isinstance(error, RateLimitError) or (error is None and rejected):
        counts = ", ".join(f"{n} x {name}" for name, n in sorted(rejected.items()))
        return Outcome(
            "rate-limited",
            f"the bot exceeded the API's rate limits ({counts or '429'}) and stopped: {what}",
        )
    return Outcome("crashed", f"the bot crashed: {what}")


class BotProcess:
    """The bot script run as ``__main__`` by ``capitalcom_sdk.backtest._botmain`` in a child
    process pointed at the simulator; its output goes to a :class:`LogBuffer`."""

    def __init__(
        self,
        sim: SimulatorProcess,
        script: Path,
        args: Sequence[str],
        output: LogBuffer,
        *,
        clock: str,
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}
        env.update(sim.environment(), CAPITAL_CLOCK=clock, PYTHONUNBUFFERED="1")
        argv = [sys.executable, "-m", "capitalcom_sdk.backtest._botmain", str(script), *args]
        self.output = output
        self.child = subprocess.Popen(  # noqa: S603 - the user's bot, by our own interpreter
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=os.name == "posix",
        )
        assert self.child.stdout is not None
        self._reader = threading.Thread(
            target=_read_output, args=(self.child.stdout, output), daemon=True
        )
        self._reader.start()

    def ended(self, seconds: float) -> bool:
        """Whether the bot has exited, waiting up to ``seconds`` for it."""
        try:
            self.child.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def interrupt(self, grace: float) -> None:
        """Ctrl-C for the bot (SIGINT: its ``finally`` blocks run), then kill it after
        ``grace`` seconds (on Windows it is killed at once)."""
        if self.child.poll() is not None:
            return
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child.pid, signal.SIGINT)
            if self.ended(grace):
                return
        self.finish()

    def finish(self) -> None:
        """Kill it if it still runs (with whatever it started), close its pipes."""
        if self.child.poll() is None:
            _kill(self.child)
        if self.child.stdin is not None:
            with contextlib.suppress(OSError):
                self.child.stdin.close()
        self._reader.join(timeout=5)

    def outcome(self, control: Control) -> Outcome:
        """How the bot, which exited by itself, ended."""
        code = self.child.returncode
        if code == 0:
            return Outcome("ok", None)
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        return verdict(control, f"{how}: {self.output.last_line() or 'no output'}", None)


class RunSettings(Protocol):
    """What a run was asked for (a :class:`Backtest` or a :class:`Paper`)."""

    epics: tuple[str, ...]
    balance: float
    currency: str
    seed: int
    out: str | os.PathLike[str] | None


def result_of(
    run: RunSettings,
    ledger: Mapping[str, Any],
    outcome: Outcome,
    *,
    resolution: str,
    output: LogBuffer,
    bars: int,
    start_ms: int,
    finished_ms: int,
    began: float,
) -> BacktestResult:
    """The result of a run (the ledger's trades and equity points, how it ended), its report
    written into ``run.out`` when set; ``began``: the run's start on ``time.monotonic()``."""
    from capitalcom_sdk.backtest._results import BacktestResult, EquityPoint, Trade

    trades = tuple(
        Trade(
            epic=t["epic"],
            direction=t["direction"],
            size=t["size"],
            deal_id=t["dealId"],
            opened_at=at_ms(t["openedMs"]),
            open_level=t["openLevel"],
            closed_at=at_ms(t["closedMs"]),
            close_level=t["closeLevel"],
            pnl=t["pnl"],
            fees=-t["fees"],  # booked on the balance as negative amounts
            funding=t["funding"],
            close_reason=t["closeReason"],
        )
        for t in ledger["closed"]
    )
    equity = tuple(
        EquityPoint(at=at_ms(p["t"]), balance=p["balance"], equity=p["equity"])
        for p in ledger["equity"]
    )
    result = BacktestResult(
        epics=run.epics,
        resolution=resolution,
        start=at_ms(start_ms),
        end=at_ms(max(start_ms, finished_ms)),
        initial_balance=run.balance,
        currency=str(ledger.get("currency", run.currency)),
        seed=run.seed,
        trades=trades,
        equity=equity,
        log=output.text(),
        exit=outcome.exit,  # type: ignore[arg-type]
        message=outcome.message,
        bars=bars,
        wall_seconds=time.monotonic() - began,
    )
    if run.out is not None:
        write_report(result, run.out)
    return result


def write_report(result: BacktestResult, out: str | os.PathLike[str]) -> None:
    """Write the report's files into ``out`` (the one place a run writes a report)."""
    from capitalcom_sdk.backtest import report

    report.write(result, out)


def _read_output(stream: Any, output: LogBuffer) -> None:
    with stream:
        for line in stream:
            output.write(line.decode("utf-8", "replace"))


def _kill(child: subprocess.Popen[bytes]) -> None:
    """Kill the bot and whatever it started (its own process group on POSIX)."""
    try:
        if os.name == "posix":
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log.warning("the bot (pid %d) did not die", child.pid)
