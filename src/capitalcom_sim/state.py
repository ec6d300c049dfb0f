"""The simulator's state shared by routes, streaming and the control plane."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from capitalcom_sim.config import SimConfig, UserConfig
from capitalcom_sim.crypto import EncryptionKeys
from capitalcom_sim.engine import Engine
from capitalcom_sim.engine.clock import Clock
from capitalcom_sim.errors import ApiError
from capitalcom_sim.faults import FaultStore
from capitalcom_sim.ratelimit import LimitClock, RateLimiter
from capitalcom_sim.sessions import Session, SessionStore
from capitalcom_sim.stats import Stats
from capitalcom_sim.streaming import StreamHub

logger = logging.getLogger(__name__)

AccountSwitchHook = Callable[[Session, str, str], None]
SessionEndHook = Callable[[Session], None]


def _build_engine(config: SimConfig, clock: Clock) -> Engine:
    """The market/trading engine (owner SIM-ENGINE)."""
    return Engine(
        config,
        clock,
        tick_ms=config.tick_ms,
        overnight_fees=config.overnight_fees,
        confirm_lag_ms=config.confirm_lag_ms,
        stop_out_level=config.stop_out_level,
    )


@dataclass(eq=False)
class SimState:
    """Everything one simulator instance knows. One per app; no globals.

    Hooks (called synchronously, exceptions are logged and swallowed):
    ``on_account_switch(session, old_account_id, new_account_id)`` after ``PUT /session``;
    ``on_session_end(session)`` after logout or forced expiry; ``on_reset()`` after /_sim/reset.
    """

    config: SimConfig
    clock: Clock
    sessions: SessionStore
    keys: EncryptionKeys
    limiter: RateLimiter
    faults: FaultStore
    stats: Stats
    engine: Engine
    on_account_switch: list[AccountSwitchHook] = field(default_factory=list)
    on_session_end: list[SessionEndHook] = field(default_factory=list)
    on_reset: list[Callable[[], None]] = field(default_factory=list)
    _users_by_key: dict[str, UserConfig] = field(default_factory=dict, repr=False)
    _clock_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    streams: StreamHub = field(init=False, repr=False)
    """The ``/connect`` sockets of this simulator and their ticker."""

    def __post_init__(self) -> None:
        self.streams = StreamHub(self)

    @classmethod
    def from_config(cls, config: SimConfig) -> SimState:
        clock = Clock(config.start_ms, speed=config.clock_speed)
        state = cls(
            config=config,
            clock=clock,
            sessions=SessionStore(
                clock,
                config.session_idle_seconds,
                config.session_max_seconds,
                accept_previous_security_token=config.accept_previous_security_token,
            ),
            keys=EncryptionKeys(int(config.encryption_key_window_seconds * 1000)),
            limiter=RateLimiter(monotonic=LimitClock(clock), mode=config.rate_limit_mode),
            faults=FaultStore(config.seed),
            stats=Stats(),
            engine=_build_engine(config, clock),
        )
        state._users_by_key = {u.api_key: u for u in config.users}
        return state

    def user_by_api_key(self, api_key: str) -> UserConfig | None:
        return self._users_by_key.get(api_key)

    def user_by_client_id(self, client_id: str) -> UserConfig | None:
        return next((u for u in self.config.users if u.client_id == client_id), None)

    # -- clock moves that the engine must follow --------------------------------------------

    def move_clock(
        self,
        *,
        set_ms: int | None = None,
        advance_seconds: float | None = None,
        speed: float | None = None,
    ) -> int:
        """Set, then advance, then re-speed the clock; the engine processes the elapsed span.

        Returns the new simulated time in ms. With ``config.end_ms`` (a backtest's end) the clock
        stops there: a move past it is cut at it, a forward move from it is a 409
        ``error.sim.clock.end`` (nothing changes).
        """
        end = self.config.end_ms
        with self._clock_lock:
            before = self.clock.now_ms()
            if (
                end is not None
                and before >= end
                and (
                    (set_ms is not None and set_ms > before)
                    or (set_ms is None and advance_seconds is not None and advance_seconds > 0)
                )
            ):
                self.engine.ledger.end_refusals += 1
                raise ApiError(409, "error.sim.clock.end")
            if set_ms is not None:
                self.clock.set(set_ms)
            if advance_seconds is not None:
                self.clock.advance(advance_seconds)
            if end is not None and self.clock.now_ms() > end:
                self.clock.set(end)
            if speed is not None:
                self.clock.set_speed(speed)
            now = self.clock.now_ms()
            self._engine_catch_up(before, now)
            self.engine.sample_equity()
            return now

    def _engine_catch_up(self, before_ms: int, now_ms: int) -> None:
        if now_ms < before_ms:
            return  # a jump back in time triggers nothing
        try:
            self.engine.advance_to(now_ms)
        except NotImplementedError:
            logger.debug("engine.advance_to not implemented yet; triggers skipped")

    # -- hooks ----------------------------------------------------------------------------

    def account_switched(self, session: Session, old_account_id: str) -> None:
        for hook in list(self.on_account_switch):
            try:
                hook(session, old_account_id, session.account_id)
            except Exception:
                logger.exception("on_account_switch hook failed")

    def session_ended(self, session: Session) -> None:
        for hook in list(self.on_session_end):
            try:
                hook(session)
            except Exception:
                logger.exception("on_session_end hook failed")

    def expire_sessions(self, client_id: str | None = None) -> int:
        """Invalidate every session (or one client's) and tell the hooks; returns how many."""
        doomed = [s for s in self.sessions.active() if client_id in (None, s.user.client_id)]
        count = self.sessions.expire_all(client_id)
        for session in doomed:
            self.session_ended(session)
        return count

    def reset(self) -> None:
        """Fresh engine, sessions, faults, limits and stats; same config and seed.

        The clock goes back to the configured start (or the wall clock) and speed. Objects are
        replaced in place on this SimState so references to the state stay valid.
        """
        with self._clock_lock:
            start = self.config.start_ms
            self.clock.set(start if start is not None else int(time.time() * 1000))
            self.clock.set_speed(self.config.clock_speed)
        for session in self.sessions.active():
            self.session_ended(session)
        self.sessions.clear()
        self.limiter.clear()
        self.faults.clear()
        self.stats.clear()
        self.engine = _build_engine(self.config, self.clock)
        for hook in list(self.on_reset):
            try:
                hook()
            except Exception:
                logger.exception("on_reset hook failed")
