"""The simulator clock's control connection: a minimal HTTP/1.1 client over one loopback socket.

Every wait of a backtest's bot is a ``POST /_sim/clock``; http.client (its header parsing goes
through the email package) and httpx cost more than the move itself. :class:`ControlConnection`
(blocking socket) and :class:`AsyncControlConnection` (non-blocking, driven by the event loop's
own socket calls) send pre-built request bytes with TCP_NODELAY and read the answer with one
sans-I/O reader (:func:`_read_answer`: head, Content-Length or chunks, trailers). An idle close
of a kept-alive connection before any byte of the answer is :class:`Dropped` (the request was
not served; :class:`~capitalcom_sdk._clock.SimulatorClock` sends it once more); anything else
cut short is an error and is never sent twice (a move repeated would skip simulated time).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

__all__ = ["AsyncControlConnection", "ControlConnection", "Dropped", "ProtocolError"]

if TYPE_CHECKING:
    import socket


class ProtocolError(Exception):
    """The control connection's peer answered something that is not HTTP/1.1 as expected."""


class Dropped(ConnectionError):
    """A kept-alive connection closed before any byte of the answer (the server's idle close):
    the request was not served, so it is sent once more on a new connection."""


_MAX_HEAD = 64 * 1024


def _message(method: str, head: bytes, payload: bytes | None) -> bytes:
    """The bytes of one control request: ``head`` is `` PATH HTTP/1.1\\r\\nHost: ...\\r\\n``."""
    start = method.encode("ascii") + head
    if payload is None:
        return start + b"\r\n"
    length = str(len(payload)).encode("ascii")
    return (
        start
        + b"Content-Type: application/json\r\nContent-Length: "
        + length
        + b"\r\n\r\n"
        + payload
    )


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """(status, lower-cased headers) of an answer's head (without its final empty line)."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ProtocolError("not an HTTP/1.1 answer")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError("a malformed header")
        headers[name.strip().lower()] = value.strip()
    return int(code), headers


def _chunked(headers: dict[str, str]) -> bool:
    return "chunked" in headers.get("transfer-encoding", "").lower()


def _content_length(headers: dict[str, str]) -> int:
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise ProtocolError("a malformed length") from None
    if length < 0:
        raise ProtocolError("a malformed length")
    return length


_Reader = Generator[bool, bytes, tuple[int, dict[str, str], bytes, bytes]]


def _read_answer() -> _Reader:
    """One answer, without I/O: yields whenever it needs more bytes (True while the head is
    incomplete) and is sent the next ones; returns (status, headers, body, bytes beyond it).
    Both control connections drive it, each with its own socket calls."""
    buffer = b""
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > _MAX_HEAD:
            raise ProtocolError("the answer's head is too long")
        buffer += yield True
    status, headers = _parse_head(buffer[:end])
    buffer = buffer[end + 4 :]
    if not _chunked(headers):
        length = _content_length(headers)
        while len(buffer) < length:
            buffer += yield False
        return status, headers, buffer[:length], buffer[length:]
    parts = []
    while True:
        line, buffer = yield from _read_line(buffer)
        try:
            size = int(line.split(b";", 1)[0], 16)
        except ValueError:
            raise ProtocolError("a malformed length") from None
        if size < 0:
            raise ProtocolError("a malformed length")
        if size == 0:
            break
        while len(buffer) < size + 2:  # the chunk and its CRLF
            buffer += yield False
        parts.append(buffer[:size])
        buffer = buffer[size + 2 :]
    while True:  # trailers, up to the empty line
        line, buffer = yield from _read_line(buffer)
        if not line:
            return status, headers, b"".join(parts), buffer


def _read_line(buffer: bytes) -> Generator[bool, bytes, tuple[bytes, bytes]]:
    while (end := buffer.find(b"\r\n")) < 0:
        if len(buffer) > _MAX_HEAD:
            raise ProtocolError("a chunk line is too long")
        buffer += yield False
    return buffer[:end], buffer[end + 2 :]


def _lost(exc: OSError, in_head: bool, unanswered: bool) -> Exception:
    """What a connection closed mid-exchange means: the idle close of a kept-alive connection
    when not a byte of the answer came (sent once more), an answer cut short, or ``exc``."""
    if not in_head:
        return ProtocolError("the answer was cut short")
    return Dropped(type(exc).__name__) if unanswered else exc


def _request_head(url: str, path: str) -> tuple[str, int, bytes]:
    """(host, port, the request line's tail and Host header) of the control URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    shown = f"[{host}]" if ":" in host else host
    return host, port, f" {path} HTTP/1.1\r\nHost: {shown}:{port}\r\n".encode("latin-1")


class ControlConnection:
    """A minimal HTTP/1.1 client over one kept-alive loopback socket, for the clock's control
    requests only: the request is one ``sendall`` of pre-built bytes (``TCP_NODELAY``), the
    answer is read by its ``Content-Length`` (or chunks). Lock-step pays one of these per wait,
    and it costs ~0.15 ms less than ``http.client`` (whose header parsing goes through the
    ``email`` package) on loopback; nothing else in the SDK uses it."""

    def __init__(self, url: str, path: str, timeout: float) -> None:
        self.host, self.port, self._head = _request_head(url, path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._buffer = b""
        if sock is not None:
            sock.close()

    def request(self, method: str, payload: bytes | None) -> tuple[int, bytes]:
        """Send one request and read its answer: (status, body)."""
        import socket

        if self._buffer:  # bytes the last answer did not account for: start afresh
            self.close()
        reused = self._sock is not None
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = _read_answer()
        in_head, got = next(reader), False
        try:
            self._sock.sendall(_message(method, self._head, payload))
            while True:
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError("the server closed the connection")
                got = True
                try:
                    in_head = reader.send(chunk)
                except StopIteration as done:
                    status, headers, body, self._buffer = done.value
                    break
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _lost(exc, in_head, reused and not got) from None
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body


class AsyncControlConnection:
    """:class:`ControlConnection` for the async waits (``asleep``): the same requests and
    reading over a non-blocking socket driven by the event loop's own socket calls (no transport
    object, so a connection left behind by a finished loop closes cleanly), ~1 ms less per move
    than httpx's AsyncClient. It belongs to the event loop that opened it; requests on it take
    turns (a lock)."""

    def __init__(self, url: str, path: str, timeout: float) -> None:
        import asyncio

        self.host, self.port, self._head = _request_head(url, path)
        self.timeout = timeout
        self.loop = asyncio.get_running_loop()
        self.lock = asyncio.Lock()
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._buffer = b""
        if sock is not None:
            sock.close()

    async def request(self, method: str, payload: bytes | None) -> tuple[int, bytes]:
        """Send one request and read its answer: (status, body). The caller holds the lock."""
        import asyncio

        try:
            return await asyncio.wait_for(self._exchange(method, payload), self.timeout)
        except BaseException:  # timed out, cancelled, failed: the answer's bytes are unknown
            self.close()
            raise

    async def _exchange(self, method: str, payload: bytes | None) -> tuple[int, bytes]:
        import socket

        if self._buffer:  # bytes the last answer did not account for: start afresh
            self.close()
        reused = self._sock is not None
        if self._sock is None:
            infos = await self.loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            family, kind, proto, _, address = infos[0]
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            try:
                await self.loop.sock_connect(sock, address)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except BaseException:
                sock.close()
                raise
            self._sock = sock
        reader = _read_answer()
        in_head, got = next(reader), False
        try:
            await self.loop.sock_sendall(self._sock, _message(method, self._head, payload))
            while True:
                chunk = await self.loop.sock_recv(self._sock, 65536)
                if not chunk:
                    raise ConnectionResetError("the server closed the connection")
                got = True
                try:
                    in_head = reader.send(chunk)
                except StopIteration as done:
                    status, headers, body, self._buffer = done.value
                    break
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _lost(exc, in_head, reused and not got) from None
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body
