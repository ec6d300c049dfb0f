"""Bad input on the market/trading routes: a 4xx with an errorCode, never a 500, no change."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SimHandle

RAW_BODIES: list[bytes] = [
    b"{",
    b"[]",
    b'"text"',
    b"null",
    b"42",
    b'{"size": NaN}',
    b'{"size": Infinity}',
    b"\xff\xfe",
    b'{"epic": "SILVER", "direction": "BUY", "size": 1e400}',
]
POSITION = {"epic": "SILVER", "direction": "BUY", "size": 1}
ORDER = {"epic": "SILVER", "direction": "BUY", "size": 1, "level": 20, "type": "LIMIT"}
JSON_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/positions", {}),
    ("POST", "/positions", {**POSITION, "direction": "UP"}),
    ("POST", "/positions", {**POSITION, "direction": None}),
    ("POST", "/positions", {**POSITION, "size": "1x"}),
    ("POST", "/positions", {**POSITION, "size": "NaN"}),
    ("POST", "/positions", {**POSITION, "size": "0x10"}),
    ("POST", "/positions", {**POSITION, "size": True}),
    ("POST", "/positions", {**POSITION, "size": 1e300}),
    ("POST", "/positions", {**POSITION, "size": 0}),
    ("POST", "/positions", {**POSITION, "epic": 5}),
    ("POST", "/positions", {**POSITION, "epic": "NOPE"}),
    ("POST", "/positions", {**POSITION, "stopLevel": "low"}),
    ("POST", "/positions", {**POSITION, "stopDistance": -5}),
    ("POST", "/positions", {**POSITION, "profitAmount": 0}),
    ("POST", "/positions", {**POSITION, "guaranteedStop": "maybe"}),
    ("POST", "/positions", {**POSITION, "guaranteedStop": True}),
    ("POST", "/positions", {**POSITION, "trailingStop": True}),
    (
        "POST",
        "/positions",
        {**POSITION, "guaranteedStop": True, "trailingStop": True, "stopDistance": 1},
    ),
    ("POST", "/workingorders", {**ORDER, "type": "MARKET"}),
    ("POST", "/workingorders", {**ORDER, "level": None}),
    ("POST", "/workingorders", {**ORDER, "level": -1}),
    ("POST", "/workingorders", {**ORDER, "goodTillDate": "tomorrow"}),
    ("POST", "/workingorders", {**ORDER, "goodTillDate": 1764000000000}),
    ("POST", "/workingorders", {**ORDER, "goodTillDate": "2026-13-45T99:00:00"}),
    ("PUT", "/workingorders/nope", {"level": "x"}),
    ("PUT", "/accounts/preferences", {"leverages": [1, 2]}),
    ("PUT", "/accounts/preferences", {"leverages": {"SHARES": "five"}}),
    ("PUT", "/accounts/preferences", {"leverages": {"MOON": 5}}),
    ("PUT", "/accounts/preferences", {"leverages": {"SHARES": 2.5}}),
    ("PUT", "/accounts/preferences", {"hedgingMode": "perhaps"}),
    ("POST", "/accounts/topUp", {"amount": "a hundred"}),
    ("POST", "/accounts/topUp", {"amount": None}),
    ("POST", "/accounts/topUp", {"amount": 1e308}),
    ("POST", "/watchlists", {"name": 12}),
    ("POST", "/watchlists", {"name": "ok", "epics": "SILVER"}),
    ("POST", "/watchlists", {"name": "ok", "epics": [1, 2]}),
    ("PUT", "/watchlists/123456", {"epic": None}),
]
BAD_URLS = [
    "/prices/SILVER?max=abc",
    "/prices/SILVER?max=99999999999999999999999",
    "/prices/SILVER?resolution=",
    "/prices/SILVER?from=%00",
    "/history/activity?lastPeriod=-1",
    "/history/activity?lastPeriod=1.5",
    "/history/activity?filter===",
    "/history/activity?filter=epic==",
    "/history/transactions?from=2026-11-25T12:00:00&to=2026-11-25T11:00:00",
    "/marketnavigation/hierarchy_v1.commodities?limit=501",
    "/marketnavigation/hierarchy_v1.commodities?limit=-1",
    "/clientsentiment",
    "/clientsentiment?marketIds=,,,",
    "/markets/%20",
    "/markets?epics=,",
]


def state_of(sim: SimHandle) -> Any:
    engine = sim.state.engine
    accounts = engine.accounts
    return {
        account_id: (
            account.deposit,
            len(account.positions),
            len(account.orders),
            len(account.confirms),
            json.dumps(engine.preferences(account_id).leverages, default=str),
            engine.preferences(account_id).hedging_mode,
        )
        for account_id, account in accounts.items()
    } | {"watchlists": len(engine.catalog.watchlists(sim.state.config.users[0].client_id))}


def assert_clean_error(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    code = response.json()["errorCode"]
    assert isinstance(code, str)
    assert code.startswith("error.")


def test_malformed_bodies(sim: SimHandle, api: httpx.Client) -> None:
    before = state_of(sim)
    for path in ("/positions", "/workingorders", "/watchlists", "/accounts/topUp"):
        for raw in RAW_BODIES:
            response = api.post(path, content=raw, headers={"Content-Type": "application/json"})
            assert_clean_error(response)
    assert state_of(sim) == before


@pytest.mark.parametrize(("method", "path", "body"), JSON_BODIES)
def test_wrong_fields_are_rejected_without_change(
    sim: SimHandle, api: httpx.Client, method: str, path: str, body: dict[str, Any]
) -> None:
    before = state_of(sim)
    assert_clean_error(api.request(method, path, json=body))
    assert state_of(sim) == before


def test_bad_query_parameters(sim: SimHandle, api: httpx.Client) -> None:
    before = state_of(sim)
    for url in BAD_URLS:
        assert_clean_error(api.get(url))
    assert state_of(sim) == before


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(
        ["/positions", "/workingorders", "/watchlists", "/accounts/topUp", "/accounts/preferences"]
    ),
    overrides=st.dictionaries(
        st.sampled_from(
            [
                "epic",
                "direction",
                "size",
                "level",
                "type",
                "goodTillDate",
                "stopLevel",
                "stopDistance",
                "profitAmount",
                "guaranteedStop",
                "trailingStop",
                "name",
                "epics",
                "amount",
                "leverages",
                "hedgingMode",
            ]
        ),
        json_values,
        max_size=4,
    ),
)
def test_random_field_values_never_break_the_server(
    sim: SimHandle, api: httpx.Client, path: str, overrides: dict[str, Any]
) -> None:
    body = {**ORDER, **overrides}
    method = "PUT" if path == "/accounts/preferences" else "POST"
    response = api.request(method, path, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["errorCode"].startswith("error.")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**POSITION, "size": "five"}, "error.invalid.size"),
        ({**POSITION, "size": "1,5"}, "error.invalid.size"),
        ({**POSITION, "size": "Infinity"}, "error.invalid.size"),
        ({**POSITION, "size": ""}, "error.null.size"),
        ({**POSITION, "size": "   "}, "error.null.size"),
        ({**POSITION, "size": "1e400"}, "error.invalid.size"),
        ({**POSITION, "stopLevel": "low"}, "error.invalid.stopLevel"),
    ],
)
def test_non_numeric_strings_are_400_naming_the_field(
    api: httpx.Client, sim: SimHandle, body: dict[str, Any], code: str
) -> None:
    response = api.post("/positions", json=body)
    assert (response.status_code, response.json()) == (400, {"errorCode": code})
    assert sim.state.engine.positions(_account(sim)) == []


def _account(sim: SimHandle) -> str:
    return sim.state.config.users[0].preferred_account.account_id


def test_numbers_sent_as_strings_are_accepted_as_the_real_binder_does(
    api: httpx.Client, sim: SimHandle
) -> None:
    """Issue 13.7: "size": "5" opens a position of 5, like "size": 5."""
    market = api.get("/markets/SILVER").json()["snapshot"]
    stop = f"{market['bid'] * 0.9:.3f}"
    body = {"epic": "SILVER", "direction": "BUY", "size": " 2 ", "stopLevel": stop}
    opened = api.post("/positions", json=body)
    assert opened.status_code == 200, opened.text
    confirm = api.get(f"/confirms/{opened.json()['dealReference']}").json()
    assert confirm["dealStatus"] == "ACCEPTED", confirm
    assert confirm["size"] == 2
    position = api.get(f"/positions/{confirm['affectedDeals'][0]['dealId']}").json()["position"]
    assert position["size"] == 2.0
    assert position["stopLevel"] == pytest.approx(float(stop))

    level = f"{market['bid'] * 0.8:.2f}"
    order = {"epic": "SILVER", "direction": "BUY", "size": "1.0", "level": level, "type": "LIMIT"}
    placed = api.post("/workingorders", json=order)
    assert placed.status_code == 200, placed.text

    leverages = api.put("/accounts/preferences", json={"leverages": {"SHARES": "5"}})
    assert leverages.status_code == 200, leverages.text
    prefs = api.get("/accounts/preferences").json()
    assert prefs["leverages"]["SHARES"]["current"] == 5

    topped = api.post("/accounts/topUp", json={"amount": "100"})
    assert topped.status_code == 200, topped.text
