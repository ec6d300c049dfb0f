"""Shared fixtures: a simulator served by uvicorn on 127.0.0.1 (random port) over real sockets."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from capitalcom_sim.config import SimConfig, single_user
from capitalcom_sim.server import SimServer
from capitalcom_sim.state import SimState


@dataclass(frozen=True)
class SimHandle:
    """What a test needs to talk to a running simulator."""

    base_url: str
    api_key: str
    identifier: str
    password: str
    server: SimServer = field(repr=False)

    @property
    def state(self) -> SimState:
        return self.server.state

    def client_kwargs(self) -> dict[str, str]:
        return {
            "api_key": self.api_key,
            "identifier": self.identifier,
            "password": self.password,
            "base_url": self.base_url,
        }


LIVE_CREDENTIALS = ("CAPITAL_API_KEY", "CAPITAL_IDENTIFIER", "CAPITAL_PASSWORD")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``live`` (tests/live) run only with demo credentials in the environment;
    without them they are deselected (reported as such), never run and never skipped."""
    if all(os.environ.get(name) for name in LIVE_CREDENTIALS):
        return
    live = [item for item in items if item.get_closest_marker("live")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("live")]


def pytest_configure(config: pytest.Config) -> None:
    # Nothing a test runs may write into the real ~/.cache (the CLI keeps sessions there).
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="capitalcom-tests-cache-")
    # Nor read the developer's trading policy (~/.config/capitalcom/policy.toml).
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="capitalcom-tests-config-")
    os.environ.pop("CAPITALCOM_POLICY", None)


def start_sim(config: SimConfig | None = None) -> SimServer:
    return SimServer(config or SimConfig(users=(single_user(),), rate_limits=False)).start()


def handle_for(server: SimServer) -> SimHandle:
    user = server.config.users[0]
    return SimHandle(server.base_url, user.api_key, user.identifier, user.password, server)


@pytest.fixture
def sim_config() -> SimConfig:
    """Override in a module to start the simulator with other settings."""
    return SimConfig(users=(single_user(),), rate_limits=False, seed=7)


@pytest.fixture
def sim(sim_config: SimConfig) -> Iterator[SimHandle]:
    """A fresh simulator for one test: its base URL and the user's credentials."""
    server = start_sim(sim_config)
    try:
        yield handle_for(server)
    finally:
        server.stop()


# Lines a test wants shown in pytest's terminal summary even when output is captured
# (the Postman contract test reports "matched N/M" this way).
SUMMARY_LINES = pytest.StashKey[list[str]]()


def add_summary_line(config: pytest.Config, line: str) -> None:
    """Show ``line`` in the terminal summary at the end of the run."""
    config.stash.setdefault(SUMMARY_LINES, []).append(line)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)
