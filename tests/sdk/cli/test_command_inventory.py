"""Every command of ``capitalcom`` has help, is documented in docs/cli.md and is exercised by a
test of this folder against the simulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from capitalcom_sdk.cli._app import app
from tests.sdk.cli.conftest import Cli

ROOT = Path(__file__).resolve().parents[3]


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(command, "commands"):
            found += _commands(command, path)
        else:
            found.append(path)
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_inventory_is_complete() -> None:
    groups = {c[0] for c in COMMANDS}
    assert groups >= {
        "session",
        "accounts",
        "markets",
        "prices",
        "positions",
        "orders",
        "watchlists",
        "stream",
        "sim",
        "history",
    }
    assert len(COMMANDS) >= 34


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_and_json(cli: Cli, command: tuple[str, ...]) -> None:
    outcome = cli(*command, "--help")
    assert outcome.exit_code == 0
    assert "--json" in outcome.stdout
    assert len(outcome.stdout.strip().splitlines()) > 3


def test_every_command_is_documented_and_tested() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    tests = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (ROOT / "tests" / "sdk" / "cli").glob("test_*.py")
        if p.name != Path(__file__).name
    )
    tests = re.sub(r",\s+", ", ", tests)  # arguments the formatter put on separate lines
    for command in COMMANDS:
        words = " ".join(command)
        assert re.search(rf"`{re.escape(words)}\b", docs), f"docs/cli.md lacks `{words}`"
        quoted = ", ".join(f'"{w}"' for w in command)
        assert quoted in tests, f"no test runs {words}"
