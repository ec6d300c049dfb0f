"""Fixtures of the CLI tests: a simulator per module and a runner of ``capitalcom`` commands."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capitalcom_sdk.cli._app import app
from capitalcom_sim.config import SimConfig, UserConfig, default_accounts
from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle, start_sim

USERS = 8
_next_user = itertools.count()


@dataclass
class Outcome:
    """What one ``capitalcom`` run did."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        """stdout parsed as one JSON document."""
        return json.loads(self.stdout)

    @property
    def error(self) -> dict[str, Any]:
        """The JSON error document that --json mode writes on stderr."""
        document: dict[str, Any] = json.loads(self.stderr.strip().splitlines()[-1])["error"]
        return document


class Cli:
    """Runs ``capitalcom`` in-process (typer's CliRunner) against one simulator."""

    def __init__(self, sim: SimHandle, workdir: Path) -> None:
        self.sim = sim
        self.user = next(u for u in sim.state.config.users if u.api_key == sim.api_key)
        self.workdir = workdir
        self.runner = CliRunner()

    def env(self, **overrides: str | None) -> dict[str, str | None]:
        env: dict[str, str | None] = {
            "CAPITAL_API_KEY": self.sim.api_key,
            "CAPITAL_IDENTIFIER": self.sim.identifier,
            "CAPITAL_PASSWORD": self.sim.password,
            "CAPITAL_BASE_URL": self.sim.base_url,
            "CAPITAL_ENV": None,
            "CAPITAL_ACCOUNT_ID": None,
            "CAPITALCOM_POLICY": None,  # a test gives its own policy file
            # Sessions are kept between runs (the default), in this test's own file.
            "CAPITAL_SESSION_CACHE": str(self.workdir / "sessions.json"),
            "COLUMNS": "200",
        }
        env.update(overrides)
        return env

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Outcome:
        cwd = os.getcwd()
        os.chdir(self.workdir)  # no stray .env from the developer's checkout
        try:
            result = self.runner.invoke(app, list(args), env=env or self.env())
        finally:
            os.chdir(cwd)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def json(self, *args: str, env: dict[str, str | None] | None = None) -> Any:
        """Run with --json, expect success, return the parsed document."""
        outcome = self(*args, "--json", env=env)
        assert outcome.exit_code == 0, (outcome.exit_code, outcome.stdout, outcome.stderr)
        return outcome.json


def _users() -> tuple[UserConfig, ...]:
    # Several users: the SDK allows one login per second per API key in a process (as the
    # server does), and every test's first CLI run logs in (later runs reuse the kept session);
    # tests take turns so they rarely wait.
    return tuple(
        UserConfig(
            client_id=str(22_000_000 + i),
            identifier=f"trader{i}@example.com",
            api_key=f"cli-test-key-{i}",
            password=f"cli-test-password-{i}",
            accounts=default_accounts(i),
        )
        for i in range(USERS)
    )


@pytest.fixture(scope="module")
def module_sim() -> Iterator[SimServer]:
    """One simulator for a whole test module (rate limits off, fixed seed, several users)."""
    server = start_sim(SimConfig(users=_users(), rate_limits=False, seed=11))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cli(module_sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A runner logged in as the next of the simulator's users."""
    for name in list(os.environ):
        if name.startswith("CAPITAL_"):
            monkeypatch.delenv(name)
    user = module_sim.config.users[next(_next_user) % USERS]
    handle = SimHandle(
        module_sim.base_url, user.api_key, user.identifier, user.password, module_sim
    )
    return Cli(handle, tmp_path)
