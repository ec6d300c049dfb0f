"""The simulator's command line and its users file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from capitalcom_sim.__main__ import build_parser, config_from_args
from capitalcom_sim.config import ConfigError, SimConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _cli(*extra: str) -> Iterator[tuple[str, list[str]]]:
    """Run ``python -m capitalcom_sim`` and yield (base URL, the lines it printed at start)."""
    args = [sys.executable, "-m", "capitalcom_sim", *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        url = lines[0].strip().rsplit(" ", 1)[-1]
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{url}/api/v1/time", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # real time: the child process is still starting its server
        yield url, lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_module_cli_serves_time_on_the_given_port() -> None:
    port = _free_port()
    with _cli(
        "--host", "127.0.0.1", "--port", str(port), "--api-key", "K", "--identifier", "I",
        "--password", "P", "--seed", "3",
    ) as (url, lines):  # fmt: skip
        assert f"http://127.0.0.1:{port}" in lines[0]
        assert url == f"http://127.0.0.1:{port}"
        body = httpx.get(f"{url}/api/v1/time").json()
        login = httpx.post(
            f"{url}/api/v1/session",
            headers={"X-CAP-API-KEY": "K"},
            json={"identifier": "I", "password": "P"},
        )
    assert isinstance(body["serverTime"], int)
    assert login.status_code == 200
    printed = "".join(lines)
    assert "seed: 3" in printed
    assert "rate limits: on" in printed
    assert "api key: (as given)" in printed  # credentials from flags are not echoed
    assert "password: (as given)" in printed


def test_port_zero_prints_the_port_chosen_and_the_defaults() -> None:
    with _cli("--port", "0", "--no-rate-limits", "--session-max-minutes", "5") as (url, lines):
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
    printed = "".join(lines)
    assert "api key: sim-api-key" in printed
    assert "rate limits: off" in printed
    assert "5 min max" in printed
    assert "ticks: 1000 ms  confirm lag: 0 ms  overnight fees: on  stop-out: 0.5" in printed


def _users_file(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "users.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


USERS: dict[str, Any] = {
    "seed": 9,
    "users": [
        {
            "identifier": "alice@example.com",
            "apiKey": "alice-key",
            "password": "alice-pass",
            "accounts": [
                {"accountId": "11111111111111111", "currency": "GBP", "balance": 2500},
                {"accountId": "11111111111111112", "currency": "USD", "accountName": "Dollars"},
            ],
        },
        {"clientId": "22222222", "identifier": "bob@example.com", "apiKey": "bob-key",
         "password": "bob-pass", "timezoneOffset": 1},
    ],
}  # fmt: skip


def test_users_file_with_several_users(tmp_path: Path) -> None:
    path = _users_file(tmp_path, USERS)
    with _cli("--port", "0", "--users", str(path)) as (url, lines):
        logins = {
            who: httpx.post(
                f"{url}/api/v1/session",
                headers={"X-CAP-API-KEY": f"{who}-key"},
                json={"identifier": f"{who}@example.com", "password": f"{who}-pass"},
            ).json()
            for who in ("alice", "bob")
        }
    assert "users: 2" in "".join(lines)
    alice = logins["alice"]
    assert alice["currentAccountId"] == "11111111111111111"
    assert alice["currencyIsoCode"] == "GBP"
    assert [a["accountName"] for a in alice["accounts"]] == ["GBP", "Dollars"]
    assert logins["bob"]["clientId"] == "22222222"
    assert logins["bob"]["timezoneOffset"] == 1
    assert len(logins["bob"]["accounts"]) == 2  # default accounts when none are given


def test_flags_override_the_file_settings(tmp_path: Path) -> None:
    path = _users_file(tmp_path, {**USERS, "rateLimits": True})
    args = build_parser().parse_args(
        ["--users", str(path), "--seed", "4", "--no-rate-limits", "--clock-speed", "0"]
    )
    config = config_from_args(args)
    assert (config.seed, config.rate_limits, config.clock_speed) == (4, False, 0.0)
    assert len(config.users) == 2


def test_market_and_trading_options_from_flags_and_file(tmp_path: Path) -> None:
    flags = ["--tick-ms", "250", "--confirm-lag-ms", "1500", "--no-overnight-fees"]
    config = config_from_args(build_parser().parse_args([*flags, "--stop-out-level", "off"]))
    assert (config.tick_ms, config.confirm_lag_ms, config.overnight_fees) == (250, 1500, False)
    assert config.stop_out_level is None

    path = _users_file(tmp_path, {**USERS, "tickMs": 500, "stopOutLevel": 0.8})
    config = config_from_args(build_parser().parse_args(["--users", str(path)]))
    assert (config.tick_ms, config.stop_out_level, config.confirm_lag_ms) == (500, 0.8, 0)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tick-ms", "7000"], "tick_ms must divide 60000"),
        (["--tick-ms", "30000"], "4 or more ticks"),
        (["--confirm-lag-ms", "-1"], "confirm_lag_ms"),
        (["--stop-out-level", "2"], "stop_out_level"),
        (["--stop-out-level", "half"], "--stop-out-level"),
    ],
)
def test_bad_market_options_name_the_option(flags: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_args(build_parser().parse_args(flags))


BOB: dict[str, Any] = USERS["users"][1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"users": []}, "non-empty list"),
        ({"users": [{"identifier": "a", "password": "p"}]}, "users[0].apiKey"),
        ({"users": [{**BOB, "accounts": []}]}, "at least one account"),
        ({"users": [BOB], "colour": "red"}, "unknown keys"),
        ({"users": [BOB, BOB]}, "duplicate API key"),
        ({"users": [{**BOB, "accounts": [{"accountId": "1", "balance": "x"}]}]}, "balance"),
    ],
)
def test_bad_users_files_name_the_problem(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SimConfig.from_dict(data)


def test_bad_users_file_exits_with_status_2(tmp_path: Path) -> None:
    path = _users_file(tmp_path, {"users": []})
    result = subprocess.run(
        [sys.executable, "-m", "capitalcom_sim", "--port", "0", "--users", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "non-empty list" in result.stderr


def test_fidelity_options_from_flags_and_file(tmp_path: Path) -> None:
    defaults = config_from_args(build_parser().parse_args([]))
    assert (
        defaults.accept_previous_security_token,
        defaults.rate_limit_mode,
        defaults.prices_not_found,
        defaults.closed_bar_lag_ms,
        defaults.double_slash_paths,
        defaults.close_with_body,
        defaults.top_up_cap_error,
    ) == (True, "window", "error-code", 0, "not-found", "close", "balance-maxvalue")
    flags = [
        "--reject-previous-security-token",
        "--rate-limit-mode", "bucket",
        "--prices-not-found", "bare",
        "--closed-bar-lag-ms", "10000",
        "--double-slash-paths", "serve",
        "--close-with-body", "not-found",
        "--top-up-cap-error", "account-limit",
    ]  # fmt: skip
    config = config_from_args(build_parser().parse_args(flags))
    assert (
        config.accept_previous_security_token,
        config.rate_limit_mode,
        config.prices_not_found,
        config.closed_bar_lag_ms,
        config.double_slash_paths,
        config.close_with_body,
        config.top_up_cap_error,
    ) == (False, "bucket", "bare", 10_000, "serve", "not-found", "account-limit")

    settings = {
        "acceptPreviousSecurityToken": False,
        "rateLimitMode": "bucket",
        "pricesNotFound": "bare",
        "closedBarLagMs": 10_000,
        "doubleSlashPaths": "serve",
        "closeWithBody": "not-found",
        "topUpCapError": "account-limit",
    }
    path = _users_file(tmp_path, {**USERS, **settings})
    from_file = config_from_args(build_parser().parse_args(["--users", str(path)]))
    assert from_file.rate_limit_mode == "bucket"
    assert from_file.closed_bar_lag_ms == 10_000
    assert from_file.accept_previous_security_token is False
    assert from_file.top_up_cap_error == "account-limit"
    overridden = build_parser().parse_args(["--users", str(path), "--rate-limit-mode", "window"])
    assert config_from_args(overridden).rate_limit_mode == "window"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rateLimitMode": "leaky"}, "rate_limit_mode must be one of window, bucket"),
        ({"closedBarLagMs": -1}, "closed_bar_lag_ms"),
        ({"closedBarLagMs": True}, "closed_bar_lag_ms"),
        ({"acceptPreviousSecurityToken": "yes"}, "accept_previous_security_token"),
        ({"doubleSlashPaths": "maybe"}, "double_slash_paths"),
        ({"pricesNotFound": 404}, "prices_not_found"),
    ],
)
def test_bad_fidelity_options_name_the_option(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SimConfig.from_dict({**USERS, **settings})


def test_accounts_may_be_one_with_an_empty_name_and_trailing_stops_off() -> None:
    one = [{"accountId": "178500000000000001", "accountName": "", "trailingStopsEnabled": True}]
    config = SimConfig.from_dict({"users": [{**BOB, "accounts": one}]})
    (account,) = config.users[0].accounts
    assert (account.account_name, account.trailing_stops_enabled) == ("", True)
    with pytest.raises(ConfigError, match="trailingStopsEnabled"):
        SimConfig.from_dict(
            {"users": [{**BOB, "accounts": [{"accountId": "1", "trailingStopsEnabled": 1}]}]}
        )


def test_the_start_banner_names_the_fidelity_choices() -> None:
    with _cli("--port", "0", "--rate-limit-mode", "bucket") as (_, lines):
        pass
    assert "rate limit mode: bucket" in lines[4]
    assert "previous security token: accepted" in lines[4]


def test_every_flag_and_users_file_setting_is_documented() -> None:
    """docs/simulator.md lists every command-line flag and every users-file setting."""
    from capitalcom_sim.config import _FILE_SETTINGS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()
    flags = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    assert sorted(f for f in flags if f"`{f}" not in docs) == []
    assert sorted(k for k in _FILE_SETTINGS if f"`{k}`" not in docs) == []
