"""Sessions against the simulator: lazy login, single-flight re-login, switch, logout."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from capitalcom_sdk import (
    AsyncClient,
    AuthenticationError,
    CapitalError,
    Client,
    ConfigurationError,
    NetworkError,
    OrderOutcomeUnknown,
    ServerError,
    SessionExpiredError,
    SessionTokens,
)
from capitalcom_sdk._retry import RetryPolicy
from capitalcom_sdk._transport import MAX_RELOGINS_PER_CALL
from capitalcom_sdk.models.session import LoginResponse
from tests.conftest import SimHandle

LOGIN = "POST /api/v1/session"


def logins(sim: SimHandle) -> int:
    return int(sim.state.stats.snapshot()["requests"].get(LOGIN, 0))


def expire_by_idling(sim: SimHandle) -> None:
    sim.state.clock.advance(601)  # > 10 minutes without use


def test_expired_session_relogs_once(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        client.general.ping()
        expire_by_idling(sim)
        assert client.general.ping().status == "OK"
        assert client.general.ping().status == "OK"
    assert logins(sim) == 2


async def test_expired_session_relogs_once_async(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        await client.general.ping()
        expire_by_idling(sim)
        assert (await client.general.ping()).status == "OK"
    assert logins(sim) == 2


async def test_fifty_tasks_on_an_expired_session_cause_one_login(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        await client.general.ping()
        generation = client._core.tokens.generation
        expire_by_idling(sim)
        results = await asyncio.gather(*(client.general.ping() for _ in range(50)))
        assert client._core.tokens.generation == generation + 1
    assert {r.status for r in results} == {"OK"}
    assert logins(sim) == 2


async def test_fifty_tasks_on_a_fresh_client_cause_one_login(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        await asyncio.gather(*(client.general.ping() for _ in range(50)))
    assert logins(sim) == 1


def test_eight_threads_on_an_expired_session_cause_one_login(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        client.general.ping()
        expire_by_idling(sim)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: client.general.ping().status, range(40)))
    assert set(statuses) == {"OK"}
    assert logins(sim) == 2


async def test_waiters_share_a_failed_login_instead_of_repeating_it(sim: SimHandle) -> None:
    kwargs = {**sim.client_kwargs(), "password": "wrong-password"}
    async with AsyncClient(**kwargs, rate_limit=False) as client:
        results = await asyncio.gather(
            *(client.general.ping() for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, AuthenticationError) for r in results)
        assert logins(sim) == 1
        # A later call tries again (the failure is not remembered forever).
        with pytest.raises(AuthenticationError):
            await client.general.ping()
    assert logins(sim) == 2


def test_encrypted_login_fetches_the_key_and_works(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), encrypted_password=True) as client:
        assert client.general.ping().status == "OK"
    requests = sim.state.stats.snapshot()["requests"]
    assert requests.get("GET /api/v1/session/encryptionKey") == 1
    assert requests.get(LOGIN) == 1


def test_explicit_login_switches_between_plain_and_encrypted(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        plain = client.session.login()
        encrypted = client.session.login(encrypted=True)
        assert plain.current_account_id == encrypted.current_account_id
        assert client.general.ping().status == "OK"
    assert logins(sim) == 2


def test_switched_account_survives_a_relogin(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        login = client.session.login()
        other = next(a.account_id for a in login.accounts if not a.preferred)
        before = client._core.tokens.generation
        client.session.switch_account(other)
        assert client._core.tokens.generation > before  # the new security token was adopted
        assert client.session.details().account_id == other
        expire_by_idling(sim)
        assert client.session.details().account_id == other
    assert logins(sim) == 2


def test_logout_clears_tokens_and_the_next_call_logs_in_again(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        client.general.ping()
        client.session.logout()
        assert not client._core.tokens.present
        assert client.general.ping().status == "OK"
    assert logins(sim) == 2


def test_two_clients_keep_separate_sessions(sim: SimHandle) -> None:
    with (
        Client(**sim.client_kwargs(), rate_limit=False) as first,
        Client(**sim.client_kwargs(), rate_limit=False) as second,
    ):
        first.general.ping()
        second.general.ping()
        assert first._core.tokens.cst != second._core.tokens.cst
        first.session.logout()
        assert second.general.ping().status == "OK"  # unaffected
    assert logins(sim) == 2


def test_calls_without_credentials_need_none_or_explain(sim: SimHandle) -> None:
    with Client(base_url=sim.base_url) as client:
        assert client.general.server_time().server_time > 0
        with pytest.raises(ConfigurationError, match="api_key, identifier and password"):
            client.general.ping()
    assert logins(sim) == 0


def test_hard_session_lifetime_is_handled_like_idle_expiry(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        for _ in range(7):  # keep it busy past the 60-minute cap
            client.general.ping()
            sim.state.clock.advance(590)
        assert client.general.ping().status == "OK"
    assert logins(sim) == 2


def test_logins_of_one_api_key_are_spaced_a_second_apart(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as first, Client(**sim.client_kwargs()) as second:
        started = time.monotonic()
        first.session.login()
        second.session.login()
        elapsed = time.monotonic() - started
    assert elapsed >= 1.0  # POST /session: 1 per second per API key, shared in the process


async def test_public_relogin_is_single_flight_with_the_request_path(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        await client.general.ping()
        transport = client._transport
        seen = client._core.tokens.generation
        expire_by_idling(sim)
        # A stream and twenty requests notice the expiry at once: one login between them.
        await asyncio.gather(transport.relogin(seen), *(client.general.ping() for _ in range(20)))
        await transport.relogin(seen)  # stale generation: nothing to do
    assert logins(sim) == 2


# ---- carrying a session over (export_session / resume_session) -----------------------------
def test_an_exported_session_is_resumed_without_logging_in(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as first:
        login = first.session.login()
        other = next(a.account_id for a in login.accounts if not a.preferred)
        first.session.switch_account(other)
        kept = first.export_session()
    assert kept is not None
    assert kept.account_id == other
    assert "***" in repr(kept)
    assert kept.cst not in repr(kept)
    with Client(**sim.client_kwargs(), rate_limit=False) as second:
        second.resume_session(kept)
        assert second.session.details().account_id == other
    assert logins(sim) == 1


async def test_a_resumed_session_that_ended_logs_in_again_on_its_account(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as first:
        login = await first.session.login()
        other = next(a.account_id for a in login.accounts if not a.preferred)
        await first.session.switch_account(other)
        kept = first.export_session()
    assert kept is not None
    expire_by_idling(sim)
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as second:
        second.resume_session(kept)
        assert (await second.session.details()).account_id == other
        assert second.export_session() != kept  # new tokens from the new login
    assert logins(sim) == 2


def test_no_session_to_export_before_login_or_after_logout(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        assert client.export_session() is None
        client.general.ping()
        assert client.export_session() is not None
        client.session.logout()
        assert client.export_session() is None
    with pytest.raises(ValueError, match="both"):
        SessionTokens("", "token")


# ---- a failed switch back after a re-login (issue 12, item 2) ------------------------------
SWITCH_FAULTS = [
    pytest.param({"kind": "status"}, id="503"),
    pytest.param({"kind": "drop"}, id="dropped"),
    pytest.param({"kind": "apply_then_drop"}, id="applied-then-dropped"),
]
NO_RETRY = RetryPolicy(max_retries=0)


def accounts_of(login: LoginResponse) -> tuple[str, str]:
    preferred = next(a.account_id for a in login.accounts if a.preferred)
    other = next(a.account_id for a in login.accounts if not a.preferred)
    return preferred, other


def fail_next_switch(sim: SimHandle, fault: dict[str, object]) -> None:
    sim.state.faults.add({"method": "PUT", "path": "/api/v1/session", "times": 1, **fault})


def deal_accounts(sim: SimHandle, *accounts: str) -> dict[str, int]:
    return {account: len(sim.state.engine.positions(account)) for account in accounts}


@pytest.mark.parametrize("fault", SWITCH_FAULTS)
def test_an_order_after_a_failed_switch_back_lands_on_the_chosen_account(
    sim: SimHandle, fault: dict[str, object]
) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False, retry=NO_RETRY) as client:
        preferred, other = accounts_of(client.session.login())
        client.session.switch_account(other)
        expire_by_idling(sim)
        fail_next_switch(sim, fault)
        # The re-login lands on the preferred account; its switch back fails: this call says so.
        with pytest.raises(CapitalError):
            client.session.details()
        assert client._core.tokens.present  # the new session (on the preferred account) is kept
        client.positions.open("GOLD", "BUY", 1)
        assert client.session.details().account_id == other
    assert deal_accounts(sim, preferred, other) == {preferred: 0, other: 1}


@pytest.mark.parametrize("fault", SWITCH_FAULTS)
async def test_an_order_after_a_failed_switch_back_lands_on_the_chosen_account_async(
    sim: SimHandle, fault: dict[str, object]
) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False, retry=NO_RETRY) as client:
        preferred, other = accounts_of(await client.session.login())
        await client.session.switch_account(other)
        expire_by_idling(sim)
        fail_next_switch(sim, fault)
        with pytest.raises(CapitalError):
            await client.session.details()
        await client.positions.open("GOLD", "BUY", 1)
        assert (await client.session.details()).account_id == other
    assert deal_accounts(sim, preferred, other) == {preferred: 0, other: 1}


def test_an_order_whose_switch_back_keeps_failing_is_not_sent(sim: SimHandle) -> None:
    """The order itself meets the expiry: re-login, the switch back fails; the next order's
    switch fails too: neither order is sent on the preferred account."""
    with Client(**sim.client_kwargs(), rate_limit=False, retry=NO_RETRY) as client:
        preferred, other = accounts_of(client.session.login())
        client.session.switch_account(other)
        expire_by_idling(sim)
        sim.state.faults.add(
            {"method": "PUT", "path": "/api/v1/session", "kind": "status", "times": 2}
        )
        for _ in range(2):
            with pytest.raises(ServerError) as info:
                client.positions.open("GOLD", "BUY", 1)
            assert not isinstance(info.value, OrderOutcomeUnknown)
            assert info.value.path == "/api/v1/session"  # the switch failed, not the order
        posts = sim.state.stats.snapshot()["requests"].get("POST /api/v1/positions", 0)
        assert posts == 1  # only the first attempt, rejected for the expired session
        # Once the server answers again, the next order switches first and lands on `other`.
        client.positions.open("GOLD", "BUY", 1)
    assert deal_accounts(sim, preferred, other) == {preferred: 0, other: 1}


async def test_an_async_order_whose_switch_back_keeps_failing_is_not_sent(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False, retry=NO_RETRY) as client:
        preferred, other = accounts_of(await client.session.login())
        await client.session.switch_account(other)
        expire_by_idling(sim)
        sim.state.faults.add(
            {"method": "PUT", "path": "/api/v1/session", "kind": "drop", "times": 2}
        )
        for _ in range(2):
            with pytest.raises(NetworkError) as info:
                await client.orders.create("GOLD", "BUY", 1, 100.0, "LIMIT")
            assert not isinstance(info.value, OrderOutcomeUnknown)
        assert sim.state.engine.working_orders(preferred) == []
        await client.orders.create("GOLD", "BUY", 1, 100.0, "LIMIT")
    assert len(sim.state.engine.working_orders(other)) == 1
    assert sim.state.engine.working_orders(preferred) == []


# ---- two expiries while a call waits behind the limiter (issue 12, item 12) ----------------
async def test_two_expiries_inside_one_queued_call_are_re_logged_not_raised(
    sim: SimHandle,
) -> None:
    """50 tasks behind the 10/s limiter (~5 s of queue): the session ends after the 10th and
    after the 30th answer. A call rejected by the first expiry waits behind the queue again
    and meets the second: that is a new expiry of a fresh session, not bad credentials."""
    done = 0

    async def ping(client: AsyncClient) -> str:
        nonlocal done
        status = (await client.general.ping()).status
        done += 1
        if done in (10, 30):
            sim.state.expire_sessions()
        return status

    async with AsyncClient(**sim.client_kwargs(), rate_limit=True) as client:
        await client.session.login()
        results = await asyncio.gather(*(ping(client) for _ in range(50)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert results == ["OK"] * 50
    assert logins(sim) == 3  # the first login and one per expiry (single flight)


def test_a_session_rejected_after_every_relogin_ends_the_call(sim: SimHandle) -> None:
    """A server that rejects every fresh session: a bounded number of re-logins, then the
    error (never a loop)."""
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        client.general.ping()
        before = logins(sim)
        sim.state.faults.add(
            {
                "method": "GET",
                "path": "/api/v1/ping",
                "kind": "status",
                "status": 401,
                "errorCode": "error.invalid.session.token",
                "times": None,
            }
        )
        with pytest.raises(SessionExpiredError):
            client.general.ping()
    assert logins(sim) - before == MAX_RELOGINS_PER_CALL


@pytest.mark.parametrize("bad", ["token-1234567890\n", "tökén-1234567890", " token-1234567890"])
def test_session_tokens_that_cannot_be_sent_are_refused_without_showing_them(bad: str) -> None:
    with pytest.raises(ValueError, match=r"SessionTokens\.cst") as info:
        SessionTokens(bad, "security-token-1234567890")
    assert bad.strip() not in str(info.value)
