"""The one place that decides how a declared request is sent.

The actions are declared in :mod:`capitalcom_sdk._flow`; the two drivers that carry them out
(``SyncTransport`` and ``AsyncTransport``) live in :mod:`capitalcom_sdk._drivers`. Everything
that decides lives in :class:`_Core` and is written once: building the request, the rate-limit
reservation, token adoption, re-login on session expiry, retries with backoff, order safety and
parsing. It is expressed as *procedures*: generators that yield primitive actions

* :class:`Send` (an ``httpx.Request``; the transport sends back the ``httpx.Response`` or throws
  the ``httpx.TransportError`` in),
* :class:`Sleep` (seconds to wait),
* :class:`Relogin` (the token generation seen failing; the transport logs in again unless
  somebody already did: :class:`~capitalcom_sdk._auth.LoginGate` decides, the transport only
  holds its lock around the decision and the login)

that :class:`SyncTransport` and :class:`AsyncTransport` drive with their own I/O. The transports
contain no decisions. What an endpoint is (login, session-changing, order write, safe to repeat,
rate class, body model) is read from its declaration in :mod:`capitalcom_sdk._endpoints`.

Multi-step operations (login, waiting for a deal confirmation, reconcile) are *flows*:
generators that yield :class:`~capitalcom_sdk._endpoints.ApiCall` or :class:`Sleep` and receive
each call's parsed result (or have its :class:`~capitalcom_sdk.errors.CapitalError` thrown in).
``transport.run(flow)`` executes every call of a flow through the same procedure. A flow that
knows its next call in advance (the price pager) may announce it with :class:`Prefetch`: the
async transport then runs that call's procedure as a task of its own (:class:`Start`, later
:class:`Join`), so its request is in flight while the current answer is parsed; the sync
transport runs it when the flow asks for it, as if it had not been announced.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import ValidationError

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._auth import Credentials, LoginGate, TokenStore, login_flow
from capitalcom_sdk._clock import Clock, WallClock
from capitalcom_sdk._endpoints import ApiCall, RateClass, SessionEffect
from capitalcom_sdk._flow import (
    Flow,
    Join,
    OrderWrite,
    Prefetch,
    Procedure,
    Relogin,
    Send,
    SentWrite,
    Sleep,
    Start,
)
from capitalcom_sdk._intent import DealRegistry, OrderIntent
from capitalcom_sdk._logging import logger
from capitalcom_sdk._ratelimit import RateLimiter
from capitalcom_sdk._retry import Decision, RetryPolicy, decide, was_sent
from capitalcom_sdk.errors import (
    APIError,
    CapitalError,
    ClientRateLimitError,
    ConfigurationError,
    NetworkError,
    OrderOutcomeUnknown,
    RequestTimeoutError,
    SessionExpiredError,
    UnexpectedResponseError,
    error_from_response,
)
from capitalcom_sdk.models.general import DealReference, StatusResponse
from capitalcom_sdk.models.requests import SwitchAccountRequest
from capitalcom_sdk.models.session import LoginResponse

DEFAULT_CONFIRM_TIMEOUT = 15.0
"""Seconds a trading call waits for its deal confirmation: the default of the client option
``confirm_timeout`` (its one definition; the clients and the confirm flow read it from here)."""

if TYPE_CHECKING:
    from capitalcom_sdk.trading.guard import Guard

T = TypeVar("T")

__all__ = ["DEFAULT_CONFIRM_TIMEOUT", "MAX_RELOGINS_PER_CALL"]

_DEBUG = logging.DEBUG
_NO_HEADERS: dict[str, str] = {}
_ALREADY_ACTIVE = "error.not-different.accountId"
MAX_RELOGINS_PER_CALL = 3
"""How often one call may log in again after its session was rejected. Each re-login is a
successful login (a failed one raises): a session can end twice while a call waits behind the
limiter; a server that rejects every fresh session still ends the call."""


def _network_error(exc: httpx.RequestError, sent: bool) -> NetworkError:
    try:
        url = exc.request.url
        port = f":{url.port}" if url.port else ""
        where = f" to {url.scheme}://{url.host}{port}{url.path}"  # no user info, no query
    except RuntimeError:  # an exception raised without its request
        where = ""
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(f"request{where} timed out ({type(exc).__name__})", sent=sent)
    return NetworkError(f"connection{where} failed ({type(exc).__name__})", sent=sent)


def _api_error_body(response: httpx.Response) -> dict[str, Any] | None:
    """The body of an error answer when it is the API's own (a JSON object with an errorCode)."""
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("errorCode"), str) and body["errorCode"]:
        return body
    return None


def _sent_path(call: ApiCall[Any], response: httpx.Response) -> str:
    """The path the request went to, as sent (the URL library's, not the template's)."""
    try:
        raw = response.request.url.raw_path
    except RuntimeError:  # a response built without a request (unit tests)
        return call.path
    return raw.split(b"?", 1)[0].decode("ascii", "replace")


