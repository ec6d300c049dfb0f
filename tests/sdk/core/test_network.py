"""Both clients take the same networking settings with the same result (issue 12 item 10,
issue 14 item 7): environment proxies and NO_PROXY, an explicit ``proxy=`` (with credentials),
``trust_env=False``, TLS through a proxy's CONNECT tunnel with a custom CA, and timeouts.

Everything runs through a loopback proxy started here (a small asyncio HTTP proxy on
127.0.0.1 that records what passed through it) against the simulator or a loopback TLS server
whose certificate comes from a throwaway CA (trustme).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from capitalcom_sdk import AsyncClient, Client, NetworkError, RequestTimeoutError
from capitalcom_sdk._retry import RetryPolicy
from tests.conftest import SimHandle

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
NO_RETRY = RetryPolicy(max_retries=0)


@dataclass
class Passed:
    """One request the proxy forwarded: the request line and the Proxy-Authorization value."""

    line: str
    authorization: str | None


@dataclass
class LoopbackProxy:
    """An HTTP/1.1 forward proxy: absolute-form requests are forwarded (one per connection,
    ``Connection: close``), CONNECT opens a tunnel. Runs its own event loop in a thread so
    that the blocking client can use it too."""

    port: int = 0
    passed: list[Passed] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        return [p.line for p in self.passed]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
            auth = next((v.strip() for k, v in headers if k.lower() == "proxy-authorization"), None)
            self.passed.append(Passed(f"{method} {target}", auth))
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await asyncio.gather(
                    _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
                )
                return
            url = httpx.URL(target)
            length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
            body = await reader.readexactly(length) if length else b""
            kept = [
                f"{k}:{v}"
                for k, v in headers
                if not k.lower().startswith("proxy-") and k.lower() != "connection"
            ]
            path = url.raw_path.decode()
            request = "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close"])
            up_reader, up_writer = await asyncio.open_connection(url.host, url.port)
            up_writer.write(request.encode("latin-1") + b"\r\n\r\n" + body)
            await up_writer.drain()
            await _pipe(up_reader, writer)
            up_writer.close()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def __enter__(self) -> LoopbackProxy:
        started = threading.Event()

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()

            async def start() -> None:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
                started.set()

            loop.run_until_complete(start())
            loop.run_forever()
            loop.run_until_complete(self._shut_down())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert started.wait(10)
        return self

    async def _shut_down(self) -> None:
        """Close the listener and end every connection still open (kept-alive tunnels)."""
        assert self._server is not None
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        assert loop is not None
        assert self._server is not None
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
def proxy() -> Iterator[LoopbackProxy]:
    with LoopbackProxy() as running:
        yield running


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


Flow = Callable[[dict[str, Any]], Awaitable[str]]


async def sync_flow(kwargs: dict[str, Any]) -> str:
    """Log in and ping with the blocking client (in a thread, the proxy's loop is elsewhere)."""

    def run() -> str:
        with Client(**kwargs, rate_limit=False, retry=NO_RETRY) as client:
            return client.general.ping().status

    return await asyncio.to_thread(run)


async def async_flow(kwargs: dict[str, Any]) -> str:
    async with AsyncClient(**kwargs, rate_limit=False, retry=NO_RETRY) as client:
        return (await client.general.ping()).status


BOTH = [pytest.param(sync_flow, id="Client"), pytest.param(async_flow, id="AsyncClient")]


def through(proxy: LoopbackProxy, sim: SimHandle) -> list[str]:
    prefix = f"{sim.base_url}/api/v1"
    return [line.replace(prefix, "") for line in proxy.lines()]


@pytest.mark.parametrize("flow", BOTH)
async def test_environment_proxy_carries_every_request(
    flow: Flow, sim: SimHandle, proxy: LoopbackProxy, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    assert await flow(sim.client_kwargs()) == "OK"
    assert through(proxy, sim) == ["POST /session", "GET /ping"]


@pytest.mark.parametrize("flow", BOTH)
@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*"])
async def test_no_proxy_sends_direct(
    flow: Flow,
    no_proxy: str,
    sim: SimHandle,
    proxy: LoopbackProxy,
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    clean_env.setenv("NO_PROXY", no_proxy)
    assert await flow(sim.client_kwargs()) == "OK"
    assert proxy.passed == []


@pytest.mark.parametrize("flow", BOTH)
async def test_trust_env_false_ignores_the_environment(
    flow: Flow, sim: SimHandle, proxy: LoopbackProxy, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    assert await flow({**sim.client_kwargs(), "trust_env": False}) == "OK"
    assert proxy.passed == []


@pytest.mark.parametrize("flow", BOTH)
async def test_explicit_proxy_with_credentials_wins_over_the_environment(
    flow: Flow, sim: SimHandle, proxy: LoopbackProxy, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("NO_PROXY", "*")
    explicit = proxy.url.replace("http://", "http://bob:s3cret@")
    assert await flow({**sim.client_kwargs(), "proxy": explicit}) == "OK"
    assert through(proxy, sim) == ["POST /session", "GET /ping"]
    assert {p.authorization for p in proxy.passed} == {"Basic Ym9iOnMzY3JldA=="}


# ---- TLS through the proxy's CONNECT tunnel, with a custom CA ---------------------------------
@dataclass
class TlsServer:
    port: int
    ca_file: str
    ca: trustme.CA


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    """A loopback HTTPS server answering GET /api/v1/time, its certificate from a fresh CA."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    body = json.dumps({"serverTime": 1_700_000_000_000}).encode()
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    with LoopbackProxy() as holder:  # borrow its loop thread to serve TLS
        assert holder._loop is not None
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(serve, "127.0.0.1", 0, ssl=context), holder._loop
        )
        server = started.result(10)
        try:
            yield TlsServer(server.sockets[0].getsockname()[1], str(ca_file), ca)
        finally:
            holder._loop.call_soon_threadsafe(server.close)


async def sync_time(kwargs: dict[str, Any]) -> str:
    def run() -> str:
        with Client(**kwargs, rate_limit=False, retry=NO_RETRY) as client:
            return str(client.general.server_time().server_time)

    return await asyncio.to_thread(run)


async def async_time(kwargs: dict[str, Any]) -> str:
    async with AsyncClient(**kwargs, rate_limit=False, retry=NO_RETRY) as client:
        return str((await client.general.server_time()).server_time)


BOTH_TIME = [pytest.param(sync_time, id="Client"), pytest.param(async_time, id="AsyncClient")]


@pytest.mark.parametrize("flow", BOTH_TIME)
@pytest.mark.parametrize("how", ["path", "context"])
async def test_tls_through_a_connect_tunnel_checks_the_certificate_with_the_given_ca(
    flow: Flow,
    how: str,
    tls_server: TlsServer,
    proxy: LoopbackProxy,
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    verify: Any = tls_server.ca_file
    if how == "context":
        verify = ssl.create_default_context(cafile=tls_server.ca_file)
    base_url = f"https://127.0.0.1:{tls_server.port}"
    assert await flow({"base_url": base_url, "verify": verify}) == "1700000000000"
    assert proxy.lines() == [f"CONNECT 127.0.0.1:{tls_server.port}"]


@pytest.mark.parametrize("flow", BOTH_TIME)
async def test_an_unknown_ca_is_refused_before_anything_is_sent(
    flow: Flow, tls_server: TlsServer, proxy: LoopbackProxy, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(NetworkError) as info:
        await flow({"base_url": f"https://127.0.0.1:{tls_server.port}"})  # certifi's CAs
    assert info.value.sent is False
    assert "CERTIFICATE" in str(info.value.__cause__).upper()


@pytest.mark.parametrize("flow", BOTH_TIME)
async def test_verify_false_skips_the_check_on_both(
    flow: Flow, tls_server: TlsServer, clean_env: pytest.MonkeyPatch
) -> None:
    base_url = f"https://127.0.0.1:{tls_server.port}"
    assert await flow({"base_url": base_url, "verify": False}) == "1700000000000"


# ---- timeouts --------------------------------------------------------------------------------
@pytest.mark.parametrize("flow", BOTH)
async def test_a_read_timeout_means_the_same_on_both(
    flow: Flow, sim: SimHandle, clean_env: pytest.MonkeyPatch
) -> None:
    sim.state.faults.add({"method": "GET", "path": "/api/v1/ping", "kind": "timeout"})
    timeout = httpx.Timeout(5.0, read=0.3)
    with pytest.raises(RequestTimeoutError) as info:
        await flow({**sim.client_kwargs(), "timeout": timeout})
    assert info.value.sent is True


# ---- the proxy map itself ----------------------------------------------------------------------
ENVIRONMENTS = [
    {"HTTP_PROXY": "http://p:1"},
    {"HTTPS_PROXY": "p:2", "http_proxy": "http://q:3"},
    {"ALL_PROXY": "http://p:4", "NO_PROXY": "localhost,127.0.0.1,::1,.example.com,corp.test"},
    {"HTTP_PROXY": "http://p:1", "NO_PROXY": "*"},
    {"HTTP_PROXY": "http://p:1", "NO_PROXY": "http://direct.test, ,192.168.0.0/16"},
    {},
]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_proxies_are_read_as_httpx_reads_them(
    environment: dict[str, str], clean_env: pytest.MonkeyPatch
) -> None:
    from httpx._utils import get_environment_proxies  # the reference, in a test only

    from capitalcom_sdk._network import environment_proxies

    for name, value in environment.items():
        clean_env.setenv(name, value)
    assert environment_proxies() == get_environment_proxies()


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_a_missing_ca_file_is_a_configuration_error(
    client_class: type[Client] | type[AsyncClient], tmp_path: Path
) -> None:
    from capitalcom_sdk import ConfigurationError

    with pytest.raises(ConfigurationError, match="verify"):
        client_class(verify=str(tmp_path / "missing.pem"))
