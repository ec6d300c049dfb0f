"""``capitalcom policy show`` reads the trading policy file and shows every limit."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sdk.cli.conftest import Cli


def test_policy_show_reads_the_file_and_names_each_limit(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[policy]\nallowed_epics = ["BTCUSD"]\nmax_order_size = 0.5\n')
    outcome = cli("policy", "show", "--file", str(path), "--json")
    assert outcome.exit_code == 0
    shown = json.loads(outcome.stdout)
    assert shown["allowed_epics"] == ["BTCUSD"]
    assert shown["max_order_size"] == 0.5
    assert shown["allow_live"] is False
    text = cli("policy", "show", env=cli.env(CAPITALCOM_POLICY=str(path)))
    assert text.exit_code == 0
    assert "max_order_size" in text.stdout
    assert "no limit" in text.stdout


def test_policy_show_names_a_bad_key(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("max_order_sise = 1\n")
    outcome = cli("policy", "show", "--file", str(path))
    assert outcome.exit_code == 2
    assert "max_order_sise" in outcome.stderr
