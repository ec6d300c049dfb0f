"""No secret (API key, password, CST, X-SECURITY-TOKEN) in logs, reprs or exception messages."""

from __future__ import annotations

import logging

import httpx
import pytest

from capitalcom_sdk import AsyncClient, AuthenticationError, CapitalError, Client
from capitalcom_sdk._retry import RetryPolicy
from tests.conftest import SimHandle

FAST = RetryPolicy(max_retries=2, base_delay=0.01, rate_limit_delay=0.01)


class TokenRecorder(httpx.HTTPTransport):
    """Remembers every token the server handed out, to search for them afterwards."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        for name in ("cst", "x-security-token"):
            if name in response.headers:
                self.tokens.add(response.headers[name])
        return response


def test_debug_logged_full_flow_leaks_no_secret(
    sim: SimHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, httpx and httpcore included
    recorder = TokenRecorder()
    texts: list[str] = []
    wrong_password = "wrong-Password-123"
    with Client(**sim.client_kwargs(), transport=recorder, retry=FAST, rate_limit=False) as client:
        client.session.login()
        client.session.login(encrypted=True)
        client.general.ping()
        sim.state.faults.add({"method": "GET", "path": "/api/v1/ping", "kind": "status"})
        sim.state.faults.add(
            {"method": "GET", "path": "/api/v1/ping", "kind": "status", "status": 429}
        )
        client.general.ping()  # two retries
        sim.state.clock.advance(601)
        client.session.details()  # re-login
        sim.state.faults.add(
            {"method": "GET", "path": "/api/v1/ping", "kind": "status", "times": None}
        )
        try:
            client.general.ping()
        except CapitalError as exc:
            texts += [str(exc), repr(exc)]
        sim.state.faults.clear()
        texts += [repr(client), repr(client._core), repr(client._transport)]
        texts += [repr(client._core.credentials), repr(client._core.tokens)]
        texts += [repr(client._core.limiter)]
        client.session.logout()
    kwargs = {**sim.client_kwargs(), "password": wrong_password}
    with Client(**kwargs, rate_limit=False) as bad, pytest.raises(AuthenticationError) as info:
        bad.general.ping()
    texts += [str(info.value), repr(info.value), repr(bad)]

    secrets = {sim.api_key, sim.password, wrong_password, *recorder.tokens}
    assert len(recorder.tokens) >= 6  # three logins, each a CST and a security token
    logged = [record.getMessage() for record in caplog.records]
    assert any("retrying" in line for line in logged)
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # header dumps checked
    assert any("session.login" in line for line in logged)
    everything = "\n".join(logged + texts + [caplog.text])
    for secret in secrets:
        assert secret not in everything


async def test_async_client_reprs_hide_credentials(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        await client.general.ping()
        shown = " ".join([repr(client), repr(client._core), repr(client._transport)])
        cst = client._core.tokens.cst
    assert cst is not None
    assert sim.password not in shown
    assert sim.api_key not in repr(client) + repr(client._core)
    assert cst not in repr(client) + repr(client._core)
