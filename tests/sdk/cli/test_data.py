"""``capitalcom data sync`` / ``data ls`` against the simulator: summary, re-sync, --keys."""

from __future__ import annotations

from pathlib import Path

from capitalcom_sdk.catalog import Catalog
from tests.sdk.cli.conftest import Cli


def test_data_sync_fills_the_catalog_and_a_rerun_adds_nothing(cli: Cli, tmp_path: Path) -> None:
    root = str(tmp_path / "data")

    first = cli.json(
        "data", "sync", "GOLD", "EURUSD", "-r", "HOUR,DAY", "--from", "20d", "--root", root
    )
    again = cli.json(
        "data", "sync", "GOLD", "EURUSD", "-r", "HOUR,DAY", "--from", "20d", "--root", root
    )

    assert first["barsAdded"] > 0
    assert {(s["epic"], s["resolution"]) for s in first["series"]} == {
        ("GOLD", "HOUR"),
        ("GOLD", "DAY"),
        ("EURUSD", "HOUR"),
        ("EURUSD", "DAY"),
    }
    assert first["barsAdded"] == sum(i.bars for i in Catalog(root).series())
    assert again["priceRequests"] <= 4
    listing = cli.json("data", "ls", "--root", root)
    assert {(s["epic"], s["resolution"]) for s in listing} == {
        (s["epic"], s["resolution"]) for s in first["series"]
    }
    assert all(s["decimalPlaces"] is not None and s["coverage"] for s in listing)


def test_data_sync_with_a_keys_file_spreads_over_the_keys(cli: Cli, tmp_path: Path) -> None:
    users = cli.sim.state.config.users[-2:]
    keys = tmp_path / "keys.toml"
    keys.write_text(
        "".join(
            f'[[keys]]\napi_key = "{u.api_key}"\nidentifier = "{u.identifier}"\n'
            f'password = "{u.password}"\n'
            for u in users
        )
    )
    root = str(tmp_path / "data")

    summary = cli.json(
        "data",
        "sync",
        "GOLD",
        "US500",
        "-r",
        "HOUR",
        "--from",
        "40d",
        "--root",
        root,
        "--keys",
        str(keys),
    )

    assert summary["clients"] == 2
    assert summary["barsAdded"] == sum(i.bars for i in Catalog(root).series()) > 0


def test_data_sync_shows_progress_and_a_summary_for_people(cli: Cli, tmp_path: Path) -> None:
    outcome = cli("data", "sync", "GOLD", "-r", "HOUR", "--from", "5d", "--root", str(tmp_path))

    assert outcome.exit_code == 0, outcome.stderr
    assert "bars added" in outcome.stdout
    assert "GOLD" in outcome.stdout


def test_data_sync_refuses_a_bad_resolution_before_any_request(cli: Cli, tmp_path: Path) -> None:
    outcome = cli("data", "sync", "GOLD", "-r", "HOUR,FORTNIGHT", "--root", str(tmp_path), "--json")

    assert outcome.exit_code != 0
    assert outcome.error["field"] == "resolution"
    assert not (tmp_path / "prices").exists()
