"""Shared helpers of the market/trading routes: engine access, input parsing, wire shapes.

Wire shapes emit the union of the 2022 (Postman) and current field names (SPEC 11-Q5).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from starlette.requests import Request
from starlette.routing import Route

from capitalcom_sim.engine import Engine, Instrument
from capitalcom_sim.engine.prices import align
from capitalcom_sim.engine.types import MarketSnapshot, StopsRequest
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import authenticate, sim_state
from capitalcom_sim.sessions import Session

API = "/api/v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
MAX_NUMBER = 1e12
DAY_MS = 86_400_000


def mount(path: str, endpoint: Callable[[Request], Any], methods: list[str]) -> list[Route]:
    """The route at ``path``, also matching ``path + "/"`` (the API accepts a trailing slash).

    One route whose pattern allows the slash (no redirect, no second route to match against).
    """
    route = Route(API + path, endpoint, methods=methods)
    pattern = route.path_regex.pattern
    if pattern.endswith("$"):
        route.path_regex = re.compile(pattern[:-1] + "/?$")
    return [route]


def engine_of(request: Request) -> Engine:
    engine: Engine = sim_state(request).engine
    return engine


def begin(request: Request) -> tuple[Session, Engine]:
    """Authenticate, then let the engine catch up with the clock (stops, orders, expiries)."""
    session = authenticate(request)
    engine = engine_of(request)
    engine.advance_to()
    return session, engine


# ---- dates --------------------------------------------------------------------------------------
def fmt_time(ms: int, offset_hours: float = 0, *, millis: bool = True) -> str:
    """API date text (no zone): UTC, or local with ``offset_hours``."""
    moment = _EPOCH + timedelta(milliseconds=ms + round(offset_hours * 3_600_000))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}" if millis else text


def parse_time(value: str, code: str) -> int:
    """``YYYY-MM-DDTHH:MM:SS`` (UTC, nothing else) to epoch ms, else 400 ``code``."""
    if not _DATE_RE.fullmatch(value):
        raise ApiError(400, code)
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(400, code) from None
    return int(parsed.timestamp()) * 1000


def query_int(request: Request, name: str, default: int, low: int, high: int, code: str) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d{1,12}", raw.strip()):
        raise ApiError(400, code)
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, code)
    return value


# ---- JSON body fields ---------------------------------------------------------------------------
def body_str(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"error.null.{name}")
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"error.invalid.{name}")
    if required and not value:
        raise ApiError(400, f"error.null.{name}")
    return value


# A number written as a JSON string, as the real backend's JSON binder converts it ("5", "-0.5",
# "1e3", surrounding blanks): docs/simulator.md "Numbers sent as strings".
_NUMERIC_TEXT = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


def coerce_number(value: Any) -> Any:
    """``value`` with a numeric string turned into its number; a blank string into None.

    Anything else is returned unchanged (the caller rejects what is not a number).
    """
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None  # the binder reads "" as an absent number
    if len(value) <= 64 and _NUMERIC_TEXT.fullmatch(value):
        number = float(value)
        return (
            int(number)
            if number.is_integer() and "." not in value and "e" not in value.lower()
            else number
        )
    return value


def body_number(body: dict[str, Any], name: str, *, required: bool = False) -> float | None:
    """A numeric field: a JSON number or a numeric string; else 400 ``error.invalid.<name>``."""
    value = coerce_number(body.get(name))
    if value is None:
        if required:
            raise ApiError(400, f"error.null.{name}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"error.invalid.{name}")
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        raise ApiError(400, f"error.invalid.{name}")
    return number


def body_bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # some clients send "false" as text (SPEC 3.2)
    if not isinstance(value, bool):
        raise ApiError(400, f"error.invalid.{name}")
    return value


def body_enum(body: dict[str, Any], name: str, allowed: Sequence[str]) -> str:
    value = body_str(body, name, required=True)
    if value not in allowed:
        raise ApiError(400, f"error.invalid.{name}")
    return cast(str, value)


async def refuse_close_with_size(request: Request) -> None:
    """``DELETE /positions/{dealId}`` with a JSON body holding ``size``.

    With ``SimConfig.close_with_body="not-found"`` it is ``404 error.not-found.dealId`` (one
    client's observation of the real server); by default the body is ignored and the whole
    position is closed (the documented call has no body). docs/simulator.md.
    """
    if sim_state(request).config.close_with_body != "not-found":
        return
    raw = await request.body()
    if not raw.strip():
        return
    try:
        body = json.loads(raw)
    except ValueError:
        return
    if isinstance(body, dict) and "size" in body:
        raise ApiError(404, "error.not-found.dealId")


def body_stops(body: dict[str, Any]) -> StopsRequest:
    return StopsRequest(
        guaranteed_stop=body_bool(body, "guaranteedStop"),
        trailing_stop=body_bool(body, "trailingStop"),
        stop_level=body_number(body, "stopLevel"),
        stop_distance=body_number(body, "stopDistance"),
        stop_amount=body_number(body, "stopAmount"),
        profit_level=body_number(body, "profitLevel"),
        profit_distance=body_number(body, "profitDistance"),
        profit_amount=body_number(body, "profitAmount"),
    )


# ---- market shapes ----------------------------------------------------------------------------
def market_summary(
    snapshot: MarketSnapshot, inst: Instrument, offset_hours: float
) -> dict[str, Any]:
    """Market summary (SPEC 6.1), with pipPosition/tickSize everywhere."""
    out: dict[str, Any] = {
        "delayTime": 0,
        "epic": inst.epic,
        "symbol": inst.symbol,
        "instrumentName": inst.name,
        "instrumentType": inst.type,
        "expiry": "-",
        "lotSize": inst.lot_size,
        "marketStatus": snapshot.market_status,
        "bid": snapshot.bid,
        "offer": snapshot.offer,
        "updateTime": fmt_time(snapshot.update_ms, offset_hours),
        "updateTimeUTC": fmt_time(snapshot.update_ms),
        "streamingPricesAvailable": True,
        "scalingFactor": 1,
        "marketModes": list(snapshot.market_modes),
        "pipPosition": max(0, inst.decimals - 1),
        "tickSize": inst.unit,
    }
    if snapshot.high is not None:
        out["high"] = snapshot.high
        out["low"] = snapshot.low
        out["netChange"] = snapshot.net_change
        out["percentageChange"] = snapshot.percentage_change
    return out


def summary_for(engine: Engine, inst: Instrument, offset_hours: float) -> dict[str, Any]:
    return market_summary(engine.snapshot(inst.epic), inst, offset_hours)


_STATIC: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}


def _rule(unit: str, value: float) -> dict[str, Any]:
    return {"unit": unit, "value": value}


def _static_parts(inst: Instrument) -> tuple[dict[str, Any], dict[str, Any]]:
    cached = _STATIC.get(inst.epic)
    if cached is not None:
        return cached
    instrument = {
        "epic": inst.epic,
        "symbol": inst.symbol,
        "expiry": "-",
        "name": inst.name,
        "lotSize": inst.lot_size,
        "type": inst.type,
        "guaranteedStopAllowed": inst.guaranteed_stop_allowed,
        "controlledRiskAllowed": inst.guaranteed_stop_allowed,
        "streamingPricesAvailable": True,
        "currency": inst.currency,
        "marginFactorUnit": "PERCENTAGE",
        "openingHours": inst.opening_hours.as_json(),
        "country": inst.country,
    }
    guaranteed = _rule("PERCENTAGE", inst.min_guaranteed_pct)
    min_distance = _rule("PERCENTAGE", inst.min_stop_pct)
    max_distance = _rule("PERCENTAGE", inst.max_stop_pct)
    rules = {
        "minStepDistance": _rule("POINTS", inst.unit),
        "minDealSize": _rule("POINTS", inst.min_deal_size),
        "maxDealSize": _rule("POINTS", inst.max_deal_size),
        "minSizeIncrement": _rule("POINTS", inst.min_size_increment),
        "minGuaranteedStopDistance": guaranteed,
        "minControlledRiskStopDistance": guaranteed,
        "minStopOrProfitDistance": min_distance,
        "minNormalStopOrLimitDistance": min_distance,
        "maxStopOrProfitDistance": max_distance,
        "maxStopOrLimitDistance": max_distance,
        "marketOrderPreference": inst.market_order_preference,
        "trailingStopsPreference": "AVAILABLE" if inst.trailing_stops else "NOT_AVAILABLE",
    }
    _STATIC[inst.epic] = (instrument, rules)
    return instrument, rules


def market_details(engine: Engine, inst: Instrument, account_id: str) -> dict[str, Any]:
    """Market details (SPEC 6.2): instrument, dealingRules, snapshot."""
    static_instrument, rules = _static_parts(inst)
    snapshot = engine.snapshot(inst.epic)
    instrument = dict(static_instrument)
    instrument["marginFactor"] = engine.margin_factor(account_id, inst)
    day = align("DAY", snapshot.update_ms) + 22 * 3_600_000
    instrument["overnightFee"] = {
        "longRate": inst.long_rate,
        "shortRate": inst.short_rate,
        "swapChargeTimestamp": day if day > snapshot.update_ms else day + DAY_MS,
        "swapChargeInterval": 1440,
    }
    snap: dict[str, Any] = {
        "marketStatus": snapshot.market_status,
        "updateTime": fmt_time(snapshot.update_ms),
        "delayTime": 0,
        "bid": snapshot.bid,
        "offer": snapshot.offer,
        "decimalPlacesFactor": inst.decimals,
        "scalingFactor": 1,
        "marketModes": list(snapshot.market_modes),
    }
    if snapshot.high is not None:
        snap["netChange"] = snapshot.net_change
        snap["percentageChange"] = snapshot.percentage_change
        snap["high"] = snapshot.high
        snap["low"] = snapshot.low
    return {"instrument": instrument, "dealingRules": rules, "snapshot": snap}


def offset_of(session: Session) -> float:
    return float(session.user.timezone_offset)
