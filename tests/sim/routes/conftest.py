"""Route tests: a simulator on loopback with a frozen clock at a known market time."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle

# Wednesday 2026-11-25 12:00:00 UTC
WEDNESDAY_NOON = 1_795_608_000_000


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        users=(single_user(),), rate_limits=False, seed=7, start_ms=WEDNESDAY_NOON, clock_speed=0
    )


@pytest.fixture
def api(sim: SimHandle) -> Iterator[httpx.Client]:
    """An httpx client on /api/v1 with a logged-in session's tokens as default headers."""
    with httpx.Client(base_url=sim.base_url + "/api/v1", timeout=10) as client:
        login = client.post(
            "/session",
            headers={"X-CAP-API-KEY": sim.api_key},
            json={"identifier": sim.identifier, "password": sim.password},
        )
        assert login.status_code == 200, login.text
        client.headers["CST"] = login.headers["CST"]
        client.headers["X-SECURITY-TOKEN"] = login.headers["X-SECURITY-TOKEN"]
        yield client
