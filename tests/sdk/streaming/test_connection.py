"""``Connection`` without a socket: which error frames end it as a lost session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from websockets.asyncio.client import ClientConnection

from capitalcom_sdk.errors import SESSION_ERROR_CODES, error_from_response
from capitalcom_sdk.errors import SessionExpiredError as RestSessionExpired
from capitalcom_sdk.streaming._connection import Connection, ConnectionLost, SessionLost, Tokens


class _Frames:
    """A websocket stand-in that yields the given frames, then ends."""

    def __init__(self, frames: list[dict[str, Any]]) -> None:
        self._frames = [json.dumps(f) for f in frames]

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        for frame in self._frames:
            yield frame


async def _ending(error_code: str) -> BaseException:
    frame = {
        "status": "ERROR",
        "destination": "marketData.subscribe",
        "payload": {"errorCode": error_code},
    }
    socket = cast(ClientConnection, _Frames([frame]))
    conn = Connection(socket, Tokens("c", "s", 1), lambda _: None, request_timeout=1.0)
    await conn.run()
    return conn.done.result()


@pytest.mark.parametrize("code", sorted(SESSION_ERROR_CODES))
async def test_a_session_error_frame_ends_the_connection_as_a_lost_session(code: str) -> None:
    assert isinstance(await _ending(code), SessionLost)


async def test_no_usable_account_is_not_a_lost_session() -> None:
    # A new login cannot fix it (POST /session itself answers it), on REST as on the stream.
    ended = await _ending("error.null.accountId")
    assert not isinstance(ended, SessionLost)
    rest = error_from_response(401, {"errorCode": "error.null.accountId"})
    assert not isinstance(rest, RestSessionExpired)


@pytest.mark.parametrize("code", sorted(SESSION_ERROR_CODES))
def test_rest_and_stream_share_the_session_codes(code: str) -> None:
    assert isinstance(error_from_response(401, {"errorCode": code}), RestSessionExpired)


class _SlowSend:
    """A websocket stand-in whose ``send`` never completes."""

    async def send(self, _text: str) -> None:
        await asyncio.Event().wait()


async def test_a_request_cancelled_while_sending_leaves_no_unread_failure() -> None:
    # A subscribe cancelled mid-send (the stream closing) used to leave its future pending; the
    # connection's end then failed it with nobody to read it ("Future exception was never
    # retrieved" in the week-long soak's log).
    socket = cast(ClientConnection, _SlowSend())
    conn = Connection(socket, Tokens("c", "s", 1), lambda _: None, request_timeout=1.0)
    task = asyncio.create_task(conn.request("marketData.subscribe", {"epics": ["X"]}))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert conn._pending == {}
    conn.fail(ConnectionLost("closed"))
