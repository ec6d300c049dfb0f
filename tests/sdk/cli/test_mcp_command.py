"""``capitalcom mcp`` refuses unsafe or incomplete configurations before it starts (the server
itself is tested in tests/sdk/mcp/)."""

from __future__ import annotations

import pytest

from tests.sdk.cli.conftest import Cli

pytest.importorskip("mcp", reason="the mcp extra is not installed")


def test_http_beyond_loopback_needs_a_token(cli: Cli) -> None:
    outcome = cli("mcp", "--http", "--host", "0.0.0.0", "--json")
    assert outcome.exit_code == 2
    assert outcome.error["type"] == "ConfigurationError"
    assert "bearer token" in outcome.error["message"]


def test_trading_on_live_needs_the_opt_in(cli: Cli) -> None:
    outcome = cli("--env", "live", "mcp", "--connect", "--trading", "--json")
    assert outcome.exit_code == 2
    assert "--i-understand-live-trading" in outcome.error["message"]


def test_connect_needs_credentials(cli: Cli) -> None:
    env = cli.env(CAPITAL_API_KEY=None, CAPITAL_PASSWORD=None)
    outcome = cli("mcp", "--connect", "--json", env=env)
    assert outcome.exit_code == 2
    assert "CAPITAL_API_KEY" in outcome.error["message"]
    assert "embedded simulator" in outcome.error["message"]
