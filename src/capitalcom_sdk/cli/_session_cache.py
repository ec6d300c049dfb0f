"""Sessions kept between ``capitalcom`` runs, so that a command does not log in each time.

A login is a round trip, and the server allows one per second per API key, so a shell loop of
commands would wait on it. The cache file holds, per server + API key + login (a SHA-256 of
them: the key itself is not stored), the CST / X-SECURITY-TOKEN pair, the account and when the
session was last used. It is written atomically, readable by its owner only (0600, folder
0700). An entry older than the server's idle limit is not used; a session that ended anyway is
noticed by the first request, and the client logs in again.

``CAPITAL_SESSION_CACHE``: a file path, or ``off`` / ``0`` to keep nothing on disk (also
``--no-session-cache``). Default: ``$XDG_CACHE_HOME/capitalcom-sdk/sessions.json`` (else
``~/.cache/...``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capitalcom_sdk._logging import get_logger

if TYPE_CHECKING:  # the SDK's models load only when a command builds a client (--help stays fast)
    from capitalcom_sdk._auth import SessionTokens

__all__ = ["CACHE_ENV", "SessionCache", "cache_key", "cache_path"]

logger = get_logger(__name__)

CACHE_ENV = "CAPITAL_SESSION_CACHE"
IDLE_SECONDS = 540.0  # the server ends a session 10 minutes after its last use; keep a margin
_OFF = frozenset({"0", "off", "false", "no", "none"})


def cache_path(environ: Mapping[str, str]) -> Path | None:
    """Where sessions are kept, or None when the cache is off."""
    value = environ.get(CACHE_ENV, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "capitalcom-sdk" / "sessions.json"


def cache_key(base_url: str, api_key: str, identifier: str) -> str:
    """The entry of one server, API key and login (a digest: the key is not written down)."""
    return hashlib.sha256(f"{base_url}\0{api_key}\0{identifier}".encode()).hexdigest()


class SessionCache:
    """Read and write the session file; every failure is logged and treated as "no session"."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock

    def __repr__(self) -> str:
        return f"SessionCache({str(self.path)!r})"

    def load(self, key: str) -> SessionTokens | None:
        """The session of ``key`` if it was used within the server's idle limit."""
        from capitalcom_sdk._auth import SessionTokens

        entry = self._read().get(key)
        if not isinstance(entry, dict):
            return None
        used = entry.get("usedAt")
        if not isinstance(used, int | float) or self._clock() - used > IDLE_SECONDS:
            return None
        try:
            account = entry.get("accountId")
            return SessionTokens(
                str(entry["cst"]),
                str(entry["securityToken"]),
                str(account) if account is not None else None,
            )
        except (KeyError, ValueError):
            logger.debug("session cache %s: entry unusable, ignored", self.path)
            return None

    def save(self, key: str, tokens: SessionTokens | None) -> None:
        """Keep ``tokens`` as just used (None forgets the entry); drop stale entries."""
        now = self._clock()
        entries = {
            k: v
            for k, v in self._read().items()
            if isinstance(v, dict)
            and isinstance(v.get("usedAt"), int | float)
            and now - v["usedAt"] <= IDLE_SECONDS
        }
        if tokens is None:
            if key not in entries and not self.path.exists():
                return
            entries.pop(key, None)
        else:
            entries[key] = {
                "cst": tokens.cst,
                "securityToken": tokens.security_token,
                "accountId": tokens.account_id,
                "usedAt": now,
            }
        self._write(entries)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.debug("session cache %s unreadable (%s), ignored", self.path, type(exc).__name__)
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, Any]) -> None:
        folder = self.path.parent
        temporary = folder / f".{self.path.name}.{os.getpid()}.tmp"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(entries, handle)
            os.replace(temporary, self.path)
        except OSError as exc:
            logger.debug("session cache %s not written (%s)", self.path, type(exc).__name__)
            with contextlib.suppress(OSError):
                temporary.unlink()
