"""``capitalcom mcp`` as a command: the HTTP transport's bind rule and bearer token, and the
message when the extra is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.sdk.mcp.conftest import CAPITALCOM

TOKEN = "http-bearer-5a8c0e2f71"


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CAPITALCOM, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path), **env},
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_beyond_loopback_without_token_refused(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "mcp", "--http", "--host", "0.0.0.0", "--port", str(free_port()))
    assert done.returncode == 2, done.stderr
    assert "bearer token" in done.stderr
    assert "127.0.0.1" in done.stderr


def test_missing_extra_names_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['mcp'] = None; from capitalcom_sdk.cli import main; main(['mcp'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "capitalcom-sdk[mcp]" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    argv = [CAPITALCOM, "mcp", "--http", "--port", str(port), "--journal", str(tmp_path / "j")]
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "CAPITAL_MCP_TOKEN": TOKEN}
    with (tmp_path / "stderr").open("w") as err:
        child = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while True:  # real process start-up (not simulated time): wait for the port
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert child.poll() is None, (tmp_path / "stderr").read_text()
            assert time.monotonic() < deadline, "the HTTP server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        child.terminate()
        child.wait(timeout=15)


async def test_http_with_token(http_server: str) -> None:
    async with httpx.AsyncClient() as http:
        refused = await http.post(http_server, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401
        wrong = await http.post(http_server, headers={"Authorization": "Bearer x"}, json={})
        assert wrong.status_code == 401
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    async with (
        client,
        streamable_http_client(http_server, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        names = {tool.name for tool in (await session.list_tools()).tools}
        result = await session.call_tool("quote", {"epic": "EURUSD"})
    assert {"quote", "positions"} <= names
    assert "execute_open_position" not in names  # read-only without --trading
    assert not result.is_error
