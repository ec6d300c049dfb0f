"""Fault injection over real sockets: latency, status, drop, apply_then_drop, timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import SimHandle


@pytest.fixture
def control(sim: SimHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url + "/_sim", timeout=10) as client:
        yield client


@pytest.fixture
def api(sim: SimHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url + "/api/v1", timeout=10) as client:
        yield client


@pytest.fixture
def tokens(sim: SimHandle, api: httpx.Client) -> dict[str, str]:
    response = api.post(
        "/session",
        headers={"X-CAP-API-KEY": sim.api_key},
        json={"identifier": sim.identifier, "password": sim.password},
    )
    headers = response.headers
    return {"CST": headers["CST"], "X-SECURITY-TOKEN": headers["X-SECURITY-TOKEN"]}


def _fault(control: httpx.Client, **spec: Any) -> str:
    response = control.post("/faults", json=spec)
    assert response.status_code == 200, response.text
    fault_id: str = response.json()["id"]
    return fault_id


def test_latency_delays_then_answers(control: httpx.Client, api: httpx.Client) -> None:
    _fault(control, method="GET", path="/api/v1/time", kind="latency", latencyMs=300)
    started = time.monotonic()
    slow = api.get("/time")
    elapsed = time.monotonic() - started
    assert slow.status_code == 200
    assert elapsed >= 0.3
    started = time.monotonic()
    assert api.get("/time").status_code == 200  # times defaults to 1
    assert time.monotonic() - started < 0.3


def test_status_answers_without_applying(
    control: httpx.Client, api: httpx.Client, tokens: dict[str, str]
) -> None:
    _fault(control, method="DELETE", path="/api/v1/session", kind="status", status=503)
    response = api.delete("/session", headers=tokens)
    assert (response.status_code, response.json()) == (
        503,
        {"errorCode": "error.service.unavailable"},
    )
    assert api.get("/ping", headers=tokens).status_code == 200  # logout not applied


def test_status_with_a_custom_error_code(control: httpx.Client, api: httpx.Client) -> None:
    code = "error.too-many.requests"
    _fault(control, path="/api/v1/time", kind="status", status=429, errorCode=code)
    response = api.get("/time")
    assert (response.status_code, response.json()) == (
        429,
        {"errorCode": "error.too-many.requests"},
    )


def test_drop_closes_the_connection_without_applying(
    control: httpx.Client, api: httpx.Client, tokens: dict[str, str]
) -> None:
    _fault(control, method="DELETE", path="/api/v1/session", kind="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        api.delete("/session", headers=tokens)
    assert api.get("/ping", headers=tokens).status_code == 200


def test_apply_then_drop_applies_then_closes(
    control: httpx.Client, api: httpx.Client, tokens: dict[str, str]
) -> None:
    _fault(control, method="DELETE", path="/api/v1/session", kind="apply_then_drop")
    with pytest.raises(httpx.RemoteProtocolError):
        api.delete("/session", headers=tokens)
    assert api.get("/ping", headers=tokens).status_code == 401  # the logout happened


def test_timeout_holds_until_the_client_gives_up(
    sim: SimHandle, control: httpx.Client, api: httpx.Client, tokens: dict[str, str]
) -> None:
    _fault(control, method="DELETE", path="/api/v1/session", kind="timeout")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        api.delete("/session", headers=tokens, timeout=0.4)
    assert 0.4 <= time.monotonic() - started < 5
    assert api.get("/ping", headers=tokens).status_code == 200  # not applied
    deadline = time.monotonic() + 5
    while control.get("/stats").json()["status"].get("dropped") != 1:
        assert time.monotonic() < deadline, "held request never released"
        time.sleep(0.02)  # real time: a held request is released by the server's own timer


def test_timeout_with_a_hold_shorter_than_the_client_timeout_drops(
    control: httpx.Client, api: httpx.Client
) -> None:
    _fault(control, path="/api/v1/time", kind="timeout", latencyMs=200)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/time", timeout=5)


def test_times_counts_matching_requests_and_null_is_unlimited(
    control: httpx.Client, api: httpx.Client
) -> None:
    limited = _fault(control, method="GET", path="/api/v1/time", kind="status", times=2)
    statuses = [api.get("/time").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    unlimited = _fault(control, method="GET", path="/api/v1/time", kind="status", times=None)
    assert [api.get("/time").status_code for _ in range(5)] == [503] * 5
    faults = {f["id"]: f for f in control.get("/faults").json()["faults"]}
    assert (faults[limited]["remaining"], faults[limited]["hits"]) == (0, 2)
    assert (faults[unlimited]["remaining"], faults[unlimited]["hits"]) == (None, 5)
    assert control.delete("/faults").status_code == 200
    assert control.get("/faults").json() == {"faults": []}
    assert api.get("/time").status_code == 200


def test_method_and_regex_matching(control: httpx.Client, api: httpx.Client) -> None:
    _fault(control, method="POST", path="/api/v1/time", kind="status", times=None)
    _fault(control, method="*", path=r"re:^/api/v1/pi.g$", kind="status", status=418, times=None)
    assert api.get("/time").status_code == 200  # method differs
    assert api.get("/ping").status_code == 418
    assert api.get("/session").status_code == 400  # no match: normal answer (no tokens)


def test_probability_is_deterministic_per_seed(control: httpx.Client, api: httpx.Client) -> None:
    def run() -> list[int]:
        control.delete("/faults")
        _fault(control, path="/api/v1/time", kind="status", times=None, probability=0.5)
        return [api.get("/time").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(503) < 20


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "explode"}, "kind"),
        ({"kind": "status", "status": 99}, "status"),
        ({"kind": "latency", "latencyMs": -1}, "latencyMs"),
        ({"kind": "latency", "latencyMs": "slow"}, "latencyMs"),
        ({"kind": "drop", "times": 0}, "times"),
        ({"kind": "drop", "probability": 2}, "probability"),
        ({"kind": "drop", "path": "re:("}, "path"),
        ({"kind": "drop", "method": 5}, "method"),
    ],
)
def test_bad_fault_specs_are_400s_naming_the_field(
    control: httpx.Client, spec: dict[str, Any], field: str
) -> None:
    response = control.post("/faults", json=spec)
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": f"error.sim.invalid.{field}"},
    )


def test_faults_are_counted_in_stats(control: httpx.Client, api: httpx.Client) -> None:
    _fault(control, path="/api/v1/time", kind="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/time")
    api.get("/time")
    stats = control.get("/stats").json()
    assert stats["requests"]["GET /api/v1/time"] == 2
    assert stats["status"] == {"dropped": 1, "200": 1}
