"""REST sessions of the simulator: CST / X-SECURITY-TOKEN pairs with idle and hard expiry."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from capitalcom_sim.config import UserConfig
from capitalcom_sim.engine.clock import Clock
from capitalcom_sim.errors import ApiError


@dataclass
class Session:
    """One logged-in session; ``account_id`` is the active financial account.

    ``security_token`` is the current X-SECURITY-TOKEN (the one answers carry);
    ``previous_security_tokens`` the ones an account switch replaced.
    """

    cst: str
    security_token: str
    user: UserConfig
    account_id: str
    created_ms: int
    last_used_ms: int
    previous_security_tokens: list[str] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return f"Session(client_id={self.user.client_id!r}, account_id={self.account_id!r})"


class SessionStore:
    """Issues and checks session tokens on the simulator's clock. Thread-safe."""

    def __init__(
        self,
        clock: Clock,
        idle_seconds: float,
        max_seconds: float,
        *,
        accept_previous_security_token: bool = True,
    ) -> None:
        self._clock = clock
        self.idle_ms = int(idle_seconds * 1000)
        self.max_ms = int(max_seconds * 1000)
        self.accept_previous_security_token = accept_previous_security_token
        self._by_cst: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: UserConfig, account_id: str) -> Session:
        """Log ``user`` in on ``account_id``: a new CST / X-SECURITY-TOKEN pair."""
        now = self._clock.now_ms()
        session = Session(
            cst=secrets.token_urlsafe(18),
            security_token=secrets.token_urlsafe(18),
            user=user,
            account_id=account_id,
            created_ms=now,
            last_used_ms=now,
        )
        with self._lock:
            for cst in [c for c, s in self._by_cst.items() if self._expired(s, now)]:
                del self._by_cst[cst]
            self._by_cst[session.cst] = session
        return session

    def peek(self, cst: str | None) -> Session | None:
        """The live session of a CST without extending it (rate limiting, streaming checks)."""
        if not cst:
            return None
        with self._lock:
            session = self._by_cst.get(cst)
        if session is None or self._expired(session, self._clock.now_ms()):
            return None
        return session

    def authenticate(self, cst: str | None, security_token: str | None) -> Session:
        """Return the live session for the tokens and extend its idle lifetime.

        Raises 400 ``error.null.client.token`` when a token is missing and 401
        ``error.invalid.session.token`` when they are unknown, idle too long or past the hard
        lifetime. A security token that an account switch replaced still authenticates (for
        the now active account) unless the store was built with
        ``accept_previous_security_token=False``.
        """
        if not cst or not security_token:
            raise ApiError(400, "error.null.client.token")
        now = self._clock.now_ms()
        with self._lock:
            session = self._by_cst.get(cst)
            if session is None or not self._token_matches(session, security_token):
                raise ApiError(401, "error.invalid.session.token")
            if self._expired(session, now):
                del self._by_cst[cst]
                raise ApiError(401, "error.invalid.session.token")
            session.last_used_ms = now
            return session

    def touch(self, session: Session, now: int) -> None:
        """Extend ``session``'s idle lifetime to ``now`` (a ping credited through a lock-step
        move of the clock); the hard lifetime is unchanged."""
        with self._lock:
            if self._by_cst.get(session.cst) is session:
                session.last_used_ms = max(session.last_used_ms, now)

    def _token_matches(self, session: Session, security_token: str) -> bool:
        candidates = [session.security_token]
        if self.accept_previous_security_token:
            candidates += session.previous_security_tokens
        # every candidate is compared (no early exit) so timing says nothing about which matched
        matches = [secrets.compare_digest(c, security_token) for c in candidates]
        return any(matches)

    def _expired(self, session: Session, now: int) -> bool:
        return now - session.last_used_ms > self.idle_ms or now - session.created_ms > self.max_ms

    def rotate_security_token(self, session: Session) -> None:
        """Issue a new X-SECURITY-TOKEN (the real servers do on account switch)."""
        with self._lock:
            session.previous_security_tokens.append(session.security_token)
            session.security_token = secrets.token_urlsafe(18)

    def switch_account(self, session: Session, account_id: str) -> str:
        """Make ``account_id`` active and rotate the X-SECURITY-TOKEN; returns the old account."""
        with self._lock:
            previous = session.account_id
            session.account_id = account_id
            session.previous_security_tokens.append(session.security_token)
            session.security_token = secrets.token_urlsafe(18)
            return previous

    def delete(self, session: Session) -> None:
        with self._lock:
            self._by_cst.pop(session.cst, None)

    def expire_all(self, client_id: str | None = None) -> int:
        """Invalidate every session (or those of one client); returns how many."""
        with self._lock:
            doomed = [
                cst
                for cst, s in self._by_cst.items()
                if client_id is None or s.user.client_id == client_id
            ]
            for cst in doomed:
                del self._by_cst[cst]
            return len(doomed)

    def clear(self) -> None:
        """Forget every session (reset)."""
        with self._lock:
            self._by_cst.clear()

    def active(self) -> list[Session]:
        """Sessions whose tokens are currently valid."""
        now = self._clock.now_ms()
        with self._lock:
            return [s for s in self._by_cst.values() if not self._expired(s, now)]
