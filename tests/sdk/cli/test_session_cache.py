"""Sessions kept between ``capitalcom`` runs: fewer logins, private file, safe fallbacks."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from capitalcom_sdk import SessionTokens
from capitalcom_sdk.cli._exit import ExitCode
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
    assert cache_path({"CAPITAL_SESSION_CACHE": "off"}, {}) is None
    given = {"CAPITAL_SESSION_CACHE": str(tmp_path / "x.json")}
    assert cache_path(given, {"XDG_CACHE_HOME": "/elsewhere"}) == tmp_path / "x.json"
    default = cache_path({}, {"XDG_CACHE_HOME": str(tmp_path)})
    assert default == tmp_path / "capitalcom-sdk" / "sessions.json"
    home = Path("~/.cache/capitalcom-sdk/sessions.json").expanduser()
    assert cache_path({}, {}) == home
    assert cache_path({}, {"XDG_CACHE_HOME": "relative/dir"}) == home  # invalid per XDG: ignored


def test_the_key_covers_every_credential_and_the_requested_account() -> None:
    base = ("http://sim", "key", "me", "pw", None)
    variants = [
        ("http://other", "key", "me", "pw", None),
        ("http://sim", "key2", "me", "pw", None),
        ("http://sim", "key", "you", "pw", None),
        ("http://sim", "key", "me", "pw2", None),
        ("http://sim", "key", "me", "pw", "ACC-2"),
    ]
    keys = {cache_key(*base), *(cache_key(*v) for v in variants)}
    assert len(keys) == 1 + len(variants)
    assert cache_key("http://sim/", "key", "me", "pw", None) == cache_key(*base)


# ---- (a) the kept session is bound to the account asked for ------------------------------
def _accounts(cli: Cli) -> tuple[str, str]:
    login = cli.json("--no-session-cache", "session", "login")
    preferred = login["currentAccountId"]
    other = next(a["accountId"] for a in login["accounts"] if a["accountId"] != preferred)
    return preferred, other


def test_a_run_with_account_does_not_lend_its_session_to_runs_without(cli: Cli) -> None:
    preferred, other = _accounts(cli)
    assert cli.json("--account", other, "session", "details")["accountId"] == other
    assert cli.json("session", "details")["accountId"] == preferred
    assert cli.json("--no-session-cache", "session", "details")["accountId"] == preferred
    # both kinds of run keep their own session: no further login for either
    before = logins(cli)
    assert cli.json("--account", other, "session", "details")["accountId"] == other
    assert cli.json("session", "details")["accountId"] == preferred
    assert logins(cli) == before


def test_trading_without_account_after_a_run_with_account_uses_the_preferred_one(
    cli: Cli,
) -> None:
    preferred, other = _accounts(cli)
    cli.json("--account", other, "positions", "list")
    cli.json("positions", "open", "GOLD", "BUY", "1")
    assert len(cli.json("--no-session-cache", "positions", "list")["positions"]) == 1
    assert cli.json("--account", other, "positions", "list")["positions"] == []
    assert cli.json("session", "details")["accountId"] == preferred


def test_a_session_switched_by_session_switch_is_not_kept_for_the_preferred_account(
    cli: Cli,
) -> None:
    preferred, other = _accounts(cli)
    cli.json("session", "details")
    cli.json("session", "switch", other)
    assert cli.json("session", "details")["accountId"] == preferred


# ---- (b) the exact credentials ---------------------------------------------------------------
def test_a_wrong_password_does_not_work_from_the_cache(cli: Cli) -> None:
    cli.json("session", "details")
    wrong = cli("session", "details", "--json", env=cli.env(CAPITAL_PASSWORD="not-the-password"))
    assert wrong.exit_code == ExitCode.AUTH, wrong
    # the right password still finds its session
    before = logins(cli)
    cli.json("session", "details")
    assert logins(cli) == before
    text = cache_file(cli).read_text()
    assert cli.sim.password not in text
    assert "not-the-password" not in text


def test_a_wrong_api_key_or_login_does_not_work_from_the_cache(cli: Cli) -> None:
    cli.json("session", "details")
    for override in ({"CAPITAL_API_KEY": "no-such-key"}, {"CAPITAL_IDENTIFIER": "x@example.com"}):
        outcome = cli("session", "details", "--json", env=cli.env(**override))
        assert outcome.exit_code == ExitCode.AUTH, (override, outcome)


# ---- (c) XDG_CACHE_HOME --------------------------------------------------------------------
def test_xdg_cache_home_is_honoured(cli: Cli) -> None:
    xdg = cli.workdir / "xdg"
    cli.json("session", "details", env=cli.env(CAPITAL_SESSION_CACHE=None, XDG_CACHE_HOME=str(xdg)))
    assert (xdg / "capitalcom-sdk" / "sessions.json").is_file()
    assert stat.S_IMODE((xdg / "capitalcom-sdk").stat().st_mode) == 0o700
    assert not cache_file(cli).exists()


def test_tests_never_reach_the_real_cache_folder() -> None:
    """tests/conftest.py points XDG_CACHE_HOME at a temporary folder for the whole run."""
    xdg = Path(os.environ["XDG_CACHE_HOME"])
    assert xdg.is_absolute()
    assert xdg != Path("~/.cache").expanduser()
    assert cache_path({}) == xdg / "capitalcom-sdk" / "sessions.json"


# ---- (d) exclusive, private, symlink-safe writes ----------------------------------------
TOKENS = SessionTokens("cst-value-9", "token-value-9", "A9")


def _private_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    return folder


def test_the_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    path = _private_folder(tmp_path) / "s.json"
    previous = os.umask(0)
    try:
        SessionCache(path).save("k", TOKENS)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_writes_are_synced_and_leave_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _private_folder(tmp_path)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    SessionCache(folder / "s.json").save("k", TOKENS)
    assert len(synced) == 2  # the file's data, then the folder's entry (the rename)
    assert sorted(p.name for p in folder.iterdir()) == ["s.json"]


def test_temporary_names_are_unpredictable_and_never_followed(tmp_path: Path) -> None:
    folder = _private_folder(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    # what the old code would have opened with O_TRUNC: planted as a symlink to the victim
    (folder / f".s.json.{os.getpid()}.tmp").symlink_to(victim)
    cache = SessionCache(folder / "s.json")
    cache.save("k", TOKENS)
    cache.save("k2", TOKENS)
    assert victim.read_text() == "untouched"
    assert cache.load("k") == TOKENS


def test_a_planted_symlink_is_neither_read_nor_written_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _private_folder(tmp_path)
    target = tmp_path / "planted.json"
    target.write_text(json.dumps({"k": {"cst": "x", "securityToken": "y", "usedAt": 1e18}}))
    os.chmod(target, 0o600)
    path = folder / "s.json"
    path.symlink_to(target)
    cache = SessionCache(path, lambda: 1e18)
    with caplog.at_level(logging.WARNING, logger="capitalcom_sdk"):
        assert cache.load("k") is None
    assert "symlink" in caplog.text
    cache.save("k", TOKENS)
    assert not path.is_symlink()  # the link itself was replaced, its target left alone
    assert json.loads(target.read_text())["k"]["cst"] == "x"


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_a_folder_others_can_write_is_refused(
    tmp_path: Path, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, mode)
    cache = SessionCache(folder / "s.json")
    with caplog.at_level(logging.WARNING, logger="capitalcom_sdk"):
        cache.save("k", TOKENS)
    assert not (folder / "s.json").exists()
    assert "writable by others" in caplog.text
    os.chmod(folder, 0o700)
    cache.save("k", TOKENS)
    os.chmod(folder, mode)
    assert cache.load("k") is None  # a file in such a folder may have been planted


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = _private_folder(tmp_path) / "s.json"
    cache = SessionCache(path)
    cache.save("k", TOKENS)
    assert cache.load("k") == TOKENS
    os.chmod(path, mode)
    assert cache.load("k") is None


def test_a_folder_or_file_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _private_folder(tmp_path) / "s.json"
    cache = SessionCache(path)
    cache.save("k", TOKENS)
    owner = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)  # as seen by someone else
    assert cache.load("k") is None
    before = path.read_bytes()
    cache.save("k2", TOKENS)
    assert path.read_bytes() == before


def test_a_shared_folder_such_as_tmp_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # noqa: S103 - the point: a world-writable sticky folder
    cache = SessionCache(shared / "s.json")
    cache.save("k", TOKENS)
    assert not (shared / "s.json").exists()
