"""The opt-in suite against the real Capital.com *demo* server (``pytest -m live``).

It runs only when CAPITAL_API_KEY, CAPITAL_IDENTIFIER and CAPITAL_PASSWORD are set (without them
its tests are deselected, not skipped: see tests/conftest.py). It never talks to the live (real
money) server: CAPITAL_ENV=live stops the run. Trades (smallest size, opened and closed at once,
on the demo account) run only with CAPITAL_LIVE_TRADING=1. CAPITAL_BASE_URL points it at another
server: tests/test_live_suite.py runs it against the simulator so that the suite itself is known
to work before anybody's credentials meet it.

test_fidelity.py settles the simulator's open questions (docs/simulator.md "Evidence and
choices"): each check asserts what the simulator does by default, so a failure on the real demo
server says which choice to revisit. With CAPITAL_LIVE_REPORT=FILE every check also appends what
it saw to FILE as one JSON object per line (no tokens, no credentials).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client

DEMO_HOST = "https://demo-api-capital.backend-capital.com"


def _demo_only() -> None:
    if os.environ.get("CAPITAL_ENV", "demo").lower() != "demo":
        pytest.exit("the live suite runs against the demo server only (CAPITAL_ENV=demo)", 2)


def _kwargs() -> dict[str, str | None]:
    _demo_only()
    return {
        "api_key": os.environ["CAPITAL_API_KEY"],
        "identifier": os.environ["CAPITAL_IDENTIFIER"],
        "password": os.environ["CAPITAL_PASSWORD"],
        "base_url": os.environ.get("CAPITAL_BASE_URL") or None,
    }


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with Client(**_kwargs(), env="demo") as live:  # type: ignore[arg-type]
        yield live


@pytest.fixture
async def async_client() -> AsyncClient:
    return AsyncClient(**_kwargs(), env="demo")  # type: ignore[arg-type]


@pytest.fixture
def trading() -> None:
    if os.environ.get("CAPITAL_LIVE_TRADING") != "1":
        pytest.skip("trades on the demo account only with CAPITAL_LIVE_TRADING=1")


def observe(question: str, **facts: Any) -> None:
    """Record what the server answered to one open question (CAPITAL_LIVE_REPORT, stdout)."""
    line = json.dumps({"question": question, **facts}, default=str, sort_keys=True)
    print(line)
    target = os.environ.get("CAPITAL_LIVE_REPORT")
    if target:
        with Path(target).open("a", encoding="utf-8") as report:
            report.write(line + "\n")


class RawSession:
    """Plain HTTP to the server under test, for questions the SDK would hide (headers, number
    literals, odd paths). Logs in with the plain password; never logs the tokens."""

    def __init__(self, host: str, api_key: str, identifier: str, password: str) -> None:
        self.host = host.rstrip("/").removesuffix("/api/v1")
        self.http = httpx.Client(base_url=self.host, timeout=30)
        self._credentials = (api_key, identifier, password)
        self.tokens: dict[str, str] = {}
        self.login_body: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"RawSession(host={self.host!r})"

    def login(self) -> httpx.Response:
        api_key, identifier, password = self._credentials
        for _ in range(5):  # POST /session: 1 per second per API key, shared with the SDK
            response = self.http.post(
                "/api/v1/session",
                headers={"X-CAP-API-KEY": api_key},
                json={"identifier": identifier, "password": password},
            )
            if response.status_code != 429:
                break
            time.sleep(1.1)
        assert response.status_code == 200, f"login: {response.status_code} {response.text[:200]}"
        self.tokens = {
            "CST": response.headers["CST"],
            "X-SECURITY-TOKEN": response.headers["X-SECURITY-TOKEN"],
        }
        self.login_body = response.json()
        return response

    def request(
        self, method: str, path: str, *, tokens: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """``path`` under the host (``/api/v1/...``), with the session's (or given) tokens."""
        headers = {**(self.tokens if tokens is None else tokens), **kwargs.pop("headers", {})}
        for _ in range(5):
            response = self.http.request(method, path, headers=headers, **kwargs)
            if response.status_code != 429 or method != "GET":
                return response
            time.sleep(1.1)  # the real server's rate limit, on real time
        return response

    def close(self) -> None:
        if self.tokens:
            self.http.delete("/api/v1/session", headers=self.tokens)
        self.http.close()


@pytest.fixture(scope="module")
def raw() -> Iterator[RawSession]:
    _demo_only()
    host = os.environ.get("CAPITAL_BASE_URL") or DEMO_HOST
    session = RawSession(
        host,
        os.environ["CAPITAL_API_KEY"],
        os.environ["CAPITAL_IDENTIFIER"],
        os.environ["CAPITAL_PASSWORD"],
    )
    session.login()
    try:
        yield session
    finally:
        session.close()
