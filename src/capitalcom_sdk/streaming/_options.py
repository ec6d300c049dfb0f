"""The tuning of a stream (:class:`StreamOptions`) and its counters (:class:`StreamStats`)."""

from __future__ import annotations

from dataclasses import dataclass

from capitalcom_sdk.errors import RequestValidationError


@dataclass(frozen=True)
class StreamOptions:
    """Tuning of a stream. Times are wall-clock seconds: they watch the network. In lock-step (a
    frozen simulator clock, docs/streaming.md "Lock-step") the keep-alive, the silence watchdog
    and the token poll do not run: the barrier after each move of the clock does their work.

    Attributes:
        url: the WebSocket URL; default ``<streamingHost>connect`` from the login response.
        ping_interval: keep-alive ping period. The server drops a connection after 10 minutes
            without a ping on *its* clock: against a simulator running ``speed`` times faster,
            keep ``ping_interval`` well under ``600 / speed``.
        stale_after: with no frame at all for this long, probe with a ping.
        probe_timeout: the probe (and keep-alive) ping must be answered within this.
        request_timeout: subscribe/unsubscribe acknowledgements must arrive within this.
        subscribe_timeout: a subscribe call gives up after this, reconnects included.
        connect_timeout: WebSocket opening handshake timeout.
        max_queue: quotes waiting for the consumer before the overflow policy drops the oldest.
        max_bars: bars waiting before the stream fails with StreamOverflowError.
        max_instruments: epics per connection (the server's limit is 40).
        backoff_initial, backoff_max: reconnect delay = uniform(0, min(max, initial * 2**n)).
        token_poll_interval: how often the token generation is checked.
        backfill_bars: after a reconnect, fetch over REST the (classic) bars that closed while
            the connection was down and deliver them, oldest first, before newer pushed ones
            (``OHLCBar.replayed`` True). The server pushes only bars that close while connected.
    """

    url: str | None = None
    ping_interval: float = 60.0
    stale_after: float = 30.0
    probe_timeout: float = 10.0
    request_timeout: float = 10.0
    subscribe_timeout: float = 60.0
    connect_timeout: float = 10.0
    max_queue: int = 10_000
    max_bars: int = 10_000
    max_instruments: int = 40
    backoff_initial: float = 0.1
    backoff_max: float = 30.0
    token_poll_interval: float = 0.2
    backfill_bars: bool = True

    def __post_init__(self) -> None:
        for name in (
            "ping_interval",
            "stale_after",
            "probe_timeout",
            "request_timeout",
            "subscribe_timeout",
            "connect_timeout",
            "backoff_initial",
            "backoff_max",
            "token_poll_interval",
        ):
            if not getattr(self, name) > 0:
                raise RequestValidationError(name, "must be > 0")
        for name in ("max_queue", "max_bars"):
            if getattr(self, name) < 1:
                raise RequestValidationError(name, "must be >= 1")
        if not 1 <= self.max_instruments <= 40:
            raise RequestValidationError("max_instruments", "must be between 1 and 40")


@dataclass(frozen=True)
class StreamStats:
    """Counters of a stream (a snapshot).

    Attributes:
        quotes, bars: received (bars counted once, replayed ones included).
        dropped_quotes, dropped_by_epic: quotes dropped by the overflow policy.
        queued, queue_high_water: events waiting now, and at most so far.
        connections, connected: connection tasks running; connections ready now.
        connects, reconnects: connections that became ready; of those, after an earlier one.
        logins: sessions the stream found refused or missing and asked the client to replace
            (several connections refused at once count once).
        subscribed_quotes, subscribed_ohlc: what the stream carries.
        replayed_bars: bars filled in over REST after reconnects.
    """

    quotes: int
    bars: int
    dropped_quotes: int
    dropped_by_epic: dict[str, int]
    queued: int
    queue_high_water: int
    connections: int
    connected: int
    connects: int
    reconnects: int
    logins: int
    subscribed_quotes: int
    subscribed_ohlc: int
    replayed_bars: int = 0
