"""What a client is configured with, checked once before anything is sent.

The clients' defaults (timeouts, pool limits, headers, reconcile's tolerances), the environment
variables' reading (``from_env``) and :class:`Settings`, the checked result of a constructor's
arguments. :mod:`capitalcom_sdk._client` builds the HTTP clients and the core from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx

from capitalcom_sdk._auth import Credentials
from capitalcom_sdk._clock import Clock, WallClock, resolve_clock
from capitalcom_sdk._environment import BASE_URLS, check_env, normalise_base_url, read_environ
from capitalcom_sdk._network import NetworkSettings, Verify
from capitalcom_sdk._ratelimit import RateLimiter
from capitalcom_sdk._retry import RetryPolicy
from capitalcom_sdk.errors import ConfigurationError

# reconcile()'s defaults, here (not in _reconcile, which loads on first use) for the clients'
# signatures; _reconcile and the safety layer's pending settlement read them from here.
DEFAULT_SKEW = 1.0
"""Seconds a deal may appear to predate the request (clock offset drift, rounding)."""
DEFAULT_LATE_APPLY_WINDOW = 30.0
"""Seconds after the client gave up during which a write may still be applied (a slow proxy,
a server queue): NOT_PLACED is not answered before they passed."""

Environment = Literal["demo", "live"]

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)
DEFAULT_HEADERS = {"Accept": "application/json", "User-Agent": "capitalcom-sdk"}


def _resolve_base_url(env: str, base_url: str | None) -> str:
    """The server's URL; ``env`` is checked here, once (it also picks the limits)."""
    checked = check_env(env)
    return normalise_base_url(base_url) if base_url else BASE_URLS[checked]


def _credentials(
    api_key: str | None, identifier: str | None, password: str | None
) -> Credentials | None:
    given = [v is not None for v in (api_key, identifier, password)]
    if not any(given):
        return None
    if not all(given):
        raise ConfigurationError("api_key, identifier and password must be given together")
    return Credentials(str(api_key), str(identifier), str(password))


def network_settings(
    timeout: httpx.Timeout | float,
    limits: httpx.Limits,
    proxy: str | None,
    verify: Verify,
    trust_env: bool,
    transport: object | None,
) -> NetworkSettings:
    return NetworkSettings(
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        limits=limits,
        proxy=proxy,
        verify=verify,
        trust_env=trust_env,
        custom_transport=transport is not None,
    )


def env_kwargs(environ: Mapping[str, str]) -> dict[str, Any]:
    return read_environ(environ).client_kwargs()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a client is configured with besides the HTTP client, checked once."""

    credentials: Credentials | None
    env: str
    base_url: str
    encrypted_password: bool
    limiter: RateLimiter | None
    retry: RetryPolicy
    confirm_timeout: float
    max_rate_wait: float
    clock: Clock

    @classmethod
    def of(
        cls,
        *,
        api_key: str | None,
        identifier: str | None,
        password: str | None,
        env: str,
        base_url: str | None,
        encrypted_password: bool,
        rate_limit: bool,
        max_retries: int | None,
        retry: RetryPolicy | None,
        confirm_timeout: float,
        max_rate_wait: float,
        clock: Clock | str | None,
    ) -> Settings:
        """Check the constructor's arguments (nothing is sent; errors name the argument)."""
        resolved = _resolve_base_url(env, base_url)
        credentials = _credentials(api_key, identifier, password)
        if retry is None:
            retry = RetryPolicy() if max_retries is None else RetryPolicy(max_retries=max_retries)
        elif max_retries is not None:
            raise ConfigurationError("give either max_retries or retry, not both")
        chosen_clock = resolve_clock(clock, resolved)
        limiter = None
        if rate_limit:
            # The limits are shared by the API key's clients of this server in this process (the
            # server counts per user and key, not per client), on the wall clock; a client on
            # another clock (a backtest's) keeps its own.
            shared = credentials is not None and isinstance(chosen_clock, WallClock)
            limiter = RateLimiter(
                credentials.api_key if shared and credentials else None,
                demo=env == "demo",
                server=resolved,
            )
        return cls(
            credentials=credentials,
            env=env,
            base_url=resolved,
            encrypted_password=encrypted_password,
            limiter=limiter,
            retry=retry,
            confirm_timeout=confirm_timeout,
            max_rate_wait=max_rate_wait,
            clock=chosen_clock,
        )


def seconds_until(clock: Clock, when: datetime) -> float:
    if not isinstance(when, datetime) or when.tzinfo is None:
        from capitalcom_sdk.errors import RequestValidationError

        raise RequestValidationError("when", "expected an aware datetime (with a time zone)")
    return max(0.0, when.timestamp() - clock.time())
