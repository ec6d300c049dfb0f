"""``capitalcom mcp`` end to end: the official MCP client over stdio, the simulator behind it."""

from __future__ import annotations

from pathlib import Path

import httpx

from capitalcom_sdk._endpoints import ENDPOINTS
from tests.conftest import SimHandle
from tests.sdk.mcp.conftest import API_KEY, PASSWORD, serve

TRADING_TOOLS = {
    "preview_open_position",
    "execute_open_position",
    "preview_close_position",
    "execute_close_position",
    "settle_order",
}


def open_positions(sim: SimHandle) -> list[dict[str, object]]:
    with httpx.Client(base_url=sim.base_url) as http:
        login = http.post(
            "/api/v1/session",
            headers={"X-CAP-API-KEY": API_KEY},
            json={"identifier": sim.identifier, "password": PASSWORD},
        )
        headers = {k: login.headers[k] for k in ("CST", "X-SECURITY-TOKEN")}
        positions: list[dict[str, object]] = http.get("/api/v1/positions", headers=headers).json()[
            "positions"
        ]
    return positions


def sent_orders(sim: SimHandle) -> int:
    """POST /positions requests the simulator received."""
    stats = httpx.get(f"{sim.base_url}/_sim/stats").json()
    return int(stats["requests"].get("POST /api/v1/positions", 0))


def fault(
    sim: SimHandle,
    kind: str,
    method: str = "POST",
    path: str = "/api/v1/positions",
    **extra: object,
) -> None:
    """One fault through the simulator's control plane (POST /_sim/faults)."""
    spec = {"method": method, "path": path, "kind": kind, "times": 1, **extra}
    answer = httpx.post(f"{sim.base_url}/_sim/faults", json=spec)
    assert answer.status_code in (200, 201), answer.text


async def test_read_only_by_default_tools_are_annotated(sim: SimHandle, tmp_path: Path) -> None:
    async with serve(tmp_path, sim=sim) as served:
        tools = {t.name: t for t in (await served.session.list_tools()).tools}
    # tools only: no resources or prompts an assistant could invoke on its own
    assert served.init.capabilities.resources is None
    assert served.init.capabilities.prompts is None
    assert not TRADING_TOOLS & set(tools)
    for tool in tools.values():
        a = tool.annotations
        assert a is not None, tool.name
        for hint in (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint):
            assert isinstance(hint, bool), tool.name
        assert a.read_only_hint, f"{tool.name} listed without --trading"
        assert "changes nothing" in (tool.description or "").lower(), tool.name
    # one generated tool per read endpoint that has a client method of its name
    for endpoint in ENDPOINTS:
        if (
            endpoint.method == "GET"
            and endpoint.auth
            and endpoint.name != "markets.navigation_node"
        ):
            assert endpoint.name.replace(".", "_") in tools, endpoint.name
    assert {"quote", "history_summary", "account_overview", "positions"} <= set(tools)
    assert "session_login" not in tools
    assert "session_logout" not in tools


async def test_trading_tier_annotations(sim: SimHandle, tmp_path: Path) -> None:
    async with serve(tmp_path, "--trading", sim=sim) as served:
        tools = {t.name: t for t in (await served.session.list_tools()).tools}
    assert set(tools) >= TRADING_TOOLS
    execute = tools["execute_open_position"].annotations
    assert execute is not None
    assert (execute.read_only_hint, execute.destructive_hint, execute.idempotent_hint) == (
        False,
        True,
        False,
    )
    preview = tools["preview_open_position"].annotations
    assert preview is not None
    assert preview.read_only_hint
    assert not preview.destructive_hint
    delete = tools["watchlists_delete"].annotations
    assert delete is not None
    assert delete.destructive_hint
    assert not delete.read_only_hint
    assert "CHANGES" in (tools["watchlists_delete"].description or "")
    # order writes never as raw endpoint tools: only through preview/execute
    assert not {"positions_open", "positions_close", "orders_create", "orders_delete"} & set(tools)


