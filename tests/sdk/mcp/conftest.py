"""The MCP server under test: ``capitalcom mcp`` in a subprocess, driven over stdio by the
official MCP client, against the ``sim`` fixture (credentials chosen here so a leak is visible).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install '.[mcp]')")

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import InitializeResult

from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle

API_KEY = "mcpKey-7f3a9c21d4e8b6"
PASSWORD = "Pw-9d1e5b77-mcp-secret"
IDENTIFIER = "mcp-tester@example.com"
CAPITALCOM = str(Path(sys.executable).parent / "capitalcom")


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(users=(single_user(API_KEY, IDENTIFIER, PASSWORD),), rate_limits=False)


@dataclass
class Served:
    """A running server: the client session and where its journal and stderr go."""

    session: ClientSession
    init: InitializeResult
    journal: Path
    stderr: Path
    results: list[str] = field(default_factory=list)  # every tool answer's text, in order

    async def call(self, tool: str, **arguments: Any) -> tuple[bool, dict[str, Any]]:
        """(is_error, the JSON the tool answered)."""
        result = await self.session.call_tool(tool, arguments)
        text = result.content[0].text  # type: ignore[union-attr]
        self.results.append(text)
        return bool(result.is_error), json.loads(text)

    def journal_entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.journal.read_text().splitlines()]


@contextlib.asynccontextmanager
async def serve(
    tmp_path: Path,
    *options: str,
    sim: SimHandle | None = None,
    global_options: tuple[str, ...] = (),
) -> AsyncIterator[Served]:
    """``capitalcom [global] mcp [options]``; ``sim`` given: ``--connect`` to it with the
    test's credentials, else practice mode (embedded simulator)."""
    journal = tmp_path / "journal.jsonl"
    stderr = tmp_path / "stderr.log"
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1"}
    argv = ["-vv", *global_options]  # debug logs on stderr: the secrets test reads them
    mcp_args = ["mcp", "--journal", str(journal), *options]
    if sim is not None:
        env |= {
            "CAPITAL_API_KEY": API_KEY,
            "CAPITAL_IDENTIFIER": IDENTIFIER,
            "CAPITAL_PASSWORD": PASSWORD,
        }
        argv += ["--base-url", sim.base_url, "--no-session-cache"]
        mcp_args.append("--connect")
    params = StdioServerParameters(
        command=CAPITALCOM, args=[*argv, *mcp_args], env=env, cwd=str(tmp_path)
    )
    with stderr.open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, read_timeout_seconds=30) as session,
        ):
            init = await session.initialize()
            yield Served(session, init, journal, stderr)
