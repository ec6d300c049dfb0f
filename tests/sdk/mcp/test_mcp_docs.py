"""docs/mcp.md: every JSON snippet parses, and every command line in it is one the CLI accepts."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capitalcom_sdk.cli._app import app

DOC = Path(__file__).resolve().parents[3] / "docs" / "mcp.md"
TEXT = DOC.read_text(encoding="utf-8")


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    blocks: list[tuple[str, str]] = []
    language: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith("```"):
            if language is None:
                language, body = line[3:].strip(), []
            else:
                blocks.append((language, "\n".join(body)))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


BLOCKS = fenced_blocks(TEXT)
JSON_BLOCKS = [body for language, body in BLOCKS if language == "json"]
COMMAND_LINES = [
    line.split("#")[0].strip()
    for language, body in BLOCKS
    if language == ""
    for line in body.splitlines()
    if "capitalcom" in line and " mcp" in line and not line.lstrip().startswith("pip")
] + re.findall(r"`(capitalcom [^`]*\bmcp\b[^`]*)`", TEXT)


def servers(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list((document.get("mcpServers") or document.get("servers") or {}).values())


def accepted(args: list[str]) -> None:
    """The CLI parses these arguments (``--help`` appended: nothing starts)."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, (args, result.output)
    assert "Serve" in result.output


def test_there_are_snippets_for_the_common_clients() -> None:
    assert len(JSON_BLOCKS) >= 4
    for client in ("Claude Desktop", "VS Code", "Cursor"):
        assert client in TEXT


@pytest.mark.parametrize("block", JSON_BLOCKS)
def test_json_snippets(block: str) -> None:
    document = json.loads(block)
    entries = servers(document)
    assert entries
    for entry in entries:
        if "command" in entry:
            assert Path(entry["command"]).name == "capitalcom"
            assert "mcp" in entry["args"]
            accepted(entry["args"])
        else:
            assert entry["url"].endswith("/mcp")


@pytest.mark.parametrize("line", COMMAND_LINES)
def test_command_lines(line: str) -> None:
    words = shlex.split(line.replace("[", "").replace("]", "").replace("...", ""))
    words = words[words.index("capitalcom") + 1 :]
    placeholders = {"FILE": "policy.toml", "URL": "http://127.0.0.1:1", "N": "1", "TOKEN": "t"}
    accepted([placeholders.get(w, w) for w in words if w != "|"])