async def test_a_read(sim: SimHandle, tmp_path: Path) -> None:
    async with serve(tmp_path, sim=sim) as served:
        error, quote = await served.call("quote", epic="GOLD")
        assert not error
        assert quote["epic"] == "GOLD"
        assert quote["offer"] > quote["bid"] > 0
        error, markets = await served.call("markets_search", search_term="gold")
        assert not error
        assert any(m["epic"] == "GOLD" for m in markets["markets"])
        error, summary = await served.call(
            "history_summary",
            epic="EURUSD",
            resolution="HOUR",
            start="2026-11-30T00:00:00Z",
            end="2026-12-01T00:00:00Z",
        )
        assert not error, summary
        assert 0 < summary["bars"] <= 25  # both ends inclusive
        assert summary["low"] <= min(summary["open"], summary["close"])
        assert summary["high"] >= max(summary["open"], summary["close"])
        error, problem = await served.call("quote")
        assert error
        assert problem["problems"][0]["field"] == "epic"
    entries = served.journal_entries()
    assert [e["tool"] for e in entries] == ["quote", "markets_search", "history_summary", "quote"]
    assert [e["verdict"] for e in entries] == ["ok", "ok", "ok", "refused"]


async def test_preview_then_execute_then_replay_refused(sim: SimHandle, tmp_path: Path) -> None:
    order = {"epic": "GOLD", "direction": "BUY", "size": 1.0, "stop_distance": 20.0}
    async with serve(tmp_path, "--trading", sim=sim) as served:
        error, preview = await served.call("preview_open_position", **order)
        assert not error, preview
        assert preview["order"]["size"] == 1.0
        assert preview["estimated_price"] > 0
        token = preview["token"]
        assert not open_positions(sim), "a preview sent the order"

        error, altered = await served.call(
            "execute_open_position", token=token, **order | {"size": 2.0}
        )
        assert error
        assert altered["verdict"] == "refused"
        assert not open_positions(sim)

        error, done = await served.call("execute_open_position", token=token, **order)
        assert not error, done
        assert done["verdict"] == "placed"
        held = open_positions(sim)
        assert [p["position"]["dealId"] for p in held] == [done["deal_id"]]  # type: ignore[index]

        error, replay = await served.call("execute_open_position", token=token, **order)
        assert error
        assert replay["verdict"] == "refused"
        assert "already used" in replay["reason"]
        assert len(open_positions(sim)) == 1

        error, listed = await served.call("positions")
        assert listed["count"] == 1
        assert listed["positions"][0]["deal_id"] == done["deal_id"]

        error, close_preview = await served.call("preview_close_position", deal_id=done["deal_id"])
        assert not error, close_preview
        error, closed = await served.call(
            "execute_close_position", token=close_preview["token"], deal_id=done["deal_id"]
        )
        assert not error, closed
        assert closed["verdict"] == "closed"
    assert not open_positions(sim)
    verdicts = [(e["tool"], e["verdict"]) for e in served.journal_entries()]
    assert verdicts[:4] == [
        ("preview_open_position", "ok"),
        ("execute_open_position", "refused"),
        ("execute_open_position", "placed"),
        ("execute_open_position", "refused"),
    ]
    assert ("execute_close_position", "closed") in verdicts


