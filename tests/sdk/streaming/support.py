"""Helpers of the streaming tests: simulator settings, synthetic extra epics, raw frames, and
waits on the simulator's connections and the client's frames (never on the wall clock)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection

from capitalcom_sdk.streaming import AsyncStream
from capitalcom_sim.config import SimConfig, single_user
from capitalcom_sim.state import SimState

# A Wednesday afternoon (UTC): every default market but 5CPSG is open.
START_MS = int(datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp() * 1000)


def stream_config(speed: float = 0.0, **overrides: Any) -> SimConfig:
    """A simulator on a fixed date; ``speed=0`` freezes its clock (tests move it)."""
    settings: dict[str, Any] = {
        "users": (single_user(),),
        "rate_limits": False,
        "seed": 7,
        "start_ms": START_MS,
        "clock_speed": speed,
    }
    settings.update(overrides)
    return SimConfig(**settings)


def open_epics(engine: Any, t_ms: int = START_MS) -> list[str]:
    """The default epics whose market is open at ``t_ms``."""
    return [i.epic for i in engine.instruments if i.opening_hours.is_open(t_ms)]


class _AliasInstruments:
    def __init__(self, inner: Any, aliases: dict[str, str]) -> None:
        self._inner = inner
        self._aliases = aliases

    def __contains__(self, epic: object) -> bool:
        return epic in self._aliases or epic in self._inner

    def __iter__(self) -> Any:
        return iter(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _AliasPrices:
    def __init__(self, inner: Any, aliases: dict[str, str]) -> None:
        self._inner = inner
        self._aliases = aliases
        self.tick_ms = inner.tick_ms

    def quote(self, epic: str, t_ms: int) -> tuple[float, float]:
        return self._inner.quote(self._aliases.get(epic, epic), t_ms)  # type: ignore[no-any-return]

    def bars(self, epic: str, *args: Any, **kwargs: Any) -> Any:
        return self._inner.bars(self._aliases.get(epic, epic), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class AliasEngine:
    """The simulator's engine plus synthetic epics priced like existing ones.

    The default market table has 53 instruments; tests of more than that (100 epics over three
    connections) add aliases such as ``XEURUSD2`` that follow ``EURUSD``.
    """

    def __init__(self, inner: Any, aliases: dict[str, str]) -> None:
        self._inner = inner
        self.instruments = _AliasInstruments(inner.instruments, aliases)
        self.prices = _AliasPrices(inner.prices, aliases)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def with_aliases(state: Any, count: int, base: Iterable[str]) -> list[str]:
    """Install ``count`` synthetic epics on ``state`` (cycling over ``base``); their names."""
    bases = list(base)
    aliases = {f"X{bases[i % len(bases)]}{i}": bases[i % len(bases)] for i in range(count)}
    state.engine = AliasEngine(state.engine, aliases)
    return list(aliases)


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/connect"


class RawClient:
    """A bare protocol client: sends frames with the session tokens, collects what comes back."""

    def __init__(self, ws: ClientConnection, cst: str, security_token: str) -> None:
        self.ws = ws
        self.cst = cst
        self.security_token = security_token
        self._next = 0

    async def send(
        self,
        destination: str,
        payload: dict[str, Any] | None = None,
        correlation_id: Any = None,
        **extra: Any,
    ) -> str:
        self._next += 1
        cid = str(self._next) if correlation_id is None else correlation_id
        frame: dict[str, Any] = {
            "destination": destination,
            "correlationId": cid,
            "cst": self.cst,
            "securityToken": self.security_token,
        }
        if payload is not None:
            frame["payload"] = payload
        frame.update(extra)
        await self.ws.send(json.dumps(frame))
        return str(cid)

    async def recv(self, wait: float = 5.0) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
        return frame

    async def reply(self, correlation_id: str, wait: float = 5.0) -> dict[str, Any]:
        """The next frame answering ``correlation_id`` (events before it are skipped)."""
        while True:
            frame = await self.recv(wait)
            if frame.get("correlationId") == correlation_id:
                return frame

    async def request(
        self, destination: str, payload: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        return await self.reply(await self.send(destination, payload, **kw))


Connections = list[dict[str, Any]]


def connections_until(
    state: SimState, predicate: Callable[[Connections], bool], timeout: float = 5.0
) -> Connections:
    """The simulator's stream connections (``describe()``) once ``predicate`` holds for them.

    Blocks this thread until the hub, on its own loop, finds the predicate true after a change
    (never waits for simulated time); fails the test after ``timeout`` real seconds.
    """
    hub = state.streams
    if not hub.wait_for(lambda: predicate(hub.describe()), timeout):
        raise AssertionError(f"stream connections never matched: {hub.describe()}")
    return hub.describe()


async def connections_until_async(
    state: SimState, predicate: Callable[[Connections], bool], within: float = 5.0
) -> Connections:
    """:func:`connections_until` from a coroutine (the wait runs in a worker thread)."""
    return await asyncio.to_thread(connections_until, state, predicate, within)


async def barrier(stream: AsyncStream) -> None:
    """Return once every frame the simulator sent up to now has been dispatched by ``stream``.

    A ping round trip on each connection: the simulator first emits everything due on its
    clock, then answers, and the client reads in order.
    """
    for supervisor in list(stream._supervisors.values()):
        conn = supervisor.conn
        if conn is not None and conn.alive:
            reply = await conn.request("ping")
            assert reply.ok, reply
