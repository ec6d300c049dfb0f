"""Where the API is and what the ``CAPITAL_*`` environment says: read once, for the client and
the command line alike.

Cheap to import (no httpx, no models): the command line reads its settings before it knows
whether it will make a request at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from capitalcom_sdk.errors import ConfigurationError

BASE_URLS: Mapping[str, str] = {
    "demo": "https://demo-api-capital.backend-capital.com",
    "live": "https://api-capital.backend-capital.com",
}
"""The two servers of the API, by environment name."""

ENV_VARS = (
    "CAPITAL_API_KEY",
    "CAPITAL_IDENTIFIER",
    "CAPITAL_PASSWORD",
    "CAPITAL_ENV",
    "CAPITAL_BASE_URL",
    "CAPITAL_ACCOUNT_ID",
    "CAPITAL_ENCRYPTED_PASSWORD",
    "CAPITAL_CLOCK",
)
"""Every variable :func:`read_environ` reads (docs/client.md, docs/cli.md)."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def normalise_base_url(base_url: str) -> str:
    """A server's base URL without a trailing slash or ``/api/v1`` (both are accepted)."""
    return base_url.rstrip("/").removesuffix("/api/v1")


def check_env(env: str) -> str:
    """``env`` when it is ``demo`` or ``live``, else :class:`ConfigurationError`."""
    if env not in BASE_URLS:
        raise ConfigurationError(f"env must be 'demo' or 'live', got {env!r}")
    return env


def resolve_base_url(env: str, base_url: str | None) -> str:
    """The base URL to talk to: ``base_url`` when given, else the ``env`` server's."""
    if base_url:
        return normalise_base_url(base_url)
    return BASE_URLS[check_env(env)]


def is_live(env: str, base_url: str | None) -> bool:
    """Whether these settings reach the live server (real money)."""
    return resolve_base_url(env, base_url) == BASE_URLS["live"]


@dataclass(frozen=True)
class EnvSettings:
    """The ``CAPITAL_*`` settings; secrets never appear in the repr."""

    api_key: str | None = field(default=None, repr=False)
    identifier: str | None = None
    password: str | None = field(default=None, repr=False)
    env: str = "demo"
    base_url: str | None = None
    account_id: str | None = None
    encrypted_password: bool = False
    clock: str = "wall"

    def client_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``Client(...)`` these settings give."""
        return {
            "api_key": self.api_key,
            "identifier": self.identifier,
            "password": self.password,
            "env": self.env,
            "base_url": self.base_url,
            "encrypted_password": self.encrypted_password,
            "clock": self.clock,
        }


def _flag(environ: Mapping[str, str], name: str) -> bool:
    text = environ.get(name, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be 1/true/yes or 0/false/no, got {text!r}")


def read_environ(environ: Mapping[str, str]) -> EnvSettings:
    """Parse the ``CAPITAL_*`` variables of ``environ`` (empty values count as unset).

    Raises:
        ConfigurationError: ``CAPITAL_ENV`` is not demo/live, or a flag is not a boolean.
    """

    def text(name: str) -> str | None:
        return environ.get(name) or None

    return EnvSettings(
        api_key=text("CAPITAL_API_KEY"),
        identifier=text("CAPITAL_IDENTIFIER"),
        password=text("CAPITAL_PASSWORD"),
        env=check_env((text("CAPITAL_ENV") or "demo").lower()),
        base_url=text("CAPITAL_BASE_URL"),
        account_id=text("CAPITAL_ACCOUNT_ID"),
        encrypted_password=_flag(environ, "CAPITAL_ENCRYPTED_PASSWORD"),
        clock=_clock_name(text("CAPITAL_CLOCK")),
    )


def _clock_name(text: str | None) -> str:
    name = (text or "wall").strip().lower()
    if name not in ("wall", "simulator"):
        raise ConfigurationError(f"CAPITAL_CLOCK must be 'wall' or 'simulator', got {text!r}")
    return name
