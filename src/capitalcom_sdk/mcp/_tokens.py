"""Preview tokens: single-use, short-lived, bound by HMAC to the exact order they preview.

A token is ``v1.<nonce>.<expiry>.<mac>``: the MAC (HMAC-SHA256 with a random key made when the
server starts, never stored or shown) covers the nonce, the expiry and the canonical JSON of the
order. Redeeming checks the MAC against the order the assistant asks to execute (an altered
order or token fails), the expiry, and that the nonce was issued here and not redeemed before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

DEFAULT_TTL = 60.0


class TokenRefused(Exception):
    """A preview token that cannot be used; the message says why (never shows the key)."""


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no spaces, floats as Python writes them: one byte string per order."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PreviewTokens:
    """Issues and redeems preview tokens (one instance per server process)."""

    def __init__(
        self, ttl: float = DEFAULT_TTL, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"preview ttl: expected seconds > 0, got {ttl!r}")
        self.ttl = ttl
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._issued: dict[str, float] = {}  # nonce -> expiry, until redeemed or expired

    def __repr__(self) -> str:
        return f"PreviewTokens(ttl={self.ttl})"

    def _mac(self, nonce: str, expiry_ms: int, order: dict[str, Any]) -> str:
        message = f"{nonce}.{expiry_ms}.".encode() + canonical_json(order)
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def issue(self, order: dict[str, Any]) -> tuple[str, float]:
        """A token for ``order`` and the seconds it stays valid."""
        nonce = _b64(secrets.token_bytes(16))
        expiry = self._clock() + self.ttl
        expiry_ms = int(expiry * 1000)
        with self._lock:
            self._prune()
            self._issued[nonce] = expiry
        return f"v1.{nonce}.{expiry_ms}.{self._mac(nonce, expiry_ms, order)}", self.ttl

    def redeem(self, token: str, order: dict[str, Any]) -> None:
        """Use ``token`` for ``order`` (once): raises :class:`TokenRefused` if it cannot be."""
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 4 or parts[0] != "v1" or not parts[2].isdigit():
            raise TokenRefused("not a preview token of this server; call the preview tool first")
        _, nonce, expiry_text, mac = parts
        expiry_ms = int(expiry_text)
        if not hmac.compare_digest(mac, self._mac(nonce, expiry_ms, order)):
            raise TokenRefused(
                "the token does not match this order (altered token or order changed since "
                "the preview); preview the order again"
            )
        with self._lock:
            self._prune()
            if nonce not in self._issued:
                raise TokenRefused(
                    "the token was already used or has expired; preview the order again"
                )
            if self._clock() * 1000 > expiry_ms:
                del self._issued[nonce]
                raise TokenRefused(f"the token expired ({self.ttl:g} s); preview the order again")
            del self._issued[nonce]  # single use: consumed before anything is sent

    def _prune(self) -> None:
        now = self._clock()
        for nonce in [n for n, expiry in self._issued.items() if expiry < now - 1.0]:
            del self._issued[nonce]
