"""The one place that sends a declared request.

Request building, response parsing and the decision logic are shared and pure (:class:`_Core`);
only "send and wait" exists twice, in :class:`SyncTransport` and :class:`AsyncTransport`.
Multi-step operations (login, wait for a deal confirmation) are written once as *flows*:
generators that yield :class:`~capitalcom_sdk._endpoints.ApiCall` or :class:`Sleep` actions and
receive their results; each transport drives them with its own I/O.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from capitalcom_sdk._auth import Credentials, TokenStore, login_flow
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._logging import logger
from capitalcom_sdk.errors import (
    APIError,
    NetworkError,
    SessionExpiredError,
    TimeoutError,
    error_from_response,
)
from capitalcom_sdk.models.session import LoginResponse

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sleep:
    """A flow action: wait this many seconds."""

    seconds: float


Action = ApiCall[Any] | Sleep
Flow = Generator[Action, Any, T]


def single(call: ApiCall[T]) -> Flow[T]:
    """A flow of one call."""
    result: T = yield call
    return result


class _Core:
    """What both transports share: headers, request building, response parsing, login state."""

    def __init__(self, base_url: str, credentials: Credentials | None, encrypted: bool) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.encrypted = encrypted
        self.tokens = TokenStore()
        self.login_response: LoginResponse | None = None

    def build(self, http: httpx.Client | httpx.AsyncClient, call: ApiCall[Any]) -> httpx.Request:
        headers = {"Accept": "application/json"}
        if self.credentials is not None:
            headers["X-CAP-API-KEY"] = self.credentials.api_key
        if call.endpoint.auth:
            headers.update(self.tokens.headers())
        content = None
        if call.body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(call.body, separators=(",", ":")).encode()
        return http.build_request(
            call.endpoint.method,
            self.base_url + call.path,
            params=call.params or None,
            headers=headers,
            content=content,
        )

    def handle(self, call: ApiCall[T], response: httpx.Response) -> T:
        """Adopt tokens, then parse the body into the declared model or raise the mapped error."""
        self.tokens.update(response.headers)
        endpoint = call.endpoint
        logger.debug(
            "%s %s -> %s (%d bytes)",
            endpoint.method,
            call.path,
            response.status_code,
            len(response.content),
        )
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise error_from_response(
                response.status_code, body, method=endpoint.method, path=call.path
            )
        if endpoint.response is None:
            return None  # type: ignore[return-value]
        content = response.content or b"{}"
        model: Any = endpoint.response
        return model.model_validate_json(content)  # type: ignore[no-any-return]

    def needs_login(self, call: ApiCall[Any]) -> bool:
        return call.endpoint.auth and not self.tokens.present


def _network_error(exc: httpx.TransportError) -> NetworkError:
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError(f"request timed out ({type(exc).__name__})")
    return NetworkError(f"connection failed ({type(exc).__name__})")


class SyncTransport:
    """Sends calls with an ``httpx.Client`` and drives flows synchronously."""

    def __init__(self, core: _Core, http: httpx.Client) -> None:
        self.core = core
        self.http = http
        self._login_lock = threading.Lock()

    def execute(self, call: ApiCall[T]) -> T:
        if self.core.needs_login(call):
            self.login()
        try:
            return self._send(call)
        except SessionExpiredError:
            if self.core.credentials is None:
                raise
            self.login()
            return self._send(call)

    def _send(self, call: ApiCall[T]) -> T:
        request = self.core.build(self.http, call)
        try:
            response = self.http.send(request)
        except httpx.TransportError as exc:
            raise _network_error(exc) from None
        return self.core.handle(call, response)

    def login(self) -> LoginResponse:
        if self.core.credentials is None:
            raise SessionExpiredError(401, "error.null.client.token")
        with self._login_lock:
            self.core.login_response = self.run(
                login_flow(self.core.credentials, encrypted=self.core.encrypted)
            )
            return self.core.login_response

    def run(self, flow: Flow[T]) -> T:
        """Drive a flow to its result, sending its calls and sleeping its sleeps."""
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            result, error = None, None
            try:
                if isinstance(action, Sleep):
                    time.sleep(action.seconds)
                else:
                    result = (
                        self._send(action) if not action.endpoint.auth else self.execute(action)
                    )
            except (APIError, NetworkError) as exc:
                error = exc


class AsyncTransport:
    """Sends calls with an ``httpx.AsyncClient`` and drives flows with ``await``."""

    def __init__(self, core: _Core, http: httpx.AsyncClient) -> None:
        self.core = core
        self.http = http
        self._login_lock = asyncio.Lock()

    async def execute(self, call: ApiCall[T]) -> T:
        if self.core.needs_login(call):
            await self.login()
        try:
            return await self._send(call)
        except SessionExpiredError:
            if self.core.credentials is None:
                raise
            await self.login()
            return await self._send(call)

    async def _send(self, call: ApiCall[T]) -> T:
        request = self.core.build(self.http, call)
        try:
            response = await self.http.send(request)
        except httpx.TransportError as exc:
            raise _network_error(exc) from None
        return self.core.handle(call, response)

    async def login(self) -> LoginResponse:
        if self.core.credentials is None:
            raise SessionExpiredError(401, "error.null.client.token")
        async with self._login_lock:
            self.core.login_response = await self.run(
                login_flow(self.core.credentials, encrypted=self.core.encrypted)
            )
            return self.core.login_response

    async def run(self, flow: Flow[T]) -> T:
        """Drive a flow to its result, sending its calls and sleeping its sleeps."""
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            result, error = None, None
            try:
                if isinstance(action, Sleep):
                    await asyncio.sleep(action.seconds)
                elif action.endpoint.auth:
                    result = await self.execute(action)
                else:
                    result = await self._send(action)
            except (APIError, NetworkError) as exc:
                error = exc
