"""The control plane under /_sim/ (CONTRACTS section 1): clock, prices, faults, sessions, stats.

Not part of the real API. JSON in, JSON out; bad input is a 400 naming the field.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from capitalcom_sim.errors import ApiError
from capitalcom_sim.faults import FaultSpecError
from capitalcom_sim.http import json_body, json_response, sim_state
from capitalcom_sim.openapi import openapi_document
from capitalcom_sim.state import SimState

T = TypeVar("T")


def _invalid(field_name: str) -> ApiError:
    return ApiError(400, f"error.sim.invalid.{field_name}")


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(key)
    return float(value)


def _bid_offer(body: dict[str, Any]) -> dict[str, float]:
    """``{"bid": b, "offer": o}``: both finite > 0, offer >= bid, nothing else (400 naming it)."""
    if "mid" in body:
        raise _invalid("mid")
    bid, offer = _number(body, "bid"), _number(body, "offer")
    if bid is None or bid <= 0 or bid > 1e12:
        raise _invalid("bid")
    if offer is None or offer <= 0 or offer > 1e12 or offer < bid:
        raise _invalid("offer")
    return {"bid": bid, "offer": offer}


def _engine_call(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call an engine method; 501 while the engine has not implemented it."""
    try:
        return method(*args, **kwargs)
    except NotImplementedError:
        raise ApiError(501, "error.sim.engine-unavailable") from None


def _clock_json(state: SimState) -> dict[str, Any]:
    return {"now": state.clock.now_ms(), "speed": state.clock.speed}


async def get_clock(request: Request) -> Response:
    return json_response(_clock_json(sim_state(request)))


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise _invalid(key)
    return value


async def post_clock(request: Request) -> Response:
    """Move the clock: ``set`` (epoch ms), then ``advance`` (seconds), then ``speed``; or
    ``next`` (to when the next subscribed quote or bar is due on the streams, at most ``max``
    seconds on). ``keepalive``: the open streams count as pinged through the move (the lock-step
    client's keep-alive). The answer carries ``now``, ``speed`` and, for ``next``, ``due`` (ms,
    None when nothing is subscribed)."""
    state = sim_state(request)
    body = await json_body(request)
    unknown = set(body) - {"advance", "set", "speed", "next", "max", "keepalive"}
    if unknown:
        raise _invalid(sorted(unknown)[0])
    set_ms = _number(body, "set")
    advance = _number(body, "advance")
    speed = _number(body, "speed")
    to_next = _flag(body, "next")
    keepalive = _flag(body, "keepalive")
    at_most = _number(body, "max")
    if set_ms is not None and not 0 <= set_ms < 2**53:
        raise _invalid("set")
    if advance is not None and advance < 0:
        raise _invalid("advance")
    if speed is not None and not 0 <= speed <= 1_000_000:
        raise _invalid("speed")
    if to_next and (set_ms is not None or advance is not None):
        raise _invalid("next")  # one way of moving at a time
    if at_most is not None and (not to_next or not 0 <= at_most < 2**53 / 1000):
        raise _invalid("max")
    extra: dict[str, Any] = {}
    if to_next:
        now = state.clock.now_ms()
        due = state.streams.next_due(now)
        extra["due"] = due
        target = due
        if at_most is not None:
            limit = now + math.ceil(at_most * 1000)
            target = limit if target is None else min(target, limit)
        set_ms = float(target) if target is not None and target > now else None
    alive = state.streams.kept_alive() if keepalive else []
    state.move_clock(
        set_ms=None if set_ms is None else int(set_ms), advance_seconds=advance, speed=speed
    )
    state.streams.credit_pings(alive)
    # The streams' frames up to the new time are queued before this answer: a client that
    # pings its stream after it has them all (the lock-step of a backtest).
    state.streams.flush()
    return json_response({**_clock_json(state), **extra})


async def post_price(request: Request) -> Response:
    state = sim_state(request)
    epic = request.path_params["epic"]
    body = await json_body(request)
    engine = state.engine
    engine.instrument(epic)  # 404 error.not-found.epic for unknown markets
    if body.get("release") is True:
        bid_now, offer_now = _engine_call(engine.release, epic)
    elif "path" in body:
        points = body["path"]
        if not isinstance(points, list) or not points:
            raise _invalid("path")
        parsed: list[tuple[int, float]] = []
        for point in points:
            if (
                not isinstance(point, list)
                or len(point) != 2
                or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                    for v in point
                )
                or point[1] <= 0
            ):
                raise _invalid("path")
            parsed.append((int(point[0]), float(point[1])))
        if any(b[0] <= a[0] for a, b in itertools.pairwise(parsed)):
            raise _invalid("path")
        bid_now, offer_now = _engine_call(engine.set_path, epic, parsed)
    elif "offer" in body:
        bid_now, offer_now = _engine_call(engine.set_price, epic, **_bid_offer(body))
    else:
        mid, bid = _number(body, "mid"), _number(body, "bid")
        if (mid is None) == (bid is None):
            raise _invalid("mid")
        value = mid if mid is not None else bid
        if value is None or value <= 0:
            raise _invalid("mid" if mid is not None else "bid")
        bid_now, offer_now = _engine_call(engine.set_price, epic, mid=mid, bid=bid)
    return json_response({"epic": epic, "bid": bid_now, "offer": offer_now})


