"""Sessions kept between ``capitalcom`` runs, so that a command does not log in each time.

A login is a round trip, and the server allows one per second per API key, so a shell loop of
commands would wait on it. The cache file holds, per entry, the CST / X-SECURITY-TOKEN pair, the
account and when the session was last used. An entry is found by a SHA-256 of the server, the
API key, the login, the password and the account asked for (``--account``, or none: the
preferred account), so

* a session is only reused with exactly the credentials that created it (a wrong password finds
  no entry and fails as it would without the cache);
* a run with ``--account B`` never lends its session to a later run without ``--account``, and
  a session that was switched away from the account it was kept for is not kept.

Neither the key nor the password is stored (a digest only; the API key in it makes the digest
useless for guessing the password). An entry older than the server's idle limit is not used; a
session that ended anyway is noticed by the first request, and the client logs in again.

The file holds live tokens, so it is handled like an SSH key: written to a fresh temporary file
with an unpredictable name (``O_CREAT | O_EXCL | O_NOFOLLOW``, mode 0600), fsync-ed and renamed
over the old one, inside a folder opened once (no symlink swapped in between). A folder or file
that is not the user's own, a folder others may write to, a file others may read, or a file that
is a symlink is refused: nothing is read from it or written to it (a warning says why).

``CAPITAL_SESSION_CACHE``: a file path, or ``off`` / ``0`` to keep nothing on disk (also
``--no-session-cache``). Default: ``$XDG_CACHE_HOME/capitalcom-sdk/sessions.json`` (else
``~/.cache/...``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capitalcom_sdk._logging import get_logger

if TYPE_CHECKING:  # the SDK's models load only when a command builds a client (--help stays fast)
    from capitalcom_sdk import Client
    from capitalcom_sdk._auth import SessionTokens

__all__ = ["CACHE_ENV", "KeptSession", "SessionCache", "UnsafeCache", "cache_key", "cache_path"]

logger = get_logger(__name__)

CACHE_ENV = "CAPITAL_SESSION_CACHE"
IDLE_SECONDS = 540.0  # the server ends a session 10 minutes after its last use; keep a margin
_OFF = frozenset({"0", "off", "false", "no", "none"})
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_POSIX = os.name == "posix"


def cache_path(
    settings: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> Path | None:
    """Where sessions are kept, or None when the cache is off.

    Args:
        settings: the ``CAPITAL_*`` settings (environment over ``.env``).
        environ: the process environment, for ``XDG_CACHE_HOME`` (default ``os.environ``).
    """
    environ = os.environ if environ is None else environ
    value = settings.get(CACHE_ENV, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = environ.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec: a relative XDG_CACHE_HOME is invalid and to be ignored.
    if not base or not os.path.isabs(os.path.expanduser(base)):
        base = os.path.join("~", ".cache")
    return Path(base).expanduser() / "capitalcom-sdk" / "sessions.json"


def cache_key(
    base_url: str, api_key: str, identifier: str, password: str, account_id: str | None
) -> str:
    """The entry of one server, API key, login, password and requested account (a digest).

    ``account_id`` None stands for "no account asked for" (the login's preferred account).
    """
    parts = (base_url.rstrip("/"), api_key, identifier, password, account_id or "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class UnsafeCache(Exception):
    """The cache folder or file may be read or replaced by someone else."""


def _check_owner(info: os.stat_result, what: str, path: Path | str, private: bool) -> None:
    if not _POSIX:
        return
    if info.st_uid != os.geteuid():
        raise UnsafeCache(f"{what} {path} belongs to another user (uid {info.st_uid})")
    mode = stat.S_IMODE(info.st_mode)
    too_open = mode & (0o077 if private else 0o022)
    if too_open:
        access = "accessible" if private else "writable"
        raise UnsafeCache(f"{what} {path} is {access} by others (mode {mode:o})")


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

    # -- the file ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _folder(self, create: bool) -> Iterator[int | None]:
        """The cache folder, opened once and checked (its descriptor; None: use paths)."""
        folder = self.path.parent
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _DIRECTORY or os.open not in os.supports_dir_fd:  # pragma: no cover - not POSIX
            _check_owner(folder.stat(), "session cache folder", folder, private=False)
            yield None
            return
        descriptor = os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        try:
            _check_owner(os.fstat(descriptor), "session cache folder", folder, private=False)
            yield descriptor
        finally:
            os.close(descriptor)

    def _read(self) -> dict[str, Any]:
        try:
            with self._folder(create=False) as folder:
                name = self.path.name if folder is not None else str(self.path)
                descriptor = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=folder)
                with os.fdopen(descriptor, "rb") as handle:
                    info = os.fstat(handle.fileno())
                    if not stat.S_ISREG(info.st_mode):
                        raise UnsafeCache(f"session cache {self.path} is not a regular file")
                    _check_owner(info, "session cache", self.path, private=True)
                    data = json.loads(handle.read().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except UnsafeCache as exc:
            logger.warning("%s: not used", exc)
            return {}
        except OSError as exc:
            if _NOFOLLOW and exc.errno == errno.ELOOP:
                logger.warning("session cache %s is a symlink: not used", self.path)
            else:
                logger.debug(
                    "session cache %s unreadable (%s), ignored", self.path, type(exc).__name__
                )
            return {}
        except ValueError as exc:
            logger.debug("session cache %s unreadable (%s), ignored", self.path, type(exc).__name__)
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, Any]) -> None:
        temporary = f".{self.path.name}.{secrets.token_hex(8)}.tmp"
        data = json.dumps(entries).encode("utf-8")
        try:
            with self._folder(create=True) as folder:
                if folder is None:  # pragma: no cover - not POSIX
                    temporary = str(self.path.parent / temporary)
                try:
                    descriptor = os.open(
                        temporary,
                        os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                        0o600,
                        dir_fd=folder,
                    )
                    with os.fdopen(descriptor, "wb") as handle:
                        if _POSIX:
                            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
                        handle.write(data)
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.replace(
                        temporary,
                        self.path.name if folder is not None else str(self.path),
                        src_dir_fd=folder,
                        dst_dir_fd=folder,
                    )
                    if folder is not None:
                        os.fsync(folder)  # the rename itself survives a crash
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temporary, dir_fd=folder)
                    raise
        except UnsafeCache as exc:
            logger.warning("%s: no session kept", exc)
        except OSError as exc:
            logger.debug("session cache %s not written (%s)", self.path, type(exc).__name__)


class KeptSession:
    """One run's use of the cache: resume the kept session, then keep (or forget) it.

    The entry is bound to the exact credentials and to the account asked for; it is kept only
    while the session is still on that account (for no ``--account``: on the account the login
    landed on, the preferred one).
    """

    def __init__(self, cache: SessionCache, key: str, account_id: str | None) -> None:
        self.cache = cache
        self.key = key
        self.account_id = account_id
        self._resumed: SessionTokens | None = None

    @classmethod
    def for_client(
        cls,
        path: Path,
        client: Client,
        *,
        api_key: str,
        identifier: str,
        password: str,
        account_id: str | None,
    ) -> KeptSession:
        """The cache entry of these credentials and this requested account."""
        key = cache_key(client.base_url, api_key, identifier, password, account_id)
        return cls(SessionCache(path), key, account_id)

    def resume(self, client: Client) -> None:
        """Continue the kept session, if there is one (no request is made)."""
        kept = self.cache.load(self.key)
        if kept is None:
            return
        if self.account_id is not None and kept.account_id != self.account_id:
            return  # not written like that by this module; never trade on the wrong account
        self._resumed = kept
        client.resume_session(kept)

    def forget(self) -> None:
        """Drop the entry (the session failed: bad credentials, ended)."""
        self.cache.save(self.key, None)

    def keep(self, client: Client) -> None:
        """Keep the client's session if it is still on the account this entry is for."""
        session = client.export_session()
        if session is None:  # logged out, or a command that never needed a session
            if self._resumed is not None:
                self.forget()
            return
        wanted = self.account_id if self.account_id is not None else self._landed(client)
        if wanted is None or session.account_id != wanted:
            logger.debug("session moved to another account: not kept for the next run")
            self.forget()
            return
        self.cache.save(self.key, session)

    def _landed(self, client: Client) -> str | None:
        """The account a login without ``--account`` starts on (the preferred account)."""
        login = client._core.login_response  # set by a login of this run (also a re-login)
        if login is not None:
            return login.current_account_id
        return self._resumed.account_id if self._resumed is not None else None
