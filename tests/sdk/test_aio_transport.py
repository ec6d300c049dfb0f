"""The AsyncClient's default aiohttp transport: what goes on the wire, and which errors say
"sent" (the call procedure's order safety rests on that), over real loopback sockets."""

from __future__ import annotations

import asyncio
import gzip
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from capitalcom_sdk import AsyncClient, OrderOutcomeUnknown
from capitalcom_sdk._aio import AiohttpTransport
from capitalcom_sdk._retry import RetryPolicy, was_sent
from tests.conftest import SimHandle

NO_RETRY = RetryPolicy(max_retries=0)


@dataclass
class RawServer:
    """A loopback HTTP/1.1 server that records what it receives and answers from a function."""

    answer: Callable[[bytes], bytes]
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                raw = head + (await reader.readexactly(length) if length else b"")
                self.requests.append(raw)
                writer.write(self.answer(raw))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def raw_server(answer: Callable[[bytes], bytes]) -> AsyncIterator[RawServer]:
    server = RawServer(answer)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


def response(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_async_client_sends_over_aiohttp_unless_given_a_transport() -> None:
    assert isinstance(AsyncClient()._http._transport, AiohttpTransport)
    own = httpx.AsyncHTTPTransport()
    assert AsyncClient(transport=own)._http._transport is own


async def test_only_httpx_headers_go_on_the_wire_and_the_query_is_not_re_encoded() -> None:
    async with (
        raw_server(lambda raw: response(b"{}")) as server,
        httpx.AsyncClient(transport=AiohttpTransport()) as http,
    ):
        url = f"http://127.0.0.1:{server.port}/api/v1/history/activity"
        await http.get(url, params={"filter": "source==DEALER;type!=POSITION"})
        await http.post(f"http://127.0.0.1:{server.port}/x", json={"a": 1})
    get, post = server.requests
    expected = http.build_request(
        "GET", url, params={"filter": "source==DEALER;type!=POSITION"}
    ).url.raw_path
    assert get.split(b"\r\n")[0] == b"GET " + expected + b" HTTP/1.1"
    assert b"content-type" not in get.lower()  # aiohttp would add one for a body-less request
    assert post.lower().count(b"content-type: application/json") == 1
    assert post.endswith(b'{"a":1}')
    assert server.connections == 1  # kept alive


async def test_gzip_bodies_are_decoded_once_and_repeated_headers_kept() -> None:
    body = gzip.compress(b'{"status":"OK"}')
    reply = response(body, "Content-Encoding: gzip", "Set-Cookie: a=1", "Set-Cookie: b=2")
    async with (
        raw_server(lambda raw: reply) as server,
        httpx.AsyncClient(transport=AiohttpTransport()) as http,
    ):
        answer = await http.get(f"http://127.0.0.1:{server.port}/ping")
    assert answer.json() == {"status": "OK"}
    assert answer.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert answer.http_version == "HTTP/1.1"


def _time_answer(raw: bytes) -> bytes:
    """GET /time's answer; the first one sets a cookie, later ones echo the Cookie header."""
    cookie = [line for line in raw.split(b"\r\n") if line.lower().startswith(b"cookie:")]
    extra = ["Set-Cookie: lb=node-7; Path=/"] if not cookie else []
    echo = cookie[0].split(b":", 1)[1].strip().decode() if cookie else ""
    return response(b'{"serverTime": 1700000000000}', *extra, f"X-Echo: {echo}")


async def test_the_direct_send_does_what_httpx_send_does_with_its_one_transport(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The AsyncClient sends straight to its aiohttp transport (no mounts): the answer is bound
    to its request, a Set-Cookie is kept and sent back, and httpx's INFO line is logged, as
    httpx.AsyncClient.send does (the same client with a custom transport goes through it)."""

    async def run(**options: Any) -> tuple[AsyncClient, list[bytes], list[str]]:
        caplog.clear()
        with caplog.at_level("INFO", logger="httpx"):
            async with raw_server(_time_answer) as server:
                url = f"http://127.0.0.1:{server.port}"
                client = AsyncClient(base_url=url, rate_limit=False, **options)
                for _ in range(2):
                    assert (await client.general.server_time()).server_time == 1700000000000
                await client.aclose()
        lines = [r.getMessage().replace(str(server.port), "PORT") for r in caplog.records]
        return client, server.requests, lines

    direct, direct_requests, direct_lines = await run()
    assert direct._transport._direct is direct._http._transport
    through, httpx_requests, httpx_lines = await run(transport=AiohttpTransport())
    assert through._transport._direct is None
    assert (
        direct_lines
        == httpx_lines
        == ['HTTP Request: GET http://127.0.0.1:PORT/api/v1/time "HTTP/1.1 200 OK"'] * 2
    )
    for requests in (direct_requests, httpx_requests):
        assert b"cookie:" not in requests[0].lower()
        assert b"cookie: lb=node-7" in requests[1].lower()  # kept from the first answer
    with pytest.raises(RuntimeError, match="closed"):
        await direct.general.server_time()


async def test_event_hooks_added_to_the_http_client_still_run() -> None:
    """A hook on the AsyncClient's httpx client (the reliability tests count attempts so) sends
    through httpx.AsyncClient.send, which runs it."""
    seen: list[str] = []

    async def note(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with raw_server(_time_answer) as server:
        client = AsyncClient(base_url=f"http://127.0.0.1:{server.port}", rate_limit=False)
        client._http.event_hooks["request"].append(note)
        await client.general.server_time()
        await client.aclose()
    assert seen == ["/api/v1/time"]


def test_a_client_with_proxy_mounts_sends_through_httpx() -> None:
    client = AsyncClient(proxy="http://127.0.0.1:9")
    assert client._transport._direct is None  # httpx picks the mount per URL


async def test_refused_connection_is_a_connect_error_that_was_not_sent() -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx.ConnectError) as info:
            await http.get(f"http://127.0.0.1:{closed_port()}/ping")
    assert not was_sent(info.value)


async def test_waiting_for_a_pooled_connection_times_out_as_not_sent() -> None:
    hold = asyncio.Event()
    arrived = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived.set()
        await hold.wait()
        writer.close()

    listener = await asyncio.start_server(slow, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    transport = AiohttpTransport(httpx.Limits(max_connections=1))
    timeout = httpx.Timeout(5.0, connect=0.1, pool=0.1)
    try:
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
            busy = asyncio.ensure_future(http.get(f"http://127.0.0.1:{port}/slow"))
            await asyncio.wait_for(arrived.wait(), 5)  # the only connection is now taken
            with pytest.raises(httpx.ConnectTimeout) as info:
                await http.post(f"http://127.0.0.1:{port}/positions", json={})
            assert not was_sent(info.value)
            hold.set()
            with pytest.raises(httpx.TransportError):
                await busy
    finally:
        hold.set()
        listener.close()
        await listener.wait_closed()


async def test_read_timeout_is_sent(sim: SimHandle) -> None:
    sim.state.faults.add({"method": "GET", "path": "/api/v1/ping", "kind": "timeout"})
    timeout = httpx.Timeout(5.0, read=0.2)
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout) as http:
        with pytest.raises(httpx.ReadTimeout) as info:
            await http.get(f"{sim.base_url}/api/v1/ping")
    assert was_sent(info.value)


async def test_a_dropped_close_is_not_resent_behind_the_procedures_back(sim: SimHandle) -> None:
    """aiohttp on its own resends DELETE and PUT once when a kept-alive connection drops."""
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False, retry=NO_RETRY) as client:
        deal_id = (await client.positions.open("EURUSD", "BUY", 1000)).affected_deals[0].deal_id
        path = f"/api/v1/positions/{deal_id}"
        sim.state.faults.add({"method": "DELETE", "path": path, "kind": "apply_then_drop"})
        with pytest.raises(OrderOutcomeUnknown) as info:
            await client.positions.close(deal_id)
        assert (await client.reconcile(info.value)).found  # applied, and reported as such
    deletes = sim.state.stats.snapshot()["requests"].get("DELETE /api/v1/positions/{deal_id}")
    assert deletes == 1


def test_one_client_serves_successive_and_concurrent_event_loops(sim: SimHandle) -> None:
    client = AsyncClient(**sim.client_kwargs(), rate_limit=False)

    async def pings(n: int) -> list[str]:
        return [(await client.general.ping()).status for _ in range(n)]

    assert asyncio.run(pings(2)) == ["OK", "OK"]
    assert asyncio.run(pings(2)) == ["OK", "OK"]  # the first loop's pool is shut, a new one made
    with ThreadPoolExecutor(2) as threads:  # two loops at once, one pool each
        results = list(threads.map(lambda _: asyncio.run(pings(20)), range(2)))
    assert results == [["OK"] * 20] * 2
    asyncio.run(client.aclose())


def test_a_client_never_closed_leaves_no_unclosed_session_report(sim: SimHandle) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, gc, logging, warnings
        warnings.simplefilter("error")
        logging.basicConfig(level=logging.WARNING)
        from capitalcom_sdk import AsyncClient

        async def main():
            client = AsyncClient(base_url={sim.base_url!r}, **{{
                "api_key": {sim.api_key!r}, "identifier": {sim.identifier!r},
                "password": {sim.password!r}}})
            print((await client.general.ping()).status)

        asyncio.run(main())
        gc.collect()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK"
    assert "nclosed" not in done.stderr, done.stderr


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
async def test_a_request_lost_on_a_kept_alive_connection_is_never_resent_by_aiohttp(
    method: str,
) -> None:
    """The server answers the first request, reads the second on the same connection and
    closes without answering. aiohttp on its own reconnects and sends GET/PUT/DELETE again;
    ours must see exactly one copy, and the error must say "sent"."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                received.append(head.split(b"\r\n")[0])
                if len(received) == 1:
                    writer.write(response(b"{}"))
                    await writer.drain()
                    continue
                break  # read, then dropped without an answer
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
            await http.get(f"http://127.0.0.1:{port}/first")
            with pytest.raises(httpx.TransportError) as info:
                await http.request(method, f"http://127.0.0.1:{port}/positions/D1", json={})
    finally:
        listener.close()
        await listener.wait_closed()
    assert len(received) == 2, received  # a third one would be aiohttp's own resend
    assert was_sent(info.value)


async def test_a_second_attempt_of_one_request_is_refused_before_it_connects() -> None:
    """Should aiohttp ever retry on other failures: the guard refuses attempt two itself."""
    from capitalcom_sdk import _aio

    calls: list[str] = []

    async def handler(request: object) -> object:
        calls.append("sent")
        raise AssertionError("unreachable")

    token = _aio._ATTEMPTS.set(_aio._Attempts())
    try:
        _aio._ATTEMPTS.get().count = 1  # type: ignore[union-attr]  # the first went out
        with pytest.raises(_aio._NotRepeated):
            await _aio._one_attempt(object(), handler)  # type: ignore[arg-type]
    finally:
        _aio._ATTEMPTS.reset(token)
    assert calls == []
    error = _aio._map_error(_aio._NotRepeated(None), httpx.Request("PUT", "http://x/"))
    assert was_sent(error)


def test_the_aio_transport_uses_no_private_aiohttp_attribute() -> None:
    """Order safety must not rest on aiohttp internals that a minor release may change."""
    import ast
    import inspect

    from capitalcom_sdk import _aio

    tree = ast.parse(inspect.getsource(_aio))
    private = sorted(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "_aio"})
    )
    assert private == [], private
