"""``Client`` and ``AsyncClient``: configuration, resources wired in, context managers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from capitalcom_sdk._auth import Credentials
from capitalcom_sdk._transport import AsyncTransport, SyncTransport, _Core
from capitalcom_sdk.errors import ConfigurationError
from capitalcom_sdk.resources.accounts import Accounts, AsyncAccounts
from capitalcom_sdk.resources.confirms import AsyncConfirms, Confirms
from capitalcom_sdk.resources.general import AsyncGeneral, General
from capitalcom_sdk.resources.history import AsyncHistory, History
from capitalcom_sdk.resources.markets import AsyncMarkets, Markets
from capitalcom_sdk.resources.orders import AsyncOrders, Orders
from capitalcom_sdk.resources.positions import AsyncPositions, Positions
from capitalcom_sdk.resources.prices import AsyncPrices, Prices
from capitalcom_sdk.resources.sentiment import AsyncSentiment, Sentiment
from capitalcom_sdk.resources.session import AsyncSession, Session
from capitalcom_sdk.resources.watchlists import AsyncWatchlists, Watchlists

Environment = Literal["demo", "live"]

BASE_URLS: Mapping[str, str] = {
    "demo": "https://demo-api-capital.backend-capital.com",
    "live": "https://api-capital.backend-capital.com",
}
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def _resolve_base_url(env: str, base_url: str | None) -> str:
    if base_url:
        return base_url.rstrip("/").removesuffix("/api/v1")
    if env not in BASE_URLS:
        raise ConfigurationError(f"env must be 'demo' or 'live', got {env!r}")
    return BASE_URLS[env]


def _credentials(
    api_key: str | None, identifier: str | None, password: str | None
) -> Credentials | None:
    given = [v is not None for v in (api_key, identifier, password)]
    if not any(given):
        return None
    if not all(given):
        raise ConfigurationError("api_key, identifier and password must be given together")
    return Credentials(str(api_key), str(identifier), str(password))


def _env_kwargs(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        "api_key": environ.get("CAPITAL_API_KEY"),
        "identifier": environ.get("CAPITAL_IDENTIFIER"),
        "password": environ.get("CAPITAL_PASSWORD"),
        "env": environ.get("CAPITAL_ENV", "demo"),
        "base_url": environ.get("CAPITAL_BASE_URL") or None,
    }


class _ClientBase:
    _core: _Core

    def _init_core(
        self,
        api_key: str | None,
        identifier: str | None,
        password: str | None,
        env: str,
        base_url: str | None,
        encrypted_password: bool,
    ) -> None:
        self.env = env
        self.base_url = _resolve_base_url(env, base_url)
        self._core = _Core(
            self.base_url, _credentials(api_key, identifier, password), encrypted_password
        )

    def __repr__(self) -> str:
        creds = self._core.credentials
        who = creds.identifier if creds else None
        return f"{type(self).__name__}(base_url={self.base_url!r}, identifier={who!r})"


class Client(_ClientBase):
    """Synchronous client of the Capital.com API.

    Args:
        api_key, identifier, password: the API key, the login and the API key's password.
        env: ``"demo"`` (default) or ``"live"``; ignored when ``base_url`` is given.
        base_url: another server, e.g. the local simulator ``http://127.0.0.1:8765``.
        encrypted_password: log in with the RSA-encrypted password.
        timeout: an ``httpx.Timeout`` or seconds.
        transport: an httpx transport (tests, proxies).
        proxy: a proxy URL.
    """

    def __init__(
        self,
        api_key: str | None = None,
        identifier: str | None = None,
        password: str | None = None,
        *,
        env: Environment | str = "demo",
        base_url: str | None = None,
        encrypted_password: bool = False,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        proxy: str | None = None,
    ) -> None:
        self._init_core(api_key, identifier, password, env, base_url, encrypted_password)
        self._http = httpx.Client(timeout=timeout, transport=transport, proxy=proxy)
        self._transport = SyncTransport(self._core, self._http)
        self.general = General(self._transport)
        self.session = Session(self._transport)
        self.accounts = Accounts(self._transport)
        self.history = History(self._transport)
        self.positions = Positions(self._transport)
        self.orders = Orders(self._transport)
        self.confirms = Confirms(self._transport)
        self.markets = Markets(self._transport)
        self.prices = Prices(self._transport)
        self.sentiment = Sentiment(self._transport)
        self.watchlists = Watchlists(self._transport)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Configure from CAPITAL_API_KEY, CAPITAL_IDENTIFIER, CAPITAL_PASSWORD, CAPITAL_ENV,
        CAPITAL_BASE_URL; keyword arguments override."""
        return cls(**{**_env_kwargs(os.environ if environ is None else environ), **overrides})

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """Asynchronous client of the Capital.com API; the same namespaces as :class:`Client`,
    awaitable. Arguments as for :class:`Client`."""

    def __init__(
        self,
        api_key: str | None = None,
        identifier: str | None = None,
        password: str | None = None,
        *,
        env: Environment | str = "demo",
        base_url: str | None = None,
        encrypted_password: bool = False,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        proxy: str | None = None,
    ) -> None:
        self._init_core(api_key, identifier, password, env, base_url, encrypted_password)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, proxy=proxy)
        self._transport = AsyncTransport(self._core, self._http)
        self.general = AsyncGeneral(self._transport)
        self.session = AsyncSession(self._transport)
        self.accounts = AsyncAccounts(self._transport)
        self.history = AsyncHistory(self._transport)
        self.positions = AsyncPositions(self._transport)
        self.orders = AsyncOrders(self._transport)
        self.confirms = AsyncConfirms(self._transport)
        self.markets = AsyncMarkets(self._transport)
        self.prices = AsyncPrices(self._transport)
        self.sentiment = AsyncSentiment(self._transport)
        self.watchlists = AsyncWatchlists(self._transport)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Configure from the CAPITAL_* environment variables (see :meth:`Client.from_env`)."""
        return cls(**{**_env_kwargs(os.environ if environ is None else environ), **overrides})

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
