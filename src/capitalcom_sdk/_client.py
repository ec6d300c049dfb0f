"""``Client`` and ``AsyncClient``: the HTTP clients and the core built, resources wired in,
context managers. What the constructors' arguments mean once checked is :mod:`._settings`'s.

Over 500 lines because it is the two public classes themselves: each has a documented property
per resource area (eleven), ``reconcile``, streams, waits and its lifecycle, and those
docstrings are the API reference; what they share is in ``_ClientBase``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from capitalcom_sdk._auth import SessionTokens
from capitalcom_sdk._clock import Clock, check_seconds, utc
from capitalcom_sdk._drivers import AsyncTransport, SyncTransport
from capitalcom_sdk._endpoints import RateClass
from capitalcom_sdk._network import Verify, async_mounts, ssl_context, sync_mounts
from capitalcom_sdk._retry import RetryPolicy
from capitalcom_sdk._settings import (
    DEFAULT_HEADERS,
    DEFAULT_LATE_APPLY_WINDOW,
    DEFAULT_LIMITS,
    DEFAULT_SKEW,
    DEFAULT_TIMEOUT,
    Environment,
    Settings,
    env_kwargs,
    network_settings,
    seconds_until,
)
from capitalcom_sdk._transport import DEFAULT_CONFIRM_TIMEOUT, _Core
from capitalcom_sdk.errors import ConfigurationError, OrderOutcomeUnknown

if TYPE_CHECKING:
    # streaming (websockets) is imported when a stream is opened, reconcile when it is used, a
    # resource namespace (and the models it returns) when the client's attribute is first read
    from capitalcom_sdk._reconcile import ReconcileResult
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
    from capitalcom_sdk.streaming import AsyncStream, Event, Stream
    from capitalcom_sdk.trading import Guard, PendingSettled, Safety


class _ClientBase:
    _core: _Core
    _env: str
    _base_url: str

    @property
    def env(self) -> str:
        """The environment the client was configured for: ``"demo"`` or ``"live"`` (read-only;
        it also picks the demo or live request limits)."""
        return self._env

    @property
    def base_url(self) -> str:
        """The server's URL the client talks to, without a trailing slash (read-only): the
        environment's official URL unless ``base_url=`` was given."""
        return self._base_url

    def _init_core(self, settings: Settings, http: httpx.Client | httpx.AsyncClient) -> None:
        self._env = settings.env
        self._base_url = settings.base_url
        self._core = _Core(
            settings.base_url,
            settings.credentials,
            settings.encrypted_password,
            http=http,
            rate_limiter=settings.limiter,
            retry=settings.retry,
            max_rate_wait=settings.max_rate_wait,
            confirm_timeout=settings.confirm_timeout,
            clock=settings.clock,
        )

    @property
    def clock(self) -> Clock:
        """The clock this client lives by: the wall clock, or in a backtest the simulator's
        (``clock="simulator"``, ``CAPITAL_CLOCK=simulator``). The rate limiter, retries'
        back-off and confirm polling wait on it too."""
        return self._core.clock

    def now(self) -> datetime:
        """The current time (aware, UTC) on the client's :attr:`clock`: the wall clock live, the
        simulator's in a backtest. Use it instead of ``datetime.now()`` so a bot runs unchanged
        in both."""
        return utc(self._core.clock.time())

    def request_delay(self) -> float:
        """Seconds until one more request would leave without waiting for the rate limit.

        0.0 when it could go now (or ``rate_limit=False``). A look, not a reservation: a
        request made afterwards still takes its own slot, and another client of the same API
        key may take this one first. For spreading work over several clients (the catalog
        gives a window to a client whose slot is free) or skipping a poll that would wait.
        """
        limiter = self._core.limiter
        if limiter is None:
            return 0.0
        return max(0.0, limiter.delay(RateClass.GENERAL, self._core.clock.monotonic()))

    def _check_can_stream(self) -> None:
        """A stream needs a session: credentials to log in with, or a resumed session's tokens.

        Without either, every connection attempt would fail to log in and be retried for ever.
        """
        if self._core.credentials is None and not self._core.tokens.present:
            raise ConfigurationError(
                "streaming needs a session: give api_key, identifier and password "
                "(or resume_session() first)"
            )

    def _init_safety(self, safety: Safety | None) -> None:
        if safety is not None:
            from capitalcom_sdk.trading import Guard

            self._core.guard = Guard(safety, live=self.env == "live", clock=self._core.clock)

    @property
    def guard(self) -> Guard | None:
        """The safety layer of this client (None unless ``safety=`` was given)."""
        return self._core.guard

    def _require_guard(self) -> Guard:
        guard = self._core.guard
        if guard is None:
            raise ConfigurationError("reconcile_pending() needs Client(safety=Safety(journal=...))")
        return guard

    def __repr__(self) -> str:
        creds = self._core.credentials
        who = creds.identifier if creds else None
        return f"{type(self).__name__}(base_url={self.base_url!r}, identifier={who!r})"

    def export_session(self) -> SessionTokens | None:
        """The current session's tokens and account (None before login or after logout).

        For carrying a session over to another client or process, as the CLI does between
        commands; see :meth:`resume_session`.
        """
        core = self._core
        cst, token = core.tokens.cst, core.tokens.security_token
        if cst is None or token is None:
            return None
        # The account the session is on; the chosen one when that is not known.
        account = core.session_account or core.account_id
        if account is None and core.login_response is not None:
            account = core.login_response.current_account_id
        return SessionTokens(cst, token, account)

    def resume_session(self, tokens: SessionTokens) -> None:
        """Use a session exported earlier instead of logging in.

        No request is made. If the session has ended meanwhile, the first call gets the
        server's "session expired" answer and the client logs in again as usual (when it has
        credentials), then returns to ``tokens.account_id``.
        """
        core = self._core
        core.tokens.update({"cst": tokens.cst, "x-security-token": tokens.security_token})
        if tokens.account_id is not None:
            core.account_id = core.session_account = tokens.account_id


