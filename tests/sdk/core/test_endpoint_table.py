"""The endpoint table is the one source of what an endpoint is: flags the transport reads and
request body models; the bodies the builders produce are byte-for-byte what they were."""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _transport
from capitalcom_sdk._auth import Credentials, login_flow
from capitalcom_sdk._endpoints import SessionEffect
from capitalcom_sdk._transport import _Core
from capitalcom_sdk.models.requests import SwitchAccountRequest, TopUpRequest
from capitalcom_sdk.resources import _trading as trading
from capitalcom_sdk.resources.accounts import top_up_call, update_preferences_call
from capitalcom_sdk.resources.session import switch_account_call
from capitalcom_sdk.resources.watchlists import add_market_call, create_call


def wire(call: ep.ApiCall[object]) -> bytes:
    """The bytes the transport sends as the body."""
    core = _Core("http://sdk.test", None, http=httpx.Client())
    return core.build(core._http, call).content


NOW = datetime(2030, 1, 1, tzinfo=UTC)
CASES = [
    (
        trading.open_position("GOLD", "buy", 1, {"stop_distance": 20, "profit_distance": 30}),
        b'{"epic":"GOLD","direction":"BUY","size":1.0,"stopDistance":20.0,"profitDistance":30.0}',
    ),
    (
        trading.open_position("GOLD", "SELL", 2.5, {"trailing_stop": True, "stop_distance": 5}),
        b'{"epic":"GOLD","direction":"SELL","size":2.5,"stopDistance":5.0,"trailingStop":true}',
    ),
    (
        trading.update_position("D1", {"stop_level": 1.5, "guaranteed_stop": True}),
        b'{"stopLevel":1.5,"guaranteedStop":true}',
    ),
    (
        trading.create_order(
            "GOLD", "BUY", 1, 100, "limit", NOW + timedelta(days=1), {"stop_level": 90}, now=NOW
        ),
        b'{"epic":"GOLD","direction":"BUY","size":1.0,"level":100.0,"type":"LIMIT",'
        b'"goodTillDate":"2030-01-02T00:00:00","stopLevel":90.0}',
    ),
    (
        trading.update_order("D1", 101, None, {"profit_amount": 5}),
        b'{"level":101.0,"profitAmount":5.0}',
    ),
    (
        update_preferences_call({"shares": 5}, True),
        b'{"leverages":{"SHARES":5},"hedgingMode":true}',
    ),
    (update_preferences_call(None, False), b'{"hedgingMode":false}'),
    (top_up_call(1000), b'{"amount":1000.0}'),
    (create_call("mine", ["GOLD", "SILVER"]), b'{"name":"mine","epics":["GOLD","SILVER"]}'),
    (create_call("empty", []), b'{"name":"empty"}'),
    (add_market_call("W1", "GOLD"), b'{"epic":"GOLD"}'),
    (switch_account_call("A2"), b'{"accountId":"A2"}'),
]


@pytest.mark.parametrize(("call", "expected"), CASES)
def test_bodies_are_the_declared_models_and_the_same_bytes(
    call: ep.ApiCall[object], expected: bytes
) -> None:
    assert call.endpoint.body is not None
    assert isinstance(call.request, call.endpoint.body)
    assert wire(call) == expected


def test_the_login_body_keeps_its_order_and_hides_the_password_in_reprs() -> None:
    flow = login_flow(
        Credentials("key-123456789", "me@example.com", "pw-987654321"), encrypted=False
    )
    call = next(flow)
    assert (
        wire(call)
        == b'{"identifier":"me@example.com","password":"pw-987654321","encryptedPassword":false}'
    )
    assert "pw-987654321" not in repr(call.request)


def test_a_body_of_the_wrong_model_or_for_a_bodiless_endpoint_is_refused() -> None:
    with pytest.raises(TypeError, match="TopUpRequest"):
        ep.SWITCH_ACCOUNT.call(body=TopUpRequest(amount=1.0))
    with pytest.raises(TypeError, match="no request body"):
        ep.PING.call(body=SwitchAccountRequest(account_id="A"))
    # A mapping of wire names is validated into the declared model.
    call = ep.SWITCH_ACCOUNT.call(body={"accountId": "A7"})
    assert call.request == SwitchAccountRequest(account_id="A7")


def test_flags_are_declared_where_the_transport_needs_them() -> None:
    table = ep.ENDPOINTS
    assert {e.name for e in table if e.login} == {"session.login", "session.encryption_key"}
    assert {e.name: e.session for e in table if e.session is not SessionEffect.NONE} == {
        "session.switch_account": SessionEffect.SWITCH_ACCOUNT,
        "session.logout": SessionEffect.LOGOUT,
    }
    for endpoint in table:
        if endpoint.method in ("GET", "DELETE"):
            assert endpoint.body is None, endpoint.name
        if endpoint.order_write:
            assert not endpoint.safe, endpoint.name


def test_the_transport_decides_nothing_from_path_strings() -> None:
    """No ``.path`` comparisons or ``startswith`` in _transport.py: flags only."""
    tree = ast.parse(inspect.getsource(_transport))
    offending = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare | ast.Call)
        and "path" in ast.unparse(node)
        and ("startswith" in ast.unparse(node) or isinstance(node, ast.Compare))
    ]
    assert offending == []
    assert not hasattr(_transport, "_find_endpoint")
    assert not hasattr(_Core, "bind")
