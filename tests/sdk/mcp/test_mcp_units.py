"""Pure units of the MCP server: preview tokens, the built-in policy, the journal's scrubbing,
the HTTP bind rule and the bearer guard."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import pytest

from capitalcom_sdk._logging import registry
from capitalcom_sdk.mcp import (
    BuiltinPolicy,
    PolicyRefusal,
    PreviewTokens,
    ProposedOrder,
    TokenRefused,
)
from capitalcom_sdk.mcp._journal import Journal, scrub
from capitalcom_sdk.mcp._server import BearerGuard, check_http_bind, is_loopback
from capitalcom_sdk.trading import TradingPolicy

ORDER = ProposedOrder("open", epic="GOLD", direction="BUY", size=1.0).canonical()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_is_single_use_and_bound_to_the_order() -> None:
    tokens = PreviewTokens(60)
    token, ttl = tokens.issue(ORDER)
    assert ttl == 60
    with pytest.raises(TokenRefused, match="does not match"):
        tokens.redeem(token, {**ORDER, "size": 2.0})
    tokens.redeem(token, ORDER)
    with pytest.raises(TokenRefused, match="already used"):
        tokens.redeem(token, ORDER)


def test_altered_token_refused() -> None:
    tokens = PreviewTokens(60)
    token, _ = tokens.issue(ORDER)
    version, nonce, expiry, mac = token.split(".")
    longer = f"{version}.{nonce}.{int(expiry) + 60_000}.{mac}"  # a later expiry, same MAC
    with pytest.raises(TokenRefused, match="does not match"):
        tokens.redeem(longer, ORDER)
    flipped = f"{version}.{nonce}.{expiry}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    with pytest.raises(TokenRefused, match="does not match"):
        tokens.redeem(flipped, ORDER)
    with pytest.raises(TokenRefused, match="not a preview token"):
        tokens.redeem("hello", ORDER)
    tokens.redeem(token, ORDER)  # the genuine one still works once


def test_token_of_another_server_process_refused() -> None:
    token, _ = PreviewTokens(60).issue(ORDER)
    with pytest.raises(TokenRefused, match="does not match"):
        PreviewTokens(60).redeem(token, ORDER)


def test_token_expires() -> None:
    clock = Clock()
    tokens = PreviewTokens(5, clock=clock)
    token, _ = tokens.issue(ORDER)
    clock.now += 5.5
    with pytest.raises(TokenRefused, match="expired"):
        tokens.redeem(token, ORDER)
    fresh, _ = tokens.issue(ORDER)
    clock.now += 4.9
    tokens.redeem(fresh, ORDER)


def test_token_repr_and_messages_hide_the_key() -> None:
    tokens = PreviewTokens(60)
    key = tokens._key
    assert key.hex() not in repr(tokens)
    with pytest.raises(TokenRefused) as info:
        tokens.redeem("v1.x.1.y", ORDER)
    assert key.hex() not in str(info.value)


def test_policy_limits() -> None:
    day = [date(2026, 1, 5)]
    policy = BuiltinPolicy(
        TradingPolicy(allowed_epics=frozenset({"GOLD"}), max_order_size=2, max_orders_per_day=2)
    )
    policy.today = lambda: day[0]
    gold = ProposedOrder("open", epic="GOLD", direction="BUY", size=1.0)
    with pytest.raises(PolicyRefusal) as info:
        policy.check(ProposedOrder("open", epic="EURUSD", direction="BUY", size=1.0))
    assert info.value.rule == "allowed_epics"
    with pytest.raises(PolicyRefusal) as info:
        policy.check(ProposedOrder("open", epic="GOLD", direction="BUY", size=2.5))
    assert info.value.rule == "max_order_size"
    for _ in range(2):
        policy.check(gold)
        policy.record(gold)
    with pytest.raises(PolicyRefusal) as info:
        policy.check(gold)
    assert info.value.rule == "max_orders_per_day"
    policy.check(ProposedOrder("close", epic="EURUSD", size=9, deal_id="d"))  # closes reduce risk
    day[0] = date(2026, 1, 6)
    policy.check(gold)  # a new UTC day


def test_policy_live_opt_in() -> None:
    live = ProposedOrder("close", deal_id="d", live=True)
    with pytest.raises(PolicyRefusal) as info:
        BuiltinPolicy().check(live)
    assert info.value.rule == "allow_live"
    BuiltinPolicy(TradingPolicy(allow_live=True)).check(live)


def test_policy_file(tmp_path: Path) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text('[policy]\nallowed_epics = ["GOLD", "EURUSD"]\nmax_order_size = 0.5\n')
    policy = BuiltinPolicy.from_file(toml)
    assert policy.describe()["allowed_epics"] == ["EURUSD", "GOLD"]
    assert policy.policy.max_order_size == 0.5
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"max_size": 1}))
    with pytest.raises(ValueError, match="unknown policy keys: max_size"):
        BuiltinPolicy.from_file(bad)
    bad.write_text(json.dumps({"max_order_size": -1}))
    with pytest.raises(ValueError, match="max_order_size"):
        BuiltinPolicy.from_file(bad)


def test_journal_scrubs_secrets(tmp_path: Path) -> None:
    registry.add("reg-secret-value-123")
    try:
        journal = Journal(tmp_path / "j.jsonl")
        token, _ = PreviewTokens(60).issue(ORDER)
        journal.write(
            "execute_open_position",
            {"token": token, "note": f"see {token}", "password": "hunter22"},
            "refused",
            reason="with reg-secret-value-123 inside",
        )
        journal.close()
        text = (tmp_path / "j.jsonl").read_text()
    finally:
        registry.discard("reg-secret-value-123")
    assert (tmp_path / "j.jsonl").stat().st_mode & 0o077 == 0  # owner-only
    for secret in (token, "hunter22", "reg-secret-value-123"):
        assert secret not in text
    entry = json.loads(text)
    assert entry["tool"] == "execute_open_position"
    assert entry["verdict"] == "refused"
    # tool results keep the preview token (the assistant needs it), never credentials
    assert scrub({"token": token, "api_key": "k-12345"}, tokens=False) == {
        "token": token,
        "api_key": "***",
    }


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("192.168.1.5", False), ("example.com", False)],
)  # fmt: skip
def test_http_bind_needs_a_token_beyond_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        check_http_bind(host, None)
    else:
        with pytest.raises(ValueError, match="bearer token"):
            check_http_bind(host, None)
    check_http_bind(host, "a-token")


async def test_bearer_guard() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    guarded = BearerGuard(app, "s3cret-token")
    transport = httpx.ASGITransport(app=guarded)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.post("/mcp")).status_code == 401
        wrong = await http.post("/mcp", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "s3cret" not in wrong.text
        right = await http.post("/mcp", headers={"Authorization": "Bearer s3cret-token"})
        assert right.status_code == 200