def _bar_time(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    parsed = datetime.fromisoformat(text.removesuffix("Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def parse_bars_csv(text: str) -> list[dict[str, float]]:
    """CSV ``time,open,high,low,close[,volume][,spread]`` (time: epoch ms or ISO UTC) to bar
    dicts; ``spread`` (the bar's offer - bid, >= 0) is present only when its cell is not blank."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not {"time", "open", "high", "low", "close"} <= set(header):
        raise _invalid("header")
    reader.fieldnames = header
    bars: list[dict[str, float]] = []
    for row in reader:
        try:
            bar = {k: float(row[k]) for k in ("open", "high", "low", "close")}
            bar["volume"] = float(row.get("volume") or 0)
            if (row.get("spread") or "").strip():
                bar["spread"] = float(row["spread"] or "")
            bar["time"] = _bar_time(row["time"] or "")
        except (TypeError, ValueError):
            raise _invalid(f"row{reader.line_num}") from None
        if not all(math.isfinite(v) for v in bar.values()) or bar["low"] > bar["high"]:
            raise _invalid(f"row{reader.line_num}")
        if bar.get("spread", 0.0) < 0:
            raise _invalid(f"row{reader.line_num}")
        bars.append(bar)
    if not bars or any(b["time"] <= a["time"] for a, b in itertools.pairwise(bars)):
        raise _invalid("time")
    return bars


async def post_bars(request: Request) -> Response:
    state = sim_state(request)
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("body") from None
    epic = request.path_params["epic"]
    state.engine.instrument(epic)
    parse_bars_csv(text)  # validated here so that bad input is a 400 naming the row
    count = _engine_call(state.engine.replay_bars, epic, text)
    return json_response({"bars": count})


async def post_fault(request: Request) -> Response:
    state = sim_state(request)
    body = await json_body(request)
    try:
        fault = state.faults.add(body)
    except FaultSpecError as exc:
        raise _invalid(exc.field) from None
    return json_response({"id": fault.id})


async def get_faults(request: Request) -> Response:
    return json_response({"faults": sim_state(request).faults.list()})


async def delete_faults(request: Request) -> Response:
    sim_state(request).faults.clear()
    return json_response({"faults": []})


async def expire_sessions(request: Request) -> Response:
    state = sim_state(request)
    body = await json_body(request)
    client_id = body.get("clientId")
    if client_id is not None and not isinstance(client_id, str):
        raise _invalid("clientId")
    return json_response({"expired": state.expire_sessions(client_id)})


async def list_sessions(request: Request) -> Response:
    state = sim_state(request)
    sessions = [
        {
            "clientId": s.user.client_id,
            "accountId": s.account_id,
            "createdMs": s.created_ms,
            "lastUsedMs": s.last_used_ms,
        }
        for s in state.sessions.active()
    ]
    return json_response({"sessions": sessions})


async def reset(request: Request) -> Response:
    state = sim_state(request)
    state.reset()
    return json_response({"status": "RESET", **_clock_json(state)})


async def stats(request: Request) -> Response:
    return json_response(sim_state(request).stats.snapshot())


async def openapi(request: Request) -> Response:
    return json_response(openapi_document())


routes = [
    Route("/_sim/clock", get_clock, methods=["GET"]),
    Route("/_sim/clock", post_clock, methods=["POST"]),
    Route("/_sim/prices/{epic}", post_price, methods=["POST"]),
    Route("/_sim/bars/{epic}", post_bars, methods=["POST"]),
    Route("/_sim/faults", post_fault, methods=["POST"]),
    Route("/_sim/faults", get_faults, methods=["GET"]),
    Route("/_sim/faults", delete_faults, methods=["DELETE"]),
    Route("/_sim/sessions", list_sessions, methods=["GET"]),
    Route("/_sim/sessions/expire", expire_sessions, methods=["POST"]),
    Route("/_sim/reset", reset, methods=["POST"]),
    Route("/_sim/stats", stats, methods=["GET"]),
    Route("/_sim/openapi.json", openapi, methods=["GET"]),
]
