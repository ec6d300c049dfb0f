"""The /_sim/ control plane: clock, reset, stats, openapi; and the API's answers to bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from capitalcom_sdk import Client
from capitalcom_sim.config import SimConfig, single_user
from capitalcom_sim.middleware import UNMATCHED, RouteTemplates
from capitalcom_sim.openapi import endpoint_count
from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle

WEDNESDAY_MS = int(datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp() * 1000)  # GOLD open


@pytest.fixture(scope="module")
def control_server() -> Iterator[str]:
    """One simulator shared by the property tests below (hypothesis runs many examples)."""
    server = SimServer(SimConfig(users=(single_user(),), rate_limits=False, seed=3)).start()
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture
def control(sim: SimHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url + "/_sim", timeout=10) as client:
        yield client


@pytest.fixture
def api(sim: SimHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url + "/api/v1", timeout=10) as client:
        yield client


def _login(sim: SimHandle, api: httpx.Client) -> dict[str, str]:
    response = api.post(
        "/session",
        headers={"X-CAP-API-KEY": sim.api_key},
        json={"identifier": sim.identifier, "password": sim.password},
    )
    headers = response.headers
    return {"CST": headers["CST"], "X-SECURITY-TOKEN": headers["X-SECURITY-TOKEN"]}


def test_clock_set_then_advance_then_speed(control: httpx.Client, api: httpx.Client) -> None:
    start = 1_700_000_000_000
    response = control.post("/clock", json={"speed": 0, "advance": 60, "set": start})
    assert response.json() == {"now": start + 60_000, "speed": 0.0}
    assert control.get("/clock").json() == {"now": start + 60_000, "speed": 0.0}
    assert api.get("/time").json() == {"serverTime": start + 60_000}
    response = control.post("/clock", json={"advance": 0.5})
    assert response.json()["now"] == start + 60_500


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"advance": -1}, "advance"),
        ({"advance": "1"}, "advance"),
        ({"speed": -2}, "speed"),
        ({"set": True}, "set"),
        ({"set": -5}, "set"),
        ({"rewind": 3}, "rewind"),
    ],
)
def test_clock_rejects_bad_input(control: httpx.Client, body: dict[str, Any], field: str) -> None:
    response = control.post("/clock", json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": f"error.sim.invalid.{field}"},
    )


def test_reset_forgets_sessions_faults_and_stats(
    sim: SimHandle, control: httpx.Client, api: httpx.Client
) -> None:
    tokens = _login(sim, api)
    control.post("/faults", json={"path": "/api/v1/nothing", "kind": "drop"})
    control.post("/clock", json={"advance": 3600})
    state_before = sim.state
    resets: list[bool] = []
    sim.state.on_reset.append(lambda: resets.append(True))

    response = control.post("/reset")

    assert response.status_code == 200
    assert sim.state is state_before
    assert resets == [True]
    assert api.get("/ping", headers=tokens).status_code == 401
    assert control.get("/faults").json() == {"faults": []}
    stats = control.get("/stats").json()
    assert stats["requests"] == {"GET /api/v1/ping": 1}
    assert abs(control.get("/clock").json()["now"] - api.get("/time").json()["serverTime"]) < 5000


def test_stats_count_by_method_and_path_template(
    sim: SimHandle, control: httpx.Client, api: httpx.Client
) -> None:
    tokens = _login(sim, api)
    api.get("/ping", headers=tokens)
    api.get("/ping", headers=tokens)
    api.put("/session", headers=tokens, json={"accountId": "nope"})
    api.get("/no/such/route")
    control.get("/clock")  # the control plane is not counted
    stats = control.get("/stats").json()
    assert stats["requests"] == {
        "POST /api/v1/session": 1,
        "GET /api/v1/ping": 2,
        "PUT /api/v1/session": 1,
        f"GET {UNMATCHED}": 1,
    }
    assert stats["status"] == {"200": 3, "400": 1, "404": 1}
    assert set(stats["rejected_429"]) >= {"general", "session", "trading", "hourly"}


def test_route_templates_name_path_parameters() -> None:
    async def endpoint(request: Any) -> None:
        return None

    routes: list[Any] = [
        Route("/api/v1/positions", endpoint),
        Route("/api/v1/positions/{dealId}", endpoint),
    ]
    templates = RouteTemplates(routes)
    assert templates.lookup("/api/v1/positions/abc-1") == "/api/v1/positions/{dealId}"
    assert templates.lookup("/api/v1/positions") == "/api/v1/positions"
    assert templates.lookup("/api/v1/positions/a/b") == UNMATCHED


def test_openapi_describes_the_36_real_endpoints(control: httpx.Client) -> None:
    document = control.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    operations = [(method, path) for path, ops in document["paths"].items() for method in ops]
    assert len(operations) == endpoint_count() == 36
    assert all(path.startswith("/api/v1/") for _, path in operations)
    login = document["paths"]["/api/v1/session"]["post"]
    assert login["security"] == [{"ApiKey": []}]
    assert "CST" in login["responses"]["200"]["headers"]
    schemes = document["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {"X-CAP-API-KEY", "CST", "X-SECURITY-TOKEN"}
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI 3.1 meta-schema


# ---- the real API never answers 500 to bad input -------------------------------------------


def test_unknown_route_is_a_json_404(api: httpx.Client) -> None:
    response = api.get("/nothing/here")
    assert (response.status_code, response.json()) == (404, {"errorCode": "error.not-found.route"})


def test_wrong_method_is_a_json_405(api: httpx.Client) -> None:
    response = api.patch("/session")
    assert response.status_code == 405
    assert response.json() == {"errorCode": "error.method-not-allowed"}
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"identifier": NaN}', b"\xff\xfe\x00", b"[" * 100_000],
)
def test_malformed_json_is_a_400(sim: SimHandle, api: httpx.Client, body: bytes) -> None:
    response = api.post(
        "/session",
        headers={"X-CAP-API-KEY": sim.api_key, "Content-Type": "application/json"},
        content=body,
    )
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": "error.malformed.request"},
    )


def test_oversized_body_is_a_413(sim: SimHandle, api: httpx.Client) -> None:
    response = api.post(
        "/session", headers={"X-CAP-API-KEY": sim.api_key}, content=b" " * (9 * 1024 * 1024)
    )
    assert (response.status_code, response.json()) == (
        413,
        {"errorCode": "error.request.too-large"},
    )


def test_trailing_slash_is_accepted(sim: SimHandle, api: httpx.Client) -> None:
    tokens = _login(sim, api)
    assert api.get("/ping/", headers=tokens).json() == {"status": "OK"}
    assert api.get("/time/").status_code == 200


def test_a_bug_in_a_route_is_a_json_500_and_logged(
    sim: SimHandle, api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(account_id: str) -> Any:
        raise RuntimeError("bug")

    sim.state.engine.balance = broken  # type: ignore[method-assign]
    response = api.post(
        "/session",
        headers={"X-CAP-API-KEY": sim.api_key},
        json={"identifier": sim.identifier, "password": sim.password},
    )
    assert (response.status_code, response.json()) == (500, {"errorCode": "error.internal"})
    # Logged by the server thread right after the answer went out: wait for it (real time).
    deadline = time.monotonic() + 5
    while not any("simulator bug" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the bug was not logged"
        time.sleep(0.01)


def test_concurrent_clients_see_consistent_state(sim: SimHandle) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def worker(_: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=sim.base_url + "/api/v1", timeout=10) as client:
            tokens = _login(sim, client)
            for _ in range(20):
                statuses.append(client.get("/ping", headers=tokens).status_code)
                statuses.append(client.get("/session", headers=tokens).status_code)
            statuses.append(client.delete("/session", headers=tokens).status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [s for statuses in pool.map(worker, range(8)) for s in statuses]

    assert set(results) == {200}
    stats = httpx.get(f"{sim.base_url}/_sim/stats").json()
    assert stats["requests"]["GET /api/v1/ping"] == 8 * 20
    assert stats["requests"]["POST /api/v1/session"] == 8
    assert stats["status"]["200"] == len(results) + 8
    assert sim.state.sessions.active() == []


# ---- prices and bars (delegated to the engine) ----------------------------------------------


def _quote(api: httpx.Client, tokens: dict[str, str], epic: str) -> tuple[float, float]:
    snapshot = api.get(f"/markets/{epic}", headers=tokens).json()["snapshot"]
    return snapshot["bid"], snapshot["offer"]


def test_price_pin_keeps_the_spread_and_release_goes_back(
    sim: SimHandle, control: httpx.Client, api: httpx.Client
) -> None:
    tokens = _login(sim, api)
    bid, offer = _quote(api, tokens, "SILVER")
    pinned = control.post("/prices/SILVER", json={"mid": 30.0}).json()
    assert pinned["epic"] == "SILVER"
    assert pinned["bid"] < 30.0 < pinned["offer"]
    assert round(pinned["offer"] - pinned["bid"], 6) == round(offer - bid, 6)
    control.post("/clock", json={"advance": 120})
    assert _quote(api, tokens, "SILVER") == (pinned["bid"], pinned["offer"])
    by_bid = control.post("/prices/SILVER", json={"bid": 31.0}).json()
    assert by_bid["bid"] == 31.0
    released = control.post("/prices/SILVER", json={"release": True})
    assert released.status_code == 200


def test_price_path_is_followed_on_the_clock(
    sim: SimHandle, control: httpx.Client, api: httpx.Client
) -> None:
    tokens = _login(sim, api)
    now = control.post("/clock", json={"speed": 0}).json()["now"]
    start = now - now % 60_000 + 60_000
    path = [[start, 20.0], [start + 60_000, 40.0]]
    assert control.post("/prices/SILVER", json={"path": path}).status_code == 200
    control.post("/clock", json={"set": start + 30_000})
    bid, offer = _quote(api, tokens, "SILVER")
    assert abs((bid + offer) / 2 - 30.0) < 0.1
    control.post("/clock", json={"set": start + 120_000})
    bid, offer = _quote(api, tokens, "SILVER")
    assert abs((bid + offer) / 2 - 40.0) < 0.1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "mid"),
        ({"mid": 1, "bid": 1}, "mid"),
        ({"mid": -3}, "mid"),
        ({"path": []}, "path"),
        ({"path": [[2, 1.0], [1, 2.0]]}, "path"),
        ({"path": [["x", 1.0]]}, "path"),
        ({"offer": 2.0}, "bid"),
        ({"bid": 2.0, "offer": 1.0}, "offer"),
        ({"bid": 0, "offer": 1.0}, "bid"),
        ({"bid": -1.0, "offer": 1.0}, "bid"),
        ({"bid": 1.0, "offer": None}, "offer"),
        ({"bid": 1.0, "offer": "2"}, "offer"),
        ({"bid": 1.0, "offer": True}, "offer"),
        ({"bid": 1.0, "offer": 1e300}, "offer"),
        ({"bid": "x", "offer": 1.0}, "bid"),
        ({"mid": 1.0, "bid": 1.0, "offer": 1.0}, "mid"),
    ],
)
def test_bad_price_controls(control: httpx.Client, body: dict[str, Any], field: str) -> None:
    response = control.post("/prices/SILVER", json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": f"error.sim.invalid.{field}"},
    )


def test_price_pin_of_a_bid_and_offer_quotes_and_fills_at_them(
    sim: SimHandle, control: httpx.Client
) -> None:
    control.post("/clock", json={"set": WEDNESDAY_MS, "speed": 0})
    with Client(**sim.client_kwargs()) as client:
        pinned = control.post("/prices/GOLD", json={"bid": 2050.11, "offer": 2050.98})
        assert pinned.json() == {"epic": "GOLD", "bid": 2050.11, "offer": 2050.98}
        control.post("/clock", json={"advance": 90})
        snapshot = client.markets.get("GOLD").snapshot
        assert snapshot is not None
        assert (snapshot.bid, snapshot.offer) == (2050.11, 2050.98)
        assert client.positions.open("GOLD", "BUY", size=1).level == 2050.98
        assert client.positions.open("GOLD", "SELL", size=1).level == 2050.11
        flat = control.post("/prices/GOLD", json={"bid": 2049.5, "offer": 2049.5}).json()
        assert (flat["bid"], flat["offer"]) == (2049.5, 2049.5)  # a zero spread stays zero
        control.post("/prices/GOLD", json={"mid": 2100.0})  # a mid keeps the spread last set
        snapshot = client.markets.get("GOLD").snapshot
        assert snapshot is not None
        assert (snapshot.bid, snapshot.offer) == (2100.0, 2100.0)


def test_price_control_of_an_unknown_market(control: httpx.Client) -> None:
    response = control.post("/prices/NOPE", json={"mid": 1})
    assert (response.status_code, response.json()) == (404, {"errorCode": "error.not-found.epic"})


def test_bars_replay_drives_price_history(
    sim: SimHandle, control: httpx.Client, api: httpx.Client
) -> None:
    tokens = _login(sim, api)
    now = control.post("/clock", json={"speed": 0}).json()["now"]
    start = now - now % 60_000 - 10 * 60_000
    rows = [
        f"{start + i * 60_000},{20 + i},{21 + i},{19 + i},{20.5 + i},{100 + i}" for i in range(3)
    ]
    csv_text = "time,open,high,low,close,volume\n" + "\n".join(rows) + "\n"
    response = control.post("/bars/SILVER", content=csv_text, headers={"Content-Type": "text/csv"})
    assert response.json() == {"bars": 3}
    begin = datetime.fromtimestamp(start / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    prices = api.get("/prices/SILVER", headers=tokens, params={"from": begin, "max": 3}).json()[
        "prices"
    ]
    assert [round((p["closePrice"]["bid"] + p["closePrice"]["ask"]) / 2, 3) for p in prices] == [
        20.5,
        21.5,
        22.5,
    ]


@pytest.mark.parametrize(
    "csv_text",
    ["a,b\n1,2\n", "time,open,high,low,close\n1,x,2,1,1\n", "time,open,high,low,close\n"],
)
def test_bad_bars_are_400s(control: httpx.Client, csv_text: str) -> None:
    response = control.post("/bars/SILVER", content=csv_text)
    assert response.status_code == 400
    assert response.json()["errorCode"].startswith("error.sim.invalid.")


def test_advancing_the_clock_runs_the_engine_triggers(
    sim: SimHandle, control: httpx.Client, api: httpx.Client
) -> None:
    tokens = _login(sim, api)
    control.post("/clock", json={"speed": 0})
    control.post("/prices/SILVER", json={"mid": 25.0})
    order = {"epic": "SILVER", "direction": "BUY", "size": 1, "level": 24.0, "type": "LIMIT"}
    assert api.post("/workingorders", headers=tokens, json=order).status_code == 200
    assert len(api.get("/workingorders", headers=tokens).json()["workingOrders"]) == 1
    control.post("/prices/SILVER", json={"mid": 23.0})
    engine = sim.state.engine
    calls: list[int | None] = []
    original = engine.advance_to

    def recording(now_ms: int | None = None) -> None:
        calls.append(now_ms)
        original(now_ms)

    engine.advance_to = recording  # type: ignore[method-assign]
    now = control.post("/clock", json={"advance": 5}).json()["now"]
    assert calls == [now]
    assert api.get("/workingorders", headers=tokens).json()["workingOrders"] == []
    positions = api.get("/positions", headers=tokens).json()["positions"]
    assert [p["position"]["direction"] for p in positions] == ["BUY"]


# ---- the control plane never answers 5xx either ---------------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_control_keys = st.sampled_from(
    ["advance", "set", "speed", "mid", "bid", "path", "release", "method", "path", "kind",
     "status", "errorCode", "latencyMs", "times", "probability", "clientId"]
)  # fmt: skip
_control_bodies = st.one_of(_json_values, st.dictionaries(_control_keys, _json_values, max_size=5))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    target=st.sampled_from(
        ["/clock", "/prices/SILVER", "/prices/NOPE", "/faults", "/sessions/expire"]
    ),
    body=_control_bodies,
)
def test_control_plane_rejects_garbage_without_5xx(
    control_server: str, target: str, body: Any
) -> None:
    with httpx.Client(base_url=control_server + "/_sim", timeout=10) as client:
        response = client.post(target, json=body)
        assert response.status_code < 500, (target, body, response.text)
        client.delete("/faults")  # a garbage fault that was accepted must not drop later calls


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(csv_text=st.text(alphabet="0123456789,.-:T\ntimeopenhighlowclosevolumeZ ", max_size=200))
def test_bars_reject_garbage_without_5xx(control_server: str, csv_text: str) -> None:
    response = httpx.post(f"{control_server}/_sim/bars/SILVER", content=csv_text, timeout=10)
    assert response.status_code < 500, (csv_text, response.text)


@pytest.mark.parametrize(
    "path", ["/markets/%F0%9F%98%80/", "/markets/%C4%80/", "/%F0%9F%98%80/", "/ping//"]
)
def test_non_latin_paths_with_a_trailing_slash_are_not_500s(
    sim: SimHandle, api: httpx.Client, path: str
) -> None:
    response = api.get(path, headers=_login(sim, api))
    assert 400 <= response.status_code < 500 or response.status_code == 200
    assert "errorCode" in response.json() or response.status_code == 200