class Client(_ClientBase):
    """Synchronous client of the Capital.com API.

    Args:
        api_key, identifier, password: the API key, the login and the API key's password.
        env: ``"demo"`` (default) or ``"live"``: the server, and whether the demo-only limits
            apply. With ``base_url`` it only selects the limits.
        base_url: another server, e.g. the local simulator ``http://127.0.0.1:8765``.
        encrypted_password: log in with the RSA-encrypted password.
        timeout: an ``httpx.Timeout`` or seconds (default 15 s, connect 5 s).
        transport: an httpx transport (tests, custom networking); environment proxies are
            then not read (as in httpx).
        proxy: a proxy URL for every request (``http://``, ``https://``; user and password
            in the URL are sent to the proxy). Without it, ``HTTP_PROXY`` / ``HTTPS_PROXY`` /
            ``ALL_PROXY`` and ``NO_PROXY`` apply (``trust_env``).
        verify: certificate checking: True (certifi, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``),
            False (none), the path of a CA bundle file or directory, or an ``ssl.SSLContext``.
        trust_env: read proxies and ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` from the environment.
        rate_limit: keep to the documented request limits on the client side (default on).
        max_retries: repeats of a failed safe request (default 3); see ``retry`` for more.
        retry: the full :class:`~capitalcom_sdk._retry.RetryPolicy` (instead of max_retries).
        confirm_timeout: how long trading calls wait for the deal confirmation (seconds).
        max_rate_wait: the longest the limiter may hold a request back before raising
            :class:`~capitalcom_sdk.errors.ClientRateLimitError` (seconds).
        limits: the connection pool (``httpx.Limits``); connections are kept alive.
        safety: the opt-in safety layer (:class:`~capitalcom_sdk.trading.Safety`): dealing-rule
            checks, a trading policy and an order journal around every order write.
        clock: ``"wall"`` (default), ``"simulator"`` (the simulator's clock at ``base_url``,
            moved by the client's waits: a backtest, docs/backtest.md) or a
            :class:`~capitalcom_sdk.Clock`. See :meth:`now`, :meth:`sleep`, :meth:`wait_until`.
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
        verify: Verify = True,
        trust_env: bool = True,
        rate_limit: bool = True,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        confirm_timeout: float = DEFAULT_CONFIRM_TIMEOUT,
        max_rate_wait: float = 60.0,
        limits: httpx.Limits = DEFAULT_LIMITS,
        safety: Safety | None = None,
        clock: Clock | str | None = None,
    ) -> None:
        settings = Settings.of(
            api_key=api_key,
            identifier=identifier,
            password=password,
            env=env,
            base_url=base_url,
            encrypted_password=encrypted_password,
            rate_limit=rate_limit,
            max_retries=max_retries,
            retry=retry,
            confirm_timeout=confirm_timeout,
            max_rate_wait=max_rate_wait,
            clock=clock,
        )
        network = network_settings(timeout, limits, proxy, verify, trust_env, transport)
        context = ssl_context(verify, trust_env=trust_env)
        self._http = httpx.Client(
            headers=DEFAULT_HEADERS,
            timeout=network.timeout,
            transport=transport
            or httpx.HTTPTransport(verify=context, limits=limits, trust_env=trust_env),
            mounts=sync_mounts(network, context),
            verify=context,
            trust_env=trust_env,
            limits=limits,
        )
        self._init_core(settings, self._http)
        self._init_safety(safety)
        self._transport = SyncTransport(self._core, self._http)

    @cached_property
    def general(self) -> General:
        """The server's time and a keep-alive ping (``General``; loaded on first use)."""
        from capitalcom_sdk.resources.general import General

        return General(self._transport)

    @cached_property
    def session(self) -> Session:
        """Session details, account switch, logout, encryption key (loaded on first use)."""
        from capitalcom_sdk.resources.session import Session

        return Session(self._transport)

    @cached_property
    def accounts(self) -> Accounts:
        """Accounts, preferences, demo top-up (``Accounts``; loaded on first use)."""
        from capitalcom_sdk.resources.accounts import Accounts

        return Accounts(self._transport)

    @cached_property
    def history(self) -> History:
        """Activity and transaction history (``History``; loaded on first use)."""
        from capitalcom_sdk.resources.history import History

        return History(self._transport)

    @cached_property
    def positions(self) -> Positions:
        """Open positions: list, open, amend, close (``Positions``; loaded on first use)."""
        from capitalcom_sdk.resources.positions import Positions

        return Positions(self._transport)

    @cached_property
    def orders(self) -> Orders:
        """Working orders: list, create, amend, cancel (``Orders``; loaded on first use)."""
        from capitalcom_sdk.resources.orders import Orders

        return Orders(self._transport)

    @cached_property
    def confirms(self) -> Confirms:
        """Deal confirmations (``Confirms``; loaded on first use)."""
        from capitalcom_sdk.resources.confirms import Confirms

        return Confirms(self._transport)

    @cached_property
    def markets(self) -> Markets:
        """Market navigation, search and details (``Markets``; loaded on first use)."""
        from capitalcom_sdk.resources.markets import Markets

        return Markets(self._transport)

    @cached_property
    def prices(self) -> Prices:
        """Historical prices (``Prices``; loaded on first use)."""
        from capitalcom_sdk.resources.prices import Prices

        return Prices(self._transport)

    @cached_property
    def sentiment(self) -> Sentiment:
        """Client sentiment (``Sentiment``; loaded on first use)."""
        from capitalcom_sdk.resources.sentiment import Sentiment

        return Sentiment(self._transport)

    @cached_property
    def watchlists(self) -> Watchlists:
        """Watchlists (``Watchlists``; loaded on first use)."""
        from capitalcom_sdk.resources.watchlists import Watchlists

        return Watchlists(self._transport)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Configure from CAPITAL_API_KEY, CAPITAL_IDENTIFIER, CAPITAL_PASSWORD, CAPITAL_ENV,
        CAPITAL_BASE_URL, CAPITAL_ENCRYPTED_PASSWORD (1/0) and CAPITAL_CLOCK (wall/simulator),
        read as the command line reads them; keyword arguments override."""
        return cls(**{**env_kwargs(os.environ if environ is None else environ), **overrides})

    def reconcile(
        self,
        exc: OrderOutcomeUnknown,
        *,
        clock_skew: float = DEFAULT_SKEW,
        late_apply_window: float = DEFAULT_LATE_APPLY_WINDOW,
        wait: bool = False,
    ) -> ReconcileResult:
        """Find out whether an order write whose outcome was unknown was applied.

        With a deal reference the confirmation settles it; otherwise a placement is looked for
        among open positions, working orders and recent activity (a deal matching what was
        sent, created after ``exc.sent_at`` less ``clock_skew`` seconds, not attributed to
        another order), and a close, amendment or cancel is settled by reading the deal back.
        NOT_PLACED comes only ``late_apply_window`` seconds after the client gave up; before,
        the verdict is AMBIGUOUS with ``check_after`` (``wait=True`` waits and checks again).
        Reads the account the write was sent on, or raises
        :class:`~capitalcom_sdk.errors.ReconcileAccountError`. See docs/client.md,
        "Retries and order safety".
        """
        from capitalcom_sdk._reconcile import reconcile_flow

        flow = reconcile_flow(
            exc,
            registry=self._core.deals,
            clock_skew=clock_skew,
            late_apply_window=late_apply_window,
            wait=wait,
            clock=self._core.clock.time,
        )
        return self._transport.run(flow)

    def reconcile_pending(
        self,
        *,
        clock_skew: float = DEFAULT_SKEW,
        late_apply_window: float = DEFAULT_LATE_APPLY_WINDOW,
        wait: bool = False,
    ) -> list[PendingSettled]:
        """Settle every order write the journal holds as pending (e.g. after a crash).

        Each is reconciled as :meth:`reconcile` does (its typed intent rebuilt from the
        journal; the last journal update counts as the moment the writer gave up). An entry
        whose verdict only waits for the late-apply window stays pending unless ``wait``.
        """
        guard = self._require_guard()
        flow = guard.reconcile_pending_flow(
            self._core, clock_skew=clock_skew, late_apply_window=late_apply_window, wait=wait
        )
        return self._transport.run(flow)

    def stream(self, *, on_event: Callable[[Event], Any] | None = None, **options: Any) -> Stream:
        """A WebSocket stream of quotes and OHLC bars: ``with client.stream() as stream:``.

        Keyword options are :class:`~capitalcom_sdk.streaming.StreamOptions` fields; see
        docs/streaming.md. ``on_event`` delivers events to a callback thread instead.
        """
        self._check_can_stream()
        from capitalcom_sdk.streaming import Stream, StreamOptions
        from capitalcom_sdk.streaming._sources import SyncTransportSession

        session = SyncTransportSession(self._transport)
        return Stream(session, StreamOptions(**options), on_event=on_event)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the client's :attr:`clock`: ``time.sleep`` live; in a backtest
        the simulator's clock moves on by ``seconds`` at once (everything due meanwhile, bars,
        stops, working orders, happens), so the same bot code runs in both.

        Raises:
            RequestValidationError: ``seconds`` is not a finite number >= 0.
        """
        self._core.clock.sleep(check_seconds(seconds))

    def wait_until(self, when: datetime) -> None:
        """Wait until ``when`` (an aware datetime) on the client's :attr:`clock`; returns at once
        when it has passed."""
        self._core.clock.sleep(seconds_until(self._core.clock, when))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
        close = getattr(self._core.clock, "close", None)
        if close is not None:
            close()

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
    awaitable. Arguments as for :class:`Client`.

    Requests go over aiohttp by default (an httpx transport, see docs/client.md): httpx's own
    async stack costs ~25% more per call. ``transport=httpx.AsyncHTTPTransport()`` selects
    httpx's; any other ``httpx.AsyncBaseTransport`` works too.
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
        transport: httpx.AsyncBaseTransport | None = None,
        proxy: str | None = None,
        verify: Verify = True,
        trust_env: bool = True,
        rate_limit: bool = True,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        confirm_timeout: float = DEFAULT_CONFIRM_TIMEOUT,
        max_rate_wait: float = 60.0,
        limits: httpx.Limits = DEFAULT_LIMITS,
        safety: Safety | None = None,
        clock: Clock | str | None = None,
    ) -> None:
        settings = Settings.of(
            api_key=api_key,
            identifier=identifier,
            password=password,
            env=env,
            base_url=base_url,
            encrypted_password=encrypted_password,
            rate_limit=rate_limit,
            max_retries=max_retries,
            retry=retry,
            confirm_timeout=confirm_timeout,
            max_rate_wait=max_rate_wait,
            clock=clock,
        )
        network = network_settings(timeout, limits, proxy, verify, trust_env, transport)
        context = ssl_context(verify, trust_env=trust_env)
        mounts = async_mounts(network, context)
        direct = None
        if transport is None:
            from capitalcom_sdk._aio import AiohttpTransport  # aiohttp loads with the first one

            transport = AiohttpTransport(limits, context)
            if not mounts:  # every request goes to it
                direct = transport
        self._http = httpx.AsyncClient(
            headers=DEFAULT_HEADERS,
            timeout=network.timeout,
            transport=transport,
            mounts=mounts,
            verify=context,
            trust_env=trust_env,
            limits=limits,
        )
        self._init_core(settings, self._http)
        self._init_safety(safety)
        self._transport = AsyncTransport(self._core, self._http, direct)

    @cached_property
    def general(self) -> AsyncGeneral:
        """The server's time and a keep-alive ping (``General``; loaded on first use)."""
        from capitalcom_sdk.resources.general import AsyncGeneral

        return AsyncGeneral(self._transport)

    @cached_property
    def session(self) -> AsyncSession:
        """Session details, account switch, logout, encryption key (loaded on first use)."""
        from capitalcom_sdk.resources.session import AsyncSession

        return AsyncSession(self._transport)

    @cached_property
    def accounts(self) -> AsyncAccounts:
        """Accounts, preferences, demo top-up (``Accounts``; loaded on first use)."""
        from capitalcom_sdk.resources.accounts import AsyncAccounts

        return AsyncAccounts(self._transport)

    @cached_property
    def history(self) -> AsyncHistory:
        """Activity and transaction history (``History``; loaded on first use)."""
        from capitalcom_sdk.resources.history import AsyncHistory

        return AsyncHistory(self._transport)

    @cached_property
    def positions(self) -> AsyncPositions:
        """Open positions: list, open, amend, close (``Positions``; loaded on first use)."""
        from capitalcom_sdk.resources.positions import AsyncPositions

        return AsyncPositions(self._transport)

    @cached_property
    def orders(self) -> AsyncOrders:
        """Working orders: list, create, amend, cancel (``Orders``; loaded on first use)."""
        from capitalcom_sdk.resources.orders import AsyncOrders

        return AsyncOrders(self._transport)

    @cached_property
    def confirms(self) -> AsyncConfirms:
        """Deal confirmations (``Confirms``; loaded on first use)."""
        from capitalcom_sdk.resources.confirms import AsyncConfirms

        return AsyncConfirms(self._transport)

    @cached_property
    def markets(self) -> AsyncMarkets:
        """Market navigation, search and details (``Markets``; loaded on first use)."""
        from capitalcom_sdk.resources.markets import AsyncMarkets

        return AsyncMarkets(self._transport)

    @cached_property
    def prices(self) -> AsyncPrices:
        """Historical prices (``Prices``; loaded on first use)."""
        from capitalcom_sdk.resources.prices import AsyncPrices

        return AsyncPrices(self._transport)

    @cached_property
    def sentiment(self) -> AsyncSentiment:
        """Client sentiment (``Sentiment``; loaded on first use)."""
        from capitalcom_sdk.resources.sentiment import AsyncSentiment

        return AsyncSentiment(self._transport)

    @cached_property
    def watchlists(self) -> AsyncWatchlists:
        """Watchlists (``Watchlists``; loaded on first use)."""
        from capitalcom_sdk.resources.watchlists import AsyncWatchlists

        return AsyncWatchlists(self._transport)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Configure from the CAPITAL_* environment variables (see :meth:`Client.from_env`)."""
        return cls(**{**env_kwargs(os.environ if environ is None else environ), **overrides})

    async def reconcile(
        self,
        exc: OrderOutcomeUnknown,
        *,
        clock_skew: float = DEFAULT_SKEW,
        late_apply_window: float = DEFAULT_LATE_APPLY_WINDOW,
        wait: bool = False,
    ) -> ReconcileResult:
        """Find out whether an order write whose outcome was unknown was applied (see
        :meth:`Client.reconcile`)."""
        from capitalcom_sdk._reconcile import reconcile_flow

        flow = reconcile_flow(
            exc,
            registry=self._core.deals,
            clock_skew=clock_skew,
            late_apply_window=late_apply_window,
            wait=wait,
            clock=self._core.clock.time,
        )
        return await self._transport.run(flow)

    async def reconcile_pending(
        self,
        *,
        clock_skew: float = DEFAULT_SKEW,
        late_apply_window: float = DEFAULT_LATE_APPLY_WINDOW,
        wait: bool = False,
    ) -> list[PendingSettled]:
        """Settle every order write the journal holds as pending (see
        :meth:`Client.reconcile_pending`)."""
        guard = self._require_guard()
        flow = guard.reconcile_pending_flow(
            self._core, clock_skew=clock_skew, late_apply_window=late_apply_window, wait=wait
        )
        return await self._transport.run(flow)

    def stream(self, **options: Any) -> AsyncStream:
        """A WebSocket stream of quotes and OHLC bars: ``async with client.stream() as s:``.

        Keyword options are :class:`~capitalcom_sdk.streaming.StreamOptions` fields.
        """
        self._check_can_stream()
        from capitalcom_sdk.streaming import AsyncStream, StreamOptions
        from capitalcom_sdk.streaming._sources import AsyncTransportSession

        return AsyncStream(AsyncTransportSession(self._transport), StreamOptions(**options))

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the client's :attr:`clock` (see :meth:`Client.sleep`)."""
        await self._core.clock.asleep(check_seconds(seconds))

    async def wait_until(self, when: datetime) -> None:
        """Wait until ``when`` (an aware datetime) on the client's :attr:`clock`."""
        await self._core.clock.asleep(seconds_until(self._core.clock, when))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
        aclose = getattr(self._core.clock, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
