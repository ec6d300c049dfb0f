"""What time it is and how to wait: the one notion of time a bot and the SDK share.

Live, a client's clock is the wall clock (:class:`WallClock`). In a backtest it is the
simulator's (:class:`SimulatorClock`): frozen while the bot thinks, moved only when the bot (or
the SDK on its behalf: the rate limiter, retries' back-off, confirm polling) waits. A wait of
``s`` seconds is one ``POST /_sim/clock {"advance": s}``: the simulator processes the span (bars,
stops, limits, working orders, fees) and answers at once, so a backtest never waits on the wall
clock. The same bot code (``client.now()``, ``client.sleep()``, ``client.wait_until()``) runs
against the demo server, the live server and a backtest.

Cheap to import: httpx is loaded by the simulator clock only when it is first used.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from capitalcom_sdk._clock_wire import (
    AsyncControlConnection,
    ControlConnection,
    Dropped,
    ProtocolError,
)
from capitalcom_sdk.errors import (
    BacktestEnded,
    ConfigurationError,
    RequestValidationError,
    SimulatorClockError,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CLOCK_NAMES",
    "Clock",
    "SimulatorClock",
    "WallClock",
    "check_seconds",
    "resolve_clock",
]

CLOCK_NAMES = ("wall", "simulator")
"""What ``clock=`` (and ``CAPITAL_CLOCK``) accept besides a :class:`Clock` object."""


@runtime_checkable
class Clock(Protocol):
    """What a client needs of time. Both methods of waiting move the same clock."""

    def time(self) -> float:
        """Seconds since the epoch (UTC)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for limits and deadlines)."""

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (blocking)."""

    async def asleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (awaitable)."""


def check_seconds(seconds: object, name: str = "seconds") -> float:
    """``seconds`` as a float when it is a finite number >= 0, else RequestValidationError (a
    ValueError) naming ``name``."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise RequestValidationError(
            name, f"expected a number of seconds >= 0, got {type(seconds).__name__}"
        )
    value = float(seconds)
    if not math.isfinite(value) or value < 0:
        raise RequestValidationError(
            name, f"expected a finite number of seconds >= 0, got {seconds!r}"
        )
    return value


class WallClock:
    """The real clock: ``time.time``, ``time.monotonic``, ``time.sleep``, ``asyncio.sleep``."""

    name = "wall"

    def __repr__(self) -> str:
        return "WallClock()"

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        import asyncio  # loaded on the first async wait: `import Client` stays cheap

        await asyncio.sleep(seconds)


AdvanceHook = Callable[[int], "Awaitable[None] | None"]
"""Called with the simulator's new time (ms) after each move of a :class:`SimulatorClock`; an
awaitable it returns is awaited by the async waits (a stream's barrier on its own loop)."""


