"""Helpers of the surface tests: a transport that records requests (and answers nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Records every request; answers with ``handler`` (default: 599, which no test expects)."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.handler = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.handler is None:
            return httpx.Response(599, json={"errorCode": "test.unexpected.request"})
        return self.handler(request)


CREDENTIALS = {"api_key": "key-123", "identifier": "user@example.com", "password": "pw-123"}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def offline_client(recorder: Recorder) -> Iterator[Client]:
    with Client(
        **CREDENTIALS, base_url="http://sdk.test", transport=httpx.MockTransport(recorder)
    ) as client:
        yield client


@pytest.fixture
async def offline_async_client(recorder: Recorder) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(
        **CREDENTIALS, base_url="http://sdk.test", transport=httpx.MockTransport(recorder)
    ) as client:
        yield client
