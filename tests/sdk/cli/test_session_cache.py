"""Sessions kept between ``capitalcom`` runs: fewer logins, private file, safe fallbacks."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from capitalcom_sdk import SessionTokens
from capitalcom_sdk.cli._session_cache import IDLE_SECONDS, SessionCache, cache_key, cache_path
from tests.sdk.cli.conftest import Cli

LOGIN = "POST /api/v1/session"


def logins(cli: Cli) -> int:
    return int(cli.sim.state.stats.snapshot()["requests"].get(LOGIN, 0))


def cache_file(cli: Cli) -> Path:
    return cli.workdir / "sessions.json"


def test_commands_in_a_row_log_in_once(cli: Cli) -> None:
    before = logins(cli)
    cli.json("accounts", "list")
    cli.json("session", "details")
    cli.json("positions", "list")
    assert logins(cli) - before == 1


def test_the_session_file_is_private_and_holds_no_credentials(cli: Cli) -> None:
    cli.json("session", "details")
    path = cache_file(cli)
    text = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cli.sim.api_key not in text
    assert cli.sim.password not in text
    assert cli.sim.identifier not in text
    (entry,) = json.loads(text).values()
    assert set(entry) == {"cst", "securityToken", "accountId", "usedAt"}


def test_no_session_cache_logs_in_every_time_and_writes_nothing(cli: Cli) -> None:
    before = logins(cli)
    cli.json("--no-session-cache", "accounts", "list")
    cli.json("accounts", "list", env=cli.env(CAPITAL_SESSION_CACHE="off"))
    assert logins(cli) - before == 2
    assert not cache_file(cli).exists()


def test_logout_forgets_the_kept_session(cli: Cli) -> None:
    cli.json("session", "details")
    assert json.loads(cache_file(cli).read_text())
    cli.json("session", "logout")
    assert json.loads(cache_file(cli).read_text()) == {}
    before = logins(cli)
    cli.json("session", "details")
    assert logins(cli) - before == 1


def test_a_session_ended_on_the_server_is_replaced_transparently(cli: Cli) -> None:
    cli.json("session", "details")
    assert cli.sim.state.sessions.expire_all(cli.user.client_id) >= 1
    before = logins(cli)
    assert cli.json("accounts", "list")
    assert logins(cli) - before == 1


def test_a_damaged_session_file_is_ignored_and_rewritten(cli: Cli) -> None:
    cache_file(cli).write_text("{not json")
    assert cli.json("session", "details")["accountId"]
    assert json.loads(cache_file(cli).read_text())


def test_account_option_reuses_a_session_already_on_that_account(cli: Cli) -> None:
    login = cli.json("session", "login")
    other = next(
        a["accountId"] for a in login["accounts"] if a["accountId"] != login["currentAccountId"]
    )
    assert cli.json("--account", other, "session", "details")["accountId"] == other
    before = logins(cli)
    assert cli.json("--account", other, "session", "details")["accountId"] == other
    assert logins(cli) == before


# ---- the cache file on its own -------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_with_the_servers_idle_limit(tmp_path: Path) -> None:
    clock = Clock()
    cache = SessionCache(tmp_path / "s.json", clock)
    tokens = SessionTokens("cst-value-1", "token-value-1", "A1")
    cache.save("k", tokens)
    clock.now += IDLE_SECONDS - 1
    assert cache.load("k") == tokens
    clock.now += 2
    assert cache.load("k") is None
    cache.save("other", tokens)  # stale entries are dropped on the next write
    assert set(json.loads((tmp_path / "s.json").read_text())) == {"other"}


def test_an_unwritable_place_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = SessionCache(blocker / "sessions.json")  # its folder is a file
    cache.save("k", SessionTokens("cst-value-2", "token-value-2"))
    assert cache.load("k") is None


def test_where_sessions_are_kept(tmp_path: Path) -> None:
    assert cache_path({"CAPITAL_SESSION_CACHE": "off"}) is None
    assert cache_path({"CAPITAL_SESSION_CACHE": str(tmp_path / "x.json")}) == tmp_path / "x.json"
    default = cache_path({"XDG_CACHE_HOME": str(tmp_path)})
    assert default == tmp_path / "capitalcom-sdk" / "sessions.json"
    assert cache_key("u", "k", "i") != cache_key("u", "k", "j")
