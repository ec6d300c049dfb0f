"""The first vertical slice: time, login with a plain password, ping, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from capitalcom_sdk import AsyncClient, Client
from tests.conftest import SimHandle


def test_server_time_needs_no_session(sim: SimHandle) -> None:
    with Client(base_url=sim.base_url) as client:
        server_time = client.general.server_time()
    assert abs(server_time.server_time - sim.state.clock.now_ms()) < 5_000
    assert server_time.datetime.tzinfo is UTC


def test_ping_logs_in_lazily_and_keeps_tokens(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        assert client.general.ping().status == "OK"
        assert client.general.ping().status == "OK"
    assert len(sim.state.sessions.active()) == 1


def test_login_returns_accounts(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        login = client.session.login()
        details = client.session.details()
    assert login.current_account_id == details.account_id
    assert len(login.accounts) >= 2
    assert login.streaming_host == sim.base_url.replace("http://", "ws://") + "/"


async def test_async_client_runs_the_same_slice(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client:
        server_time = await client.general.server_time()
        ping = await client.general.ping()
    assert ping.status == "OK"
    assert server_time.datetime < datetime(2100, 1, 1, tzinfo=UTC)