async def test_policy_violation_refused(sim: SimHandle, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nallowed_epics = ["GOLD"]\nmax_order_size = 2\n')
    async with serve(tmp_path, "--trading", "--policy", str(policy), sim=sim) as served:
        error, refused = await served.call(
            "preview_open_position", epic="EURUSD", direction="BUY", size=1000
        )
        assert error
        assert refused == {
            "verdict": "refused",
            "rule": "allowed_epics",
            "reason": "EURUSD is not in ['GOLD']",
        }
        error, too_big = await served.call(
            "preview_open_position", epic="GOLD", direction="SELL", size=5
        )
        assert error
        assert too_big["rule"] == "max_order_size"
        assert "token" not in too_big
        # what execute would refuse is refused at preview, before a token exists
        error, bad = await served.call(
            "preview_open_position",
            epic="GOLD",
            direction="BUY",
            size=1,
            stop_level=2000.0,
            stop_distance=10.0,
        )
        assert error
        assert bad["error"] == "RequestValidationError"
        assert "stop" in bad["message"]
        assert "token" not in bad
    assert not open_positions(sim)
    assert [e["verdict"] for e in served.journal_entries()] == ["refused", "refused", "error"]


async def test_the_sdk_trading_policy_is_enforced_when_the_order_is_sent(
    sim: SimHandle, tmp_path: Path
) -> None:
    """The policy file is the SDK's TradingPolicy: limits only the sending client can check
    (open positions) refuse at execute, through the client's safety layer, with nothing sent."""
    policy = tmp_path / "policy.toml"
    policy.write_text("[policy]\nmax_open_positions = 1\nmax_order_size = 2\n")
    order = {"epic": "GOLD", "direction": "BUY", "size": 1.0}
    async with serve(tmp_path, "--trading", "--policy", str(policy), sim=sim) as served:
        error, first = await served.call("preview_open_position", **order)
        assert not error, first
        assert first["policy"]["max_open_positions"] == 1
        error, done = await served.call("execute_open_position", token=first["token"], **order)
        assert not error, done
        assert done["verdict"] == "placed"
        error, second = await served.call("preview_open_position", **order)
        assert not error, second  # the preview cannot see the open positions
        error, refused = await served.call("execute_open_position", token=second["token"], **order)
        assert error
        assert refused["verdict"] == "refused"
        assert refused["rule"] == "max_open_positions"
    assert len(open_positions(sim)) == 1
    assert [e["verdict"] for e in served.journal_entries()][-1] == "refused"


async def test_timed_out_order_is_reconciled_not_resent(sim: SimHandle, tmp_path: Path) -> None:
    order = {"epic": "GOLD", "direction": "BUY", "size": 1.0}
    # --late-apply-window 0: the simulator cannot apply a request it dropped, so a write that
    # is not there is not placed at once (the window case is the next test)
    options = ("--trading", "--late-apply-window", "0")
    async with serve(tmp_path, *options, sim=sim, global_options=("--timeout", "1")) as served:
        # applied, then the connection dropped: the answer is lost, the position exists
        fault(sim, "apply_then_drop")
        _, preview = await served.call("preview_open_position", **order)
        _, lost = await served.call("execute_open_position", token=preview["token"], **order)
        held = open_positions(sim)
        assert len(held) == 1, "sent twice or not at all"
        assert lost["verdict"] == "placed", lost
        assert lost["reconciled"]
        assert not lost["resent"]
        assert lost["deal_id"] == held[0]["position"]["dealId"]  # type: ignore[index]

        # held past the client's timeout and never applied: not placed, not re-sent (the other
        # direction: reconcile must not take the first position for this one)
        fault(sim, "timeout", latencyMs=4000)
        order["direction"] = "SELL"
        _, preview = await served.call("preview_open_position", **order)
        _error, unknown = await served.call(
            "execute_open_position", token=preview["token"], **order
        )
        assert unknown["verdict"] == "not_placed", unknown
        assert unknown["reconciled"]
        assert not unknown["resent"]
        assert len(open_positions(sim)) == 1
    assert sent_orders(sim) == 2  # one send per order, no re-send
    executed = [e for e in served.journal_entries() if e["tool"].startswith("execute")]
    assert [e["verdict"] for e in executed] == ["placed", "not_placed"]
    assert all(e["reconciled"] for e in executed)


async def test_unknown_until_the_late_apply_window_passed(sim: SimHandle, tmp_path: Path) -> None:
    order = {"epic": "GOLD", "direction": "BUY", "size": 1.0}
    async with serve(tmp_path, "--trading", sim=sim, global_options=("--timeout", "1")) as served:
        fault(sim, "timeout", latencyMs=4000)
        _, preview = await served.call("preview_open_position", **order)
        error, unknown = await served.call("execute_open_position", token=preview["token"], **order)
        # the server could still apply it (default window 30 s): honest "unknown", what to check
        assert error, unknown
        assert unknown["verdict"] == "unknown"
        assert unknown["check_after"]
        assert "settle_order" in unknown["check"]
        assert "do not send the order again" in unknown["check"]
        error, again = await served.call("settle_order", pending_id=unknown["pending_id"])
        assert again["verdict"] == "unknown"
        assert again["pending_id"] == unknown["pending_id"]
        error, missing = await served.call("settle_order", pending_id="nope")
        assert error
        assert "pending_id" in missing["message"]
    assert not open_positions(sim)
    assert sent_orders(sim) == 1  # settle_order only reads


async def test_secrets_absent_from_results_and_logs(sim: SimHandle, tmp_path: Path) -> None:
    async with serve(tmp_path, "--trading", sim=sim) as served:
        for tool, args in [
            ("session_details", {}),
            ("account_overview", {}),
            ("accounts_list", {}),
            ("quote", {"epic": "GOLD"}),
            ("preview_open_position", {"epic": "GOLD", "direction": "BUY", "size": 1}),
            ("positions_get", {"deal_id": "no-such-deal"}),
            (
                "execute_open_position",
                {"epic": "GOLD", "direction": "BUY", "size": 1, "token": PASSWORD},
            ),
        ]:
            await served.call(tool, **args)
    # the session tokens the simulator issued to the server (read from its store)
    issued = list(sim.state.sessions._by_cst.values())
    sim_tokens = {value for s in issued for value in (s.cst, s.security_token)}
    assert sim_tokens, "no session was made: the check would be empty"
    texts = {
        "results": "\n".join(served.results),
        "journal": served.journal.read_text(),
        "stderr": served.stderr.read_text(),
    }
    assert "DEBUG" in texts["stderr"], "debug logging did not run: the check would be empty"
    for where, text in texts.items():
        for secret in (API_KEY, PASSWORD, *sim_tokens):
            assert secret not in text, f"a secret in the {where}"
    assert PASSWORD not in served.journal.read_text()


async def test_practice_mode_needs_no_account(tmp_path: Path) -> None:
    async with serve(tmp_path, "--trading") as served:
        error, overview = await served.call("account_overview")
        assert not error, overview
        assert overview["accounts"]
        _, preview = await served.call(
            "preview_open_position", epic="GOLD", direction="BUY", size=1
        )
        error, placed = await served.call(
            "execute_open_position", token=preview["token"], epic="GOLD", direction="BUY", size=1
        )
        assert not error
        assert placed["verdict"] == "placed"


async def test_account_option_is_used(sim: SimHandle, tmp_path: Path) -> None:
    second = sim.state.config.users[0].accounts[1].account_id
    async with serve(tmp_path, sim=sim, global_options=("--account", second)) as served:
        error, overview = await served.call("account_overview")
    assert not error, overview
    assert overview["active_account_id"] == second


async def test_lost_close_is_reconciled(sim: SimHandle, tmp_path: Path) -> None:
    order = {"epic": "GOLD", "direction": "BUY", "size": 1.0}
    async with serve(tmp_path, "--trading", sim=sim, global_options=("--timeout", "1")) as served:
        _, preview = await served.call("preview_open_position", **order)
        _, placed = await served.call("execute_open_position", token=preview["token"], **order)
        deal_id = placed["deal_id"]
        _, close = await served.call("preview_close_position", deal_id=deal_id)
        fault(sim, "apply_then_drop", method="DELETE", path="/api/v1/positions/")
        _, closed = await served.call(
            "execute_close_position", token=close["token"], deal_id=deal_id
        )
    assert closed["verdict"] == "closed", closed
    assert closed["reconciled"]
    assert not closed["resent"]
    assert not open_positions(sim)
