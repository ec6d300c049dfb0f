"""``capitalcom session ...`` and the global behaviour: configuration, exit codes, secrets."""

from __future__ import annotations

from pathlib import Path

from tests.sdk.cli.conftest import Cli


def test_login_shows_client_and_accounts(cli: Cli) -> None:
    document = cli.json("session", "login")
    assert document["clientId"] == cli.user.client_id
    assert len(document["accounts"]) >= 2
    assert document["currentAccountId"] in {a["accountId"] for a in document["accounts"]}


def test_login_as_a_table_for_people(cli: Cli) -> None:
    outcome = cli("session", "login")
    assert outcome.exit_code == 0
    assert "logged in" in outcome.stdout
    assert cli.user.client_id in outcome.stdout


def test_details_shows_the_active_account(cli: Cli) -> None:
    document = cli.json("session", "details")
    login = cli.json("session", "login")
    assert document["accountId"] == login["currentAccountId"]
    assert document["clientId"] == login["clientId"]


def test_switch_makes_another_account_active(cli: Cli) -> None:
    login = cli.json("session", "login")
    other = next(
        a["accountId"] for a in login["accounts"] if a["accountId"] != login["currentAccountId"]
    )
    document = cli.json("session", "switch", other)
    assert document["session"]["accountId"] == other


def test_global_account_option_switches_before_the_command(cli: Cli) -> None:
    login = cli.json("session", "login")
    other = next(
        a["accountId"] for a in login["accounts"] if a["accountId"] != login["currentAccountId"]
    )
    assert cli.json("--account", other, "session", "details")["accountId"] == other
    env = cli.env(CAPITAL_ACCOUNT_ID=other)
    assert cli.json("session", "details", env=env)["accountId"] == other


def test_logout_ends_the_session(cli: Cli) -> None:
    before = len(cli.sim.state.sessions.active())
    document = cli.json("session", "logout")
    assert document["status"] == "SUCCESS"
    assert len(cli.sim.state.sessions.active()) <= before


def test_encrypted_password_login(cli: Cli) -> None:
    document = cli.json("--encrypted-password", "session", "login")
    assert document["clientId"]


def test_credentials_from_a_dotenv_file(cli: Cli) -> None:
    (cli.workdir / ".env").write_text(
        f"CAPITAL_API_KEY={cli.sim.api_key}\n"
        f"CAPITAL_IDENTIFIER={cli.sim.identifier}\n"
        f"CAPITAL_PASSWORD={cli.sim.password}\n"
        f"CAPITAL_BASE_URL={cli.sim.base_url}\n",
        encoding="utf-8",
    )
    empty = {k: None for k in cli.env() if k.startswith("CAPITAL_")}
    assert cli.json("session", "details", env=empty)["clientId"]


def test_explicit_env_file_and_environment_wins_over_it(cli: Cli, tmp_path: Path) -> None:
    env_file = tmp_path / "creds.env"
    env_file.write_text(
        f"CAPITAL_API_KEY=wrong-key\nCAPITAL_IDENTIFIER={cli.sim.identifier}\n"
        f"CAPITAL_PASSWORD={cli.sim.password}\nCAPITAL_BASE_URL={cli.sim.base_url}\n",
        encoding="utf-8",
    )
    env = {k: None for k in cli.env() if k.startswith("CAPITAL_")}
    outcome = cli("--env-file", str(env_file), "session", "details", "--json", env=env)
    assert outcome.exit_code == 3
    env["CAPITAL_API_KEY"] = cli.sim.api_key
    assert cli.json("--env-file", str(env_file), "session", "details", env=env)["clientId"]


def test_missing_env_file_is_a_usage_error(cli: Cli) -> None:
    outcome = cli("--env-file", str(cli.workdir / "nope.env"), "session", "details")
    assert outcome.exit_code == 2
    assert "no such file" in outcome.stderr


def test_missing_credentials_exit_2_naming_the_variables(cli: Cli) -> None:
    outcome = cli("session", "details", "--json", env=cli.env(CAPITAL_PASSWORD=None))
    assert outcome.exit_code == 2
    assert "CAPITAL_PASSWORD" in outcome.error["message"]
    assert outcome.error["exitCode"] == 2


def test_wrong_password_exits_3_without_printing_secrets(cli: Cli) -> None:
    secret = "not-the-password-123"
    outcome = cli("session", "login", "--json", env=cli.env(CAPITAL_PASSWORD=secret))
    assert outcome.exit_code == 3
    assert outcome.error["type"] == "AuthenticationError"
    assert outcome.error["status"] in (400, 401)
    assert secret not in outcome.stdout + outcome.stderr
    assert cli.sim.api_key not in outcome.stdout + outcome.stderr


def test_success_output_never_contains_secrets(cli: Cli) -> None:
    outcome = cli("-vv", "session", "login")
    assert outcome.exit_code == 0
    text = outcome.stdout + outcome.stderr
    assert cli.sim.password not in text
    assert cli.sim.api_key not in text
    for session in cli.sim.state.sessions.active():
        assert session.cst not in text
        assert session.security_token not in text


def test_unreachable_server_exits_7(cli: Cli) -> None:
    outcome = cli(
        "session", "details", "--json", env=cli.env(CAPITAL_BASE_URL="http://127.0.0.1:9")
    )
    assert outcome.exit_code == 7
    assert outcome.error["type"] in ("NetworkError", "RequestTimeoutError")


def test_unknown_command_and_bad_option_exit_2(cli: Cli) -> None:
    assert cli("no-such-command").exit_code == 2
    assert cli("session", "details", "--bogus").exit_code == 2
    assert cli("--env", "staging", "session", "details").exit_code == 2


def test_help_explains_every_group(cli: Cli) -> None:
    outcome = cli("--help")
    assert outcome.exit_code == 0
    for group in (
        "session",
        "accounts",
        "markets",
        "prices",
        "positions",
        "orders",
        "watchlists",
        "sim",
    ):
        assert group in outcome.stdout
    assert cli("positions", "open", "--help").exit_code == 0


def test_the_live_url_the_cli_guards_is_the_sdks_live_url() -> None:
    from capitalcom_sdk._environment import BASE_URLS
    from capitalcom_sdk.cli._state import Settings

    assert Settings(base_url=BASE_URLS["live"] + "/api/v1/").is_live
    assert Settings(env="live").is_live
    assert not Settings(env="live", base_url="http://127.0.0.1:8765").is_live
