"""Logging with secrets redacted where messages are formatted."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

logger = logging.getLogger("capitalcom_sdk")

REDACTED = "***"
SECRET_HEADERS = frozenset({"x-cap-api-key", "cst", "x-security-token"})
_MIN_SECRET_LEN = 4


class SecretRegistry:
    """The secret values known to this process; :class:`RedactingFilter` masks them.

    Clients register their API key, password and session tokens here, so even a message that
    formats a header dict or an exception by mistake cannot leak them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # value -> how many holders registered it; a value leaves when its last holder lets go,
        # so replaced session tokens do not pile up over months of re-logins.
        self._secrets: dict[str, int] = {}

    def add(self, *values: str | None) -> None:
        """Register secrets (counted: each add is matched by one :meth:`discard`)."""
        with self._lock:
            for value in values:
                if value and len(value) >= _MIN_SECRET_LEN:
                    self._secrets[value] = self._secrets.get(value, 0) + 1

    def discard(self, *values: str | None) -> None:
        """Let go of secrets registered with :meth:`add` (e.g. replaced session tokens)."""
        with self._lock:
            for value in values:
                count = self._secrets.get(value or "", 0)
                if count > 1:
                    self._secrets[value or ""] = count - 1
                elif count == 1:
                    del self._secrets[value or ""]

    def replace(self, old: Iterable[str | None], new: Iterable[str | None]) -> None:
        """Register ``new`` and let go of ``old`` (new first, so a value in both stays)."""
        self.add(*new)
        self.discard(*old)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


registry = SecretRegistry()

# A secret header next to its value, as header tuples (httpcore), dict reprs or "Name: value"
# lines show it. Tokens arrive in a response before anyone could register them, so they are
# also masked by the header name.
_SECRET_HEADER_VALUE = re.compile(
    r"""(?ix)
    ( b?['"](?:cst|x-security-token|x-cap-api-key)['"] \s* [,:] \s* b?['"] )  # ('cst', b'
    [^'"]+
    |
    ( \b(?:cst|x-security-token|x-cap-api-key) \s* [:=] \s* )            # CST: value
    [^\s,;'"]+
    """
)


def _mask_headers(text: str) -> str:
    return _SECRET_HEADER_VALUE.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Replaces registered secrets in a record's formatted message (and drops its args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _mask_headers(registry.redact(message))
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        return True


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of headers fit for logs: secret header values replaced."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers}


_FILTER = RedactingFilter()

# httpcore logs raw response headers (CST, X-SECURITY-TOKEN) at DEBUG; those loggers get the
# same filter so turning on DEBUG everywhere never prints a token.
THIRD_PARTY_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "aiohttp.client",  # the AsyncClient's wire (_aio.py); it logs no headers today
    "aiohttp.internal",
)


def get_logger(name: str) -> logging.Logger:
    """A logger of the SDK (``capitalcom_sdk.*``) with the redacting filter attached.

    Logger filters do not propagate to child loggers, so every module logger needs its own.
    """
    named = logging.getLogger(name)
    if _FILTER not in named.filters:
        named.addFilter(_FILTER)
    return named


for _name in ("capitalcom_sdk", *THIRD_PARTY_LOGGERS):
    get_logger(_name)