def _log_retry(call: ApiCall[Any], delay: float, error: CapitalError) -> None:
    if logger.isEnabledFor(_DEBUG):
        logger.debug("%s: %s; retrying in %.3f s", call.endpoint.name, error, delay)


class _Core:
    """What both transports share: configuration, tokens, limiter and every decision."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None,
        encrypted: bool = False,
        *,
        http: httpx.Client | httpx.AsyncClient,
        rate_limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        max_rate_wait: float = 60.0,
        confirm_timeout: float = DEFAULT_CONFIRM_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # What time it is and how to wait: the wall clock, or a backtest's simulator clock.
        self.clock: Clock = clock or WallClock()
        self.credentials = credentials
        self.encrypted = encrypted
        self.tokens = TokenStore()
        self.gate = LoginGate(self.tokens)
        # The HTTP client whose defaults (timeouts, headers) requests are built with.
        self._http = http
        self.limiter = rate_limiter
        self.retry = retry or RetryPolicy()
        self.max_rate_wait = max_rate_wait
        self.confirm_timeout = confirm_timeout
        self.login_response: LoginResponse | None = None
        # The account the user chose with switch_account(); restored after a re-login.
        self.account_id: str | None = None
        # The account the current session is on (None: not known, e.g. after a failed switch).
        # An order write is sent only when it is account_id (or no account was chosen).
        self.session_account: str | None = None
        self.login_count = 0
        # Which deal belongs to which order write (reconcile never gives another's deal).
        self.deals = DealRegistry()
        # The safety layer (capitalcom_sdk.trading) every order write goes through, when on.
        self.guard: Guard | None = None
        self._key_headers = {"X-CAP-API-KEY": credentials.api_key} if credentials else {}

    def __repr__(self) -> str:
        who = self.credentials.identifier if self.credentials else None
        return f"_Core(base_url={self.base_url!r}, identifier={who!r}, tokens={self.tokens!r})"

    # -- building and parsing (pure) ---------------------------------------------------------
    def build(self, http: httpx.Client | httpx.AsyncClient, call: ApiCall[Any]) -> httpx.Request:
        """The ``httpx.Request`` of a call, with the current tokens (or the API key)."""
        endpoint = call.endpoint
        if endpoint.auth:
            headers = self.tokens.headers()
        elif endpoint.login:
            headers = self._key_headers  # only login and its encryption key need the API key
        else:
            headers = _NO_HEADERS  # GET /time: anonymous, so it counts against no user's limit
        content = None
        if call.body is not None:
            headers = {**headers, "Content-Type": "application/json"}
            content = json.dumps(call.body, separators=(",", ":")).encode()
        return http.build_request(
            endpoint.method,
            self.base_url + call.path,
            params=call.params or None,
            headers=headers,
            content=content,
        )

    @staticmethod
    def error(call: ApiCall[Any], response: httpx.Response) -> APIError:
        try:
            body = json.loads(response.content) if response.content else None
        except ValueError:
            body = None
        endpoint = call.endpoint
        return error_from_response(
            response.status_code, body, method=endpoint.method, path=_sent_path(call, response)
        )

    @staticmethod
    def parse(call: ApiCall[T], response: httpx.Response) -> T:
        """The body of a successful answer as the declared model (an empty body allowed)."""
        model: Any = call.endpoint.response
        if model is None:
            return None  # type: ignore[return-value]
        content = response.content
        try:
            if not content:
                if model is StatusResponse:
                    return None  # type: ignore[return-value]  # e.g. logout's empty 200
                # An empty answer is not "nothing there" (an empty position list would be
                # "{"positions": []}"): a proxy or a cut-off answer. Never read it as data.
                raise UnexpectedResponseError(
                    call.endpoint.name, response.status_code, "empty body"
                )
            return model.model_validate_json(content)  # type: ignore[no-any-return]
        except ValidationError as exc:
            detail = f"{exc.error_count()} validation error(s), first: {exc.errors()[0]['msg']}"
            raise UnexpectedResponseError(
                call.endpoint.name, response.status_code, detail
            ) from None

    # -- procedures (the decision logic, written once) ---------------------------------------
    def procedure(self, call: ApiCall[T], *, relogin: bool = True) -> Procedure[T]:
        """Execute one call: session, limits, send, token adoption, re-login, retries, parsing."""
        result, _ = yield from self._attempts(call, relogin)
        return result

    def order_procedure(self, write: OrderWrite, *, relogin: bool = True) -> Procedure[SentWrite]:
        """Execute an order write; its answer comes with the intent recorded when it was sent."""
        reference, intent = yield from self._attempts(write.call, relogin)
        assert intent is not None
        return SentWrite(reference, intent)

    def active_account(self) -> str | None:
        """The account the session is on, as far as the client knows."""
        if self.account_id is not None:
            return self.account_id
        response = self.login_response
        return response.current_account_id if response is not None else None

    def _attempts(self, call: ApiCall[T], relogin: bool) -> Procedure[tuple[T, OrderIntent | None]]:
        endpoint = call.endpoint
        auth = endpoint.auth
        order_write = endpoint.order_write
        limiter = self.limiter if endpoint.rate is not RateClass.NONE else None
        attempt = 0
        retries = 0  # repeats the retry policy allowed (a re-login's repeat is not one of them)
        waited = 0.0
        relogins = 0
        intent: OrderIntent | None = None
        while True:
            if auth and not self.tokens.present:
                if not relogin or self.credentials is None:
                    raise ConfigurationError(
                        f"{endpoint.name} needs a session: configure api_key, identifier and"
                        " password"
                    )
                yield Relogin(self.tokens.generation)
                continue
            if endpoint.order_write and not self.on_chosen_account:
                # Never on another account than the chosen one: switch first, or fail here,
                # before anything of the order was sent.
                yield from self.switch_back_procedure()
                continue
            ticket = None
            if limiter is not None:
                ticket = limiter.acquire(endpoint.rate, self.clock.monotonic(), self.max_rate_wait)
                if ticket is not None:
                    if not ticket.booked:
                        raise ClientRateLimitError(endpoint.name, ticket.wait)
                    wait = ticket.wait
                    while wait > 0.0:
                        yield Sleep(wait)
                        wait = limiter.confirm(ticket, self.clock.monotonic())
            generation = self.tokens.generation
            request = self.build(self._http, call)
            attempt += 1
            if order_write:
                intent = OrderIntent(
                    endpoint,
                    call.path,
                    dict(call.body or {}),
                    self.active_account(),
                    self.clock.time(),
                    call.path_params.get("dealId"),
                )
            started = time.perf_counter()
            try:
                response: httpx.Response = yield Send(request)
            except httpx.RequestError as exc:
                if ticket is not None:
                    limiter.release(ticket, self.clock.monotonic())  # type: ignore[union-attr]
                # DecodingError, TooManyRedirects: an answer came, so the request was sent.
                sent = was_sent(exc) if isinstance(exc, httpx.TransportError) else True
                error: CapitalError = _network_error(exc, sent)
                self._log(call, attempt, started, None, type(exc).__name__)
                decision = decide(
                    status=None, sent=sent, safe=endpoint.safe, order_write=order_write
                )
                if decision is Decision.UNKNOWN:
                    assert intent is not None
                    raise self._unknown(intent, str(error)) from exc
                if decision is Decision.RETRY:
                    retries += 1
                    delay = self.retry.next_delay(retries, waited, rate_limited=False)
                    if delay is not None:
                        waited += delay
                        _log_retry(call, delay, error)
                        yield Sleep(delay)
                        continue
                raise error from exc
            if ticket is not None:
                limiter.release(ticket, self.clock.monotonic())  # type: ignore[union-attr]
            self.tokens.update(response.headers, generation if auth else None)
            status = response.status_code
            if logger.isEnabledFor(_DEBUG):
                self._log(call, attempt, started, status, None)
            if status < 400:
                if intent is not None:
                    reference = self._deal_reference(call, response)
                    if reference is None:
                        # An empty or HTML 200, a 204, a redirect, truncated JSON, {}: a proxy
                        # or balancer may have answered for a server that applied the write.
                        raise self._unknown(intent, f"HTTP {status} that is not the API's answer")
                    return reference, intent
                if not 200 <= status < 300:
                    raise UnexpectedResponseError(endpoint.name, status, "not a 2xx answer")
                result = self.parse(call, response)
                if endpoint.session is not SessionEffect.NONE:
                    self._session_effect(call)
                return result, None
            body = _api_error_body(response)
            api_error = error_from_response(
                status, body, method=endpoint.method, path=_sent_path(call, response)
            )
            if intent is not None and body is None:
                # A 4xx/5xx without a Capital.com errorCode: a proxy, a WAF, a load balancer.
                raise self._unknown(
                    intent, f"HTTP {status} without the API's error body"
                ) from api_error
            if (
                isinstance(api_error, SessionExpiredError)
                and auth
                and relogin
                and relogins < MAX_RELOGINS_PER_CALL
                and self.credentials is not None
            ):
                # Rejected before anything was done: safe to repeat, even an order write. The
                # session may end again while the repeat waits (behind the limiter): each
                # rejection of a newer session is a new expiry, not bad credentials.
                relogins += 1
                yield Relogin(generation)
                continue
            decision = decide(status=status, sent=True, safe=endpoint.safe, order_write=order_write)
            if decision is Decision.UNKNOWN:
                assert intent is not None
                raise self._unknown(intent, str(api_error)) from api_error
            if decision is Decision.RETRY:
                retries += 1
                delay = self.retry.next_delay(retries, waited, rate_limited=status == 429)
                if delay is not None:
                    waited += delay
                    _log_retry(call, delay, api_error)
                    yield Sleep(delay)
                    continue
            raise api_error

    def _deal_reference(self, call: ApiCall[Any], response: httpx.Response) -> Any:
        """The DealReference of an order write's 2xx answer, None unless it is the API's own."""
        if response.status_code != 200 or not response.content:
            return None
        try:
            reference = self.parse(call, response)
        except UnexpectedResponseError:
            return None
        if not isinstance(reference, DealReference) or not reference.deal_reference:
            return None
        return reference

    def flow_procedure(self, flow: Flow[T], *, relogin: bool = True) -> Procedure[T]:
        """Execute a flow: each of its calls through :meth:`procedure`, its sleeps as sleeps."""
        value: Any = None
        error: BaseException | None = None
        started: dict[int, tuple[ApiCall[Any], Any]] = {}  # id(call) -> (call, handle)
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            if isinstance(action, Sleep):
                yield action
                continue
            if isinstance(action, Prefetch):
                call = action.call
                if call.endpoint.safe and id(call) not in started:
                    handle = yield Start(self.procedure(call, relogin=relogin))
                    started[id(call)] = (call, handle)
                continue
            try:
                if isinstance(action, OrderWrite):
                    value = yield from self.order_procedure(action, relogin=relogin)
                elif (entry := started.pop(id(action), None)) is not None:
                    value = yield Join(entry[1])
                else:
                    value = yield from self.procedure(action, relogin=relogin)
            except CapitalError as exc:
                error = exc

    def login_procedure(self) -> Procedure[LoginResponse]:
        """Log in (plain or encrypted), then return to the account chosen with switch_account.

        If the switch back fails, the session stays on the preferred account and the error is
        raised; the order-write guard (:attr:`on_chosen_account`) tries again before the next
        order write and fails it, unsent, if it cannot.
        """
        if self.credentials is None:
            raise ConfigurationError("logging in needs api_key, identifier and password")
        flow = login_flow(self.credentials, encrypted=self.encrypted)
        response = yield from self.flow_procedure(flow, relogin=False)
        self.login_response = response
        self.session_account = response.current_account_id
        self.login_count += 1
        logger.debug("logged in (%s password)", "encrypted" if self.encrypted else "plain")
        if not self.on_chosen_account:
            # A new session starts on the preferred account: go back to the chosen one.
            yield from self.switch_back_procedure(relogin=False)
        return response

    @property
    def on_chosen_account(self) -> bool:
        """Whether the session is on the account chosen with switch_account (or none was)."""
        return self.account_id is None or self.session_account == self.account_id

    def switch_back_procedure(self, *, relogin: bool = True) -> Procedure[None]:
        """Switch the session to :attr:`account_id`; an "already active" answer counts as done.

        Raises the switch's error when it fails: the session's account is then unknown and the
        next order write tries again first.
        """
        account = self.account_id
        if account is None:
            return
        switch = ep.SWITCH_ACCOUNT.call(body=SwitchAccountRequest(account_id=account))
        try:
            yield from self.procedure(switch, relogin=relogin)
        except APIError as exc:
            if exc.error_code != _ALREADY_ACTIVE:
                self.session_account = None
                raise
            self.session_account = account
        except CapitalError:
            self.session_account = None  # it may or may not have switched
            raise

    def _session_effect(self, call: ApiCall[Any]) -> None:
        """Token-side effects of an account switch and of a logout."""
        effect = call.endpoint.session
        if effect is SessionEffect.SWITCH_ACCOUNT:
            request = call.request
            assert isinstance(request, SwitchAccountRequest)
            self.account_id = self.session_account = request.account_id
        elif effect is SessionEffect.LOGOUT:
            self.tokens.clear()
            self.account_id = None
            self.session_account = None
            self.login_response = None

    # -- helpers -----------------------------------------------------------------------------
    def _unknown(self, intent: OrderIntent, cause: str) -> OrderOutcomeUnknown:
        gave_up = intent.given_up(self.clock.time())
        self.deals.unsettled(gave_up)
        return OrderOutcomeUnknown(gave_up, cause)

    @staticmethod
    def _log(
        call: ApiCall[Any], attempt: int, started: float, status: int | None, failure: str | None
    ) -> None:
        if not logger.isEnabledFor(_DEBUG):
            return
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        endpoint = call.endpoint
        logger.debug(
            "%s %s %s -> %s in %.1f ms (attempt %d)",
            endpoint.name,
            endpoint.method,
            call.path,
            status if status is not None else failure,
            elapsed_ms,
            attempt,
        )