class SimulatorClock:
    """The simulator's clock (``/_sim/clock`` of ``base_url``), moved in lock-step by waits.

    The simulator's clock should be frozen (speed 0, as the backtest runner starts it): then the
    time read once is exact until this clock moves it, and every wait is answered at once. With
    a running simulator clock (speed > 0) waits still advance it, and :meth:`time` reads it
    afresh each time.

    Args:
        base_url: the simulator's base URL (the client's).
        timeout: seconds to wait for the simulator's answer to one move.
        transport: an httpx transport for the control requests (tests).
    """

    name = "simulator"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/").removesuffix("/api/v1")
        self._url = self.base_url + "/_sim/clock"
        self._timeout = timeout
        self._transport = transport
        self._async_transport = async_transport
        self._lock = threading.Lock()
        self._now_ms: int | None = None
        self._frozen = False
        self._http: httpx.Client | None = None
        self._ahttp: httpx.AsyncClient | None = None
        self._plain: ControlConnection | None = None
        self._aplain: AsyncControlConnection | None = None
        self._plain_lock = threading.Lock()
        self._path = "/" + self._url.split("://", 1)[-1].split("/", 1)[-1]
        self._hooks: list[AdvanceHook] = []
        self.moves = 0  # waits that moved the simulator's clock

    def __repr__(self) -> str:
        return f"SimulatorClock(base_url={self.base_url!r}, now_ms={self._now_ms})"

    # -- reading ---------------------------------------------------------------------------------
    def time(self) -> float:
        return self.now_ms() / 1000.0

    def monotonic(self) -> float:
        return self.now_ms() / 1000.0

    def now_ms(self) -> int:
        """The simulator's time in ms (read from the simulator unless known exactly)."""
        with self._lock:
            known = self._now_ms
            if known is not None and self._frozen:
                return known
        return self._remember(self._request("GET", None))

    @property
    def frozen(self) -> bool:
        """Whether the simulator's clock is frozen (lock-step: it moves only by waits)."""
        with self._lock:
            known = self._now_ms is not None
        if not known:
            self.now_ms()
        return self._frozen

    async def afrozen(self) -> bool:
        """:attr:`frozen`, reading the simulator without blocking the event loop."""
        if self._now_ms is None:
            # The blocking control client, in a worker thread: the async one is bound to the
            # first event loop that uses it, and a blocking client's stream has its own loop.
            import asyncio

            await asyncio.to_thread(self.now_ms)
        return self._frozen

    def on_advance(self, hook: AdvanceHook) -> Callable[[], None]:
        """Call ``hook(now_ms)`` after each move (e.g. a stream waiting for its events); returns
        a function that removes it. While hooks are registered the moves ask the simulator to
        count the open streams as pinged through the move (``"keepalive"``): their keep-alive
        runs on this clock and cannot ping during a jump."""
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook) if hook in self._hooks else None

    # -- waiting ---------------------------------------------------------------------------------
    def _body(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._hooks:
            body["keepalive"] = True
        return body

    def sleep(self, seconds: float) -> None:
        seconds = check_seconds(seconds)
        if seconds > 0:
            self._moved(self._remember(self._request("POST", self._body({"advance": seconds}))))

    async def asleep(self, seconds: float) -> None:
        seconds = check_seconds(seconds)
        if seconds > 0:
            now = self._remember(await self._arequest(self._body({"advance": seconds})))
            await self._amoved(now)

    def advance_to_next(self, at_most: float | None = None) -> tuple[int, int | None]:
        """Move to when the simulator's streams have their next subscribed event due (the next
        quote grid point or bar close), at most ``at_most`` seconds on (None: no bound).

        Returns ``(now_ms, due_ms)``; ``due_ms`` is None when nothing is subscribed (then the
        clock moved by ``at_most``, or not at all without it). The hooks run after the move.
        """
        answer = self._request("POST", self._next_body(at_most))
        self._moved(now := self._remember(answer))
        return now, _due(answer)

    async def aadvance_to_next(self, at_most: float | None = None) -> tuple[int, int | None]:
        """:meth:`advance_to_next`, awaiting the hooks' awaitables."""
        answer = await self._arequest(self._next_body(at_most))
        await self._amoved(now := self._remember(answer))
        return now, _due(answer)

    def _next_body(self, at_most: float | None) -> dict[str, Any]:
        body: dict[str, Any] = {"next": True}
        if at_most is not None:
            body["max"] = check_seconds(at_most, "timeout")
        return self._body(body)

    def set_ms(self, when_ms: int) -> int:
        """Move the simulator's clock to ``when_ms`` (the runner's start); the new time."""
        now = self._remember(self._request("POST", self._body({"set": int(when_ms)})))
        self._moved(now)
        return now

    def _moved(self, now_ms: int) -> None:
        self.moves += 1
        for hook in list(self._hooks):
            pending = hook(now_ms)
            if pending is not None:  # an async hook under a blocking wait: it runs on its own
                _discard(pending)

    async def _amoved(self, now_ms: int) -> None:
        self.moves += 1
        for hook in list(self._hooks):
            pending = hook(now_ms)
            if pending is not None:
                await pending

    def _remember(self, answer: dict[str, Any]) -> int:
        try:
            now = int(answer["now"])
            speed = float(answer.get("speed", 0.0))
        except (KeyError, TypeError, ValueError):
            raise SimulatorClockError(
                f"{self._url} answered without a clock ({sorted(answer)[:4]})"
            ) from None
        with self._lock:
            self._now_ms = now
            self._frozen = speed == 0.0
        return now

    # -- the control requests --------------------------------------------------------------------
    def _request(self, method: str, body: dict[str, Any] | None) -> dict[str, Any]:
        if self._transport is None and self._url.startswith("http://"):
            return self._plain_request(method, body)
        import httpx

        with self._lock:
            if self._http is None:
                self._http = httpx.Client(
                    timeout=self._timeout, transport=self._transport, trust_env=False
                )
            http = self._http
        try:
            response = http.request(method, self._url, json=body)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._answer(response)

    def _plain_request(self, method: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One control request over a kept-alive loopback connection (:class:`ControlConnection`):
        a lock-step step is one of these (plain HTTP only)."""
        payload = None if body is None else json.dumps(body).encode()
        with self._plain_lock:
            for attempt in (1, 2):  # a kept-alive connection the server closed: once more
                conn = self._plain
                if conn is None:
                    conn = self._plain = ControlConnection(self._url, self._path, self._timeout)
                try:
                    status, data = conn.request(method, payload)
                    break
                except (OSError, ProtocolError) as exc:
                    conn.close()
                    self._plain = None
                    if attempt == 2 or not isinstance(exc, Dropped):
                        raise self._unreachable(exc) from None
        return self._parse(method, status, data)

    async def _arequest(self, body: dict[str, Any] | None) -> dict[str, Any]:
        if self._async_transport is None and self._url.startswith("http://"):
            return await self._aplain_request("GET" if body is None else "POST", body)
        import httpx

        if self._ahttp is None:
            self._ahttp = httpx.AsyncClient(
                timeout=self._timeout, transport=self._async_transport, trust_env=False
            )
        try:
            if body is None:
                response = await self._ahttp.get(self._url)
            else:
                response = await self._ahttp.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._answer(response)

    async def _aplain_request(self, method: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """:meth:`_plain_request` for the async waits, over this event loop's connection."""
        import asyncio

        payload = None if body is None else json.dumps(body).encode()
        loop = asyncio.get_running_loop()
        conn = self._aplain
        if conn is None or conn.loop is not loop:
            if conn is not None:
                conn.close()
            conn = self._aplain = AsyncControlConnection(self._url, self._path, self._timeout)
        async with conn.lock:
            for attempt in (1, 2):  # a kept-alive connection the server closed: once more
                try:
                    status, data = await conn.request(method, payload)
                    break
                except (OSError, ProtocolError) as exc:  # TimeoutError is an OSError
                    if attempt == 2 or not isinstance(exc, Dropped):
                        raise self._unreachable(exc) from None
        return self._parse(method, status, data)

    def _unreachable(self, exc: Exception) -> SimulatorClockError:
        return SimulatorClockError(
            f"the simulator's clock at {self._url} is unreachable: {type(exc).__name__}"
        )

    def _refusal(self, method: str, status: int, data: bytes) -> SimulatorClockError:
        """The error of a clock request answered ``status``: the end of a backtest (409
        ``error.sim.clock.end``), or a server that is no simulator."""
        if status == 409:
            try:
                code = json.loads(data).get("errorCode")
            except (ValueError, AttributeError):
                code = None
            if code == "error.sim.clock.end":
                return BacktestEnded(
                    "the backtest's end is reached: the simulator's clock moves no further"
                )
        return SimulatorClockError(
            f"{method} {self._url} answered {status}: the server is not a capitalcom "
            "simulator (clock='simulator' needs one)"
        )

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        return self._parse(response.request.method, response.status_code, response.content)

    def _parse(self, method: str, status: int, data: bytes) -> dict[str, Any]:
        """The clock of an answer (both control paths), or the error it stands for."""
        if status != 200:
            raise self._refusal(method, status, data)
        try:
            answer = json.loads(data)
        except ValueError:
            raise SimulatorClockError(f"{self._url} answered something else than JSON") from None
        if not isinstance(answer, dict):
            raise SimulatorClockError(f"{self._url} answered something else than a clock")
        return answer

    def close(self) -> None:
        """Close the control connections (the client does this when it closes)."""
        http, self._http = self._http, None
        if http is not None:
            http.close()
        with self._plain_lock:
            plain, self._plain = self._plain, None
        if plain is not None:
            plain.close()
        aplain, self._aplain = self._aplain, None
        if aplain is not None:  # not waiting: its requests are awaited to the end or closed it
            aplain.close()

    async def aclose(self) -> None:
        """Close the control connections, the async ones on this event loop."""
        self.close()
        ahttp, self._ahttp = self._ahttp, None
        if ahttp is not None:
            await ahttp.aclose()
        aplain, self._aplain = self._aplain, None
        if aplain is not None:
            aplain.close()


def _due(answer: dict[str, Any]) -> int | None:
    due = answer.get("due")
    return int(due) if isinstance(due, int | float) and not isinstance(due, bool) else None


def _discard(pending: Awaitable[None]) -> None:
    close = getattr(pending, "close", None)  # a coroutine never awaited: no warning
    if close is not None:
        close()


def lockstep(clock: Clock) -> SimulatorClock | None:
    """``clock`` when it is a frozen simulator clock (a backtest in lock-step), else None."""
    return clock if isinstance(clock, SimulatorClock) and clock.frozen else None


def resolve_clock(clock: object, base_url: str) -> Clock:
    """The :class:`Clock` of a client's ``clock=`` argument (``"wall"``, ``"simulator"`` or a
    clock object); ConfigurationError naming ``clock`` otherwise."""
    if clock is None or clock == "wall":
        return WallClock()
    if clock == "simulator":
        return SimulatorClock(base_url)
    if isinstance(clock, str):
        raise ConfigurationError(f"clock must be 'wall' or 'simulator', got {clock!r}")
    if not isinstance(clock, Clock):
        raise ConfigurationError(
            "clock must be 'wall', 'simulator' or an object with time(), monotonic(), sleep() "
            f"and asleep(), got {type(clock).__name__}"
        )
    return clock


def utc(timestamp: float) -> datetime:
    """An aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(timestamp, tz=UTC)
