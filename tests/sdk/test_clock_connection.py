"""The simulator clock's own loopback HTTP/1.1 connection (``ControlConnection``): what a
server may legitimately do with a kept-alive connection, and what it must not.

Against a small scripted server on a real loopback socket (the simulator never closes, chunks
or garbles its answers on demand); the ordinary path is covered against the simulator itself
in tests/sdk/test_clock.py and tests/sim/test_clock_lockstep.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from capitalcom_sdk import SimulatorClock, SimulatorClockError

Answer = Callable[[socket.socket, int, bytes], bool]
"""(connection, request number, request body) -> keep the connection open?"""


def _clock_answer(now: int, extra_headers: str = "", chunked: bool = False) -> bytes:
    body = json.dumps({"now": now, "speed": 0.0}).encode()
    if chunked:
        payload = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (3, body[:3], len(body) - 3, body[3:])
        framing = "Transfer-Encoding: chunked\r\n"
    else:
        payload, framing = body, f"Content-Length: {len(body)}\r\n"
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}{extra_headers}\r\n"
    return head.encode() + payload


class ScriptedServer:
    """Serves each request with ``answer``; records every request body it read."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.bodies: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                buffer = b""
                while True:
                    while b"\r\n\r\n" not in buffer:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        buffer += chunk
                    if b"\r\n\r\n" not in buffer:
                        break
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    while len(buffer) < length:
                        buffer += conn.recv(65536)
                    body, buffer = buffer[:length], buffer[length:]
                    self.bodies.append(body)
                    if not self.answer(conn, len(self.bodies), body):
                        break

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(answer: Answer) -> ScriptedServer:
        servers.append(ScriptedServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_an_idle_close_of_the_kept_alive_connection_is_sent_once_more(
    serve: Callable[[Answer], ScriptedServer],
) -> None:
    """The server closes a kept-alive connection after each answer without saying so (as an
    idle timeout does): the next wait finds it closed before any byte of its answer, so it is
    sent again on a new connection, and each wait reaches the server exactly once."""

    def answer(conn: socket.socket, number: int, body: bytes) -> bool:
        conn.sendall(_clock_answer(1_000 * number))
        return False  # closed behind the client's back

    server = serve(answer)
    clock = SimulatorClock(server.url)
    clock.sleep(1)
    clock.sleep(2)
    clock.sleep(3)
    assert [json.loads(b)["advance"] for b in server.bodies] == [1, 2, 3]
    assert clock.now_ms() == 3_000
    assert server.connections == 3
    clock.close()


def test_connection_close_and_chunked_answers_are_read(
    serve: Callable[[Answer], ScriptedServer],
) -> None:
    def answer(conn: socket.socket, number: int, body: bytes) -> bool:
        if number == 1:
            conn.sendall(_clock_answer(5_000, chunked=True))
            return True
        conn.sendall(_clock_answer(7_000, extra_headers="Connection: close\r\n"))
        return False

    server = serve(answer)
    clock = SimulatorClock(server.url)
    clock.sleep(5)
    assert clock.now_ms() == 5_000
    clock.sleep(2)
    assert clock.now_ms() == 7_000
    assert server.connections == 1  # the chunked answer kept the connection
    clock.close()


def test_an_answer_cut_short_is_an_error_and_never_sent_twice(
    serve: Callable[[Answer], ScriptedServer],
) -> None:
    """Bytes of the answer came, then the connection died: the move may have been made, so it
    is not repeated (a lock-step wait moved twice would skip simulated time)."""

    def answer(conn: socket.socket, number: int, body: bytes) -> bool:
        if number == 1:
            conn.sendall(_clock_answer(1_000))
            return True
        conn.sendall(_clock_answer(2_000)[:-5])
        return False

    server = serve(answer)
    clock = SimulatorClock(server.url)
    clock.sleep(1)
    with pytest.raises(SimulatorClockError, match="unreachable: ProtocolError"):
        clock.sleep(1)
    assert len(server.bodies) == 2
    clock.close()


def test_a_fresh_connection_closed_unanswered_is_not_sent_twice(
    serve: Callable[[Answer], ScriptedServer],
) -> None:
    server = serve(lambda conn, number, body: False)  # reads the request, answers nothing
    clock = SimulatorClock(server.url)
    with pytest.raises(SimulatorClockError, match="unreachable"):
        clock.sleep(1)
    assert len(server.bodies) == 1
    clock.close()


@pytest.mark.parametrize(
    "garbage",
    [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"],
)
def test_an_answer_that_is_not_http_names_it(
    serve: Callable[[Answer], ScriptedServer], garbage: bytes
) -> None:
    def answer(conn: socket.socket, number: int, body: bytes) -> bool:
        conn.sendall(garbage)
        return False

    server = serve(answer)
    clock = SimulatorClock(server.url)
    with pytest.raises(SimulatorClockError, match="unreachable: ProtocolError"):
        clock.sleep(1)
    assert len(server.bodies) == 1
    clock.close()


# -- the async waits: the same connection on asyncio streams -------------------------------------


async def test_async_waits_keep_one_connection_and_resend_after_an_idle_close(
    serve: Callable[[Answer], ScriptedServer],
) -> None:
    def answer(conn: socket.socket, number: int, body: bytes) -> bool:
        conn.sendall(_clock_answer(1_000 * number, chunked=number == 2))
        return number != 3  # the third answer's connection is closed behind the client's back

    server = serve(answer)
    clock = SimulatorClock(server.url)
    for seconds in (1, 2, 3, 4):
        await clock.asleep(seconds)
    assert [json.loads(b)["advance"] for b in server.bodies] == [1, 2, 3, 4]
    assert clock.now_ms() == 4_000
    assert server.connections == 2  # one kept alive for three waits, then a new one
    await clock.aclose()


async def test_async_answer_cut_short_or_garbage_is_an_error_never_sent_twice(
    serve: Callable[[Answer], ScriptedServer],
) -> None:
    def answer(conn: socket.socket, number: int, body: bytes) -> bool:
        if number == 1:
            conn.sendall(_clock_answer(1_000))
            return True
        conn.sendall(_clock_answer(2_000)[:-5] if number == 2 else b"SSH-2.0-OpenSSH\r\n\r\n")
        return False

    server = serve(answer)
    clock = SimulatorClock(server.url)
    await clock.asleep(1)
    with pytest.raises(SimulatorClockError, match="unreachable: ProtocolError"):
        await clock.asleep(1)
    with pytest.raises(SimulatorClockError, match="unreachable: ProtocolError"):
        await clock.asleep(1)
    assert len(server.bodies) == 3
    await clock.aclose()


async def test_an_async_wait_cancelled_mid_request_leaves_no_answer_behind(
    serve: Callable[[Answer], ScriptedServer],
) -> None:
    """A wait cancelled after its request went out: its answer, if it comes, must never be
    read as the next wait's answer (the connection is dropped)."""
    release = threading.Event()

    def answer(conn: socket.socket, number: int, body: bytes) -> bool:
        if number == 1:
            release.wait(5)  # answered only after the client gave up on it
        conn.sendall(_clock_answer(1_000 * number))
        return True

    server = serve(answer)
    clock = SimulatorClock(server.url)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(clock.asleep(1), 0.2)
    release.set()
    await clock.asleep(1)
    assert clock.now_ms() == 2_000  # the second request's answer, not the first's
    assert server.connections == 2
    await clock.aclose()


def test_an_async_clock_used_on_two_event_loops_opens_one_connection_each(
    serve: Callable[[Answer], ScriptedServer],
) -> None:
    def answer(conn: socket.socket, number: int, body: bytes) -> bool:
        conn.sendall(_clock_answer(1_000 * number))
        return True

    server = serve(answer)
    clock = SimulatorClock(server.url)

    async def twice() -> None:
        await clock.asleep(1)
        await clock.asleep(1)

    asyncio.run(twice())
    asyncio.run(twice())
    assert clock.now_ms() == 4_000
    assert server.connections == 2
    clock.close()
