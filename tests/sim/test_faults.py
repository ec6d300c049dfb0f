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
    while control.get("/stats").json()["status"].get("client_disconnected") != 1:
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


# ---- issue 12: late applies, non-API answers, clients that leave -----------------------------
def _positions(sim: SimHandle) -> list[object]:
    return list(sim.state.engine.positions(sim.state.config.users[0].accounts[0].account_id))


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_apply_late_applies_the_body_after_the_client_gave_up(
    sim: SimHandle, control: httpx.Client, api: httpx.Client, tokens: dict[str, str]
) -> None:
    _fault(control, method="POST", path="/api/v1/positions", kind="apply_late", applyDelayMs=100)
    body = {"epic": "EURUSD", "direction": "BUY", "size": 123}
    with pytest.raises(httpx.ReadTimeout):
        api.post("/positions", headers=tokens, json=body, timeout=0.3)
    assert _positions(sim) == []  # not yet: the client has just left
    _wait_for(lambda: _positions(sim), "the held write was never applied")
    (position,) = _positions(sim)
    assert position.size == 123  # type: ignore[attr-defined]  # the body was kept
    stats = control.get("/stats").json()["status"]
    assert stats.get("client_disconnected") == 1
    assert "500" not in stats


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/v1/accounts/preferences"), ("DELETE", "/api/v1/session")],
)
def test_apply_late_works_for_every_method(
    sim: SimHandle,
    control: httpx.Client,
    api: httpx.Client,
    tokens: dict[str, str],
    method: str,
    path: str,
) -> None:
    _fault(control, method=method, path=path, kind="apply_late")
    content = b'{"leverages":{"CURRENCIES":20}}' if method == "PUT" else None
    with pytest.raises(httpx.ReadTimeout):
        api.request(method, path[len("/api/v1") :], headers=tokens, content=content, timeout=0.3)
    if method == "PUT":
        account = sim.state.config.users[0].accounts[0].account_id

        def applied() -> bool:
            return "20" in repr(sim.state.engine.preferences(account))
    else:

        def applied() -> bool:
            return api.get("/ping", headers=tokens).status_code == 401

    _wait_for(applied, f"late {method} never applied")


def test_a_client_leaving_during_latency_is_not_a_500_nor_a_simulator_bug(
    sim: SimHandle,
    control: httpx.Client,
    api: httpx.Client,
    tokens: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _fault(control, method="POST", path="/api/v1/positions", kind="latency", latencyMs=500)
    with pytest.raises(httpx.ReadTimeout):
        api.post(
            "/positions",
            headers=tokens,
            json={"epic": "EURUSD", "direction": "SELL", "size": 150},
            timeout=0.2,
        )
    _wait_for(lambda: _positions(sim), "a delayed write is still served")
    _wait_for(
        lambda: control.get("/stats").json()["status"].get("client_disconnected") == 1,
        "the client that left was not counted",
    )
    status = control.get("/stats").json()["status"]
    assert "500" not in status
    assert status.get("200") == 1  # the login only: the delayed answer reached nobody
    assert not [r for r in caplog.records if "simulator bug" in r.getMessage()]


@pytest.mark.parametrize(
    ("spec", "status", "content"),
    [
        ({"status": 200}, 200, b""),
        ({"status": 204}, 204, b""),
        ({"status": 302, "headers": {"Location": "https://example.invalid/"}}, 302, b""),
        ({"body": "<html>maintenance</html>", "contentType": "text/html"}, 200, b"<html>"),
        ({"body": "{}", "contentType": "application/json"}, 200, b"{}"),
        ({"status": 403, "body": "Forbidden"}, 403, b"Forbidden"),
        ({"status": 499}, 499, b""),
    ],
)
def test_answer_sends_a_response_that_is_not_the_apis(
    sim: SimHandle,
    control: httpx.Client,
    api: httpx.Client,
    tokens: dict[str, str],
    spec: dict[str, Any],
    status: int,
    content: bytes,
) -> None:
    _fault(control, method="POST", path="/api/v1/positions", kind="answer", **spec)
    response = api.post(
        "/positions", headers=tokens, json={"epic": "EURUSD", "direction": "BUY", "size": 100}
    )
    assert response.status_code == status
    assert response.content.startswith(content)
    assert _positions(sim) == []  # apply defaults to false


def test_answer_can_apply_and_truncate_the_real_answer(
    sim: SimHandle, control: httpx.Client, api: httpx.Client, tokens: dict[str, str]
) -> None:
    _fault(
        control, method="POST", path="/api/v1/positions", kind="answer", apply=True, truncate=True
    )
    response = api.post(
        "/positions", headers=tokens, json={"epic": "EURUSD", "direction": "BUY", "size": 100}
    )
    assert response.status_code == 200
    assert response.content.startswith(b'{"dealReference":"o_')
    assert not response.content.endswith(b"}")
    assert len(_positions(sim)) == 1


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "answer", "truncate": True}, "truncate"),
        ({"kind": "answer", "status": 204, "body": "x"}, "body"),
        ({"kind": "answer", "headers": {"X": 1}}, "headers"),
        ({"kind": "answer", "apply": "yes"}, "apply"),
        ({"kind": "apply_late", "applyDelayMs": -1}, "applyDelayMs"),
    ],
)
def test_bad_new_fault_specs_name_the_field(
    control: httpx.Client, spec: dict[str, Any], field: str
) -> None:
    response = control.post("/faults", json={"path": "/api/v1/positions", **spec})
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": f"error.sim.invalid.{field}"},
    )
