"""How the stream asks for a new session (no sockets): the client decides, the stream counts."""

from __future__ import annotations

import asyncio

import pytest

from capitalcom_sdk.errors import AuthenticationError
from capitalcom_sdk.models.prices import PriceBar
from capitalcom_sdk.streaming._supervisor import SessionLink
from capitalcom_sdk.streaming.errors import StreamError


class _Tokens:
    def __init__(self) -> None:
        self.cst: str | None = "cst-1"
        self.security_token: str | None = "sec-1"
        self.generation = 1

    @property
    def present(self) -> bool:
        return self.cst is not None


class _Session:
    """A client whose re-login is single flight (as the transport's): one login per generation."""

    def __init__(self) -> None:
        self.tokens = _Tokens()
        self.asked: list[int] = []
        self.logins = 0
        self.fail: Exception | None = None
        self._lock = asyncio.Lock()

    def streaming_host(self) -> str | None:
        return "ws://127.0.0.1:1/"

    async def relogin(self, generation: int) -> None:
        self.asked.append(generation)
        async with self._lock:
            if self.tokens.present and self.tokens.generation != generation:
                return
            if self.fail is not None:
                raise self.fail
            await asyncio.sleep(0)
            self.logins += 1
            self.tokens.generation += 1

    async def closed_bars(self, epic: str, resolution: str, after_ms: int) -> list[PriceBar]:
        return []

    async def server_time_ms(self) -> int:
        return 0


async def test_connections_refused_at_once_ask_the_client_which_logs_in_once() -> None:
    session = _Session()
    link = SessionLink(session, None)
    await asyncio.gather(link.relogin(1), link.relogin(1), link.relogin(1))
    assert session.asked == [1, 1, 1]  # no lock of the stream's own: the client decides
    assert session.logins == 1
    assert link.logins == 1  # one session replaced


async def test_tokens_already_replaced_are_not_replaced_again() -> None:
    session = _Session()
    link = SessionLink(session, None)
    session.tokens.generation = 2  # the client logged in meanwhile
    await link.relogin(1)
    assert session.asked == []
    assert link.logins == 0


async def test_a_failed_login_is_a_stream_error_without_secrets() -> None:
    session = _Session()
    session.fail = AuthenticationError(401, "error.invalid.details")
    link = SessionLink(session, None)
    with pytest.raises(StreamError) as failed:
        await link.relogin(1)
    assert "login failed" in str(failed.value)
    assert "sec-1" not in str(failed.value)
    assert "cst-1" not in str(failed.value)


async def test_missing_tokens_are_fetched_by_a_login_before_connecting() -> None:
    session = _Session()
    session.tokens.cst = None
    link = SessionLink(session, None)

    async def login(generation: int) -> None:
        session.asked.append(generation)
        session.tokens.cst = "cst-2"
        session.tokens.generation += 1

    session.relogin = login  # type: ignore[method-assign]
    tokens = await link.tokens()
    assert (tokens.cst, tokens.generation) == ("cst-2", 2)
    assert session.asked == [1]
    assert await link.url() == "ws://127.0.0.1:1/connect"
