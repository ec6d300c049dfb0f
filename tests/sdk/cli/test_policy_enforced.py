"""Trading commands enforce the trading policy of the config file (``$CAPITALCOM_POLICY``)."""

from __future__ import annotations

from pathlib import Path

from capitalcom_sdk.cli._exit import ExitCode
from tests.sdk.cli.conftest import Cli


def _open_deal_ids(cli: Cli) -> set[str]:
    return {p["position"]["dealId"] for p in cli.json("positions", "list")["positions"]}


def test_a_policy_file_refuses_orders_outside_it_and_sends_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nallowed_epics = ["GOLD"]\nmax_order_size = 1\n')
    env = cli.env(CAPITALCOM_POLICY=str(policy))
    before = _open_deal_ids(cli)

    refused = cli("positions", "open", "EURUSD", "BUY", "1000", "--json", env=env)
    assert refused.exit_code == ExitCode.REJECTED, (refused.stdout, refused.stderr)
    assert "allowed_epics" in refused.stderr
    too_big = cli("positions", "open", "GOLD", "BUY", "2", "--json", env=env)
    assert too_big.exit_code == ExitCode.REJECTED
    assert "max_order_size" in too_big.stderr
    assert _open_deal_ids(cli) == before  # nothing was sent

    opened = cli.json("positions", "open", "GOLD", "BUY", "1", env=env)
    assert opened["dealStatus"] == "ACCEPTED"
    assert len(_open_deal_ids(cli) - before) == 1


def test_a_bad_policy_file_is_a_configuration_error(cli: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[policy]\nmax_sise = 1\n")
    outcome = cli(
        "positions", "open", "GOLD", "BUY", "1", env=cli.env(CAPITALCOM_POLICY=str(policy))
    )
    assert outcome.exit_code == ExitCode.USAGE
    assert "max_sise" in outcome.stderr
