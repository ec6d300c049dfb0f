"""GET /history/activity and GET /history/transactions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim.engine.types import Activity, Transaction
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import json_response
from capitalcom_sim.routes._wire import (
    DAY_MS,
    begin,
    fmt_time,
    mount,
    offset_of,
    parse_time,
    query_int,
)

DEFAULT_PERIOD_S = 600
MAX_PERIOD_S = 86_400
ACTIVITY_VALUES: dict[str, frozenset[str] | None] = {
    "epic": None,  # any epic
    "source": frozenset({"CLOSE_OUT", "DEALER", "SL", "SYSTEM", "TP", "USER"}),
    "status": frozenset(
        {
            "ACCEPTED",
            "CREATED",
            "EXECUTED",
            "EXPIRED",
            "REJECTED",
            "MODIFIED",
            "MODIFY_REJECT",
            "CANCELLED",
            "CANCEL_REJECT",
            "UNKNOWN",
        }
    ),
    "type": frozenset({"POSITION", "WORKING_ORDER", "EDIT_STOP_AND_LIMIT", "SWAP", "SYSTEM"}),
}
TRANSACTION_TYPES = frozenset(
    {
        "INACTIVITY_FEE",
        "RESERVE",
        "VOID",
        "UNRESERVE",
        "WRITE_OFF_OR_CREDIT",
        "CREDIT_FACILITY",
        "FX_COMMISSION",
        "COMPLAINT_SETTLEMENT",
        "DEPOSIT",
        "WITHDRAWAL",
        "REFUND",
        "WITHDRAWAL_MONEY_BACK",
        "TRADE",
        "SWAP",
        "TRADE_COMMISSION",
        "TRADE_COMMISSION_GSL",
        "NEGATIVE_BALANCE_PROTECTION",
        "TRADE_CORRECTION",
        "CHARGEBACK",
        "ADJUSTMENT",
        "BONUS",
        "TRANSFER",
        "CORPORATE_ACTION",
        "CONVERSION",
        "REBATE",
        "TRADE_SLIPPAGE_PROTECTION",
    }
)


def time_range(request: Request, now: int, *, max_span_ms: int | None) -> tuple[int, int]:
    """[from, to] in ms from from/to (UTC) or lastPeriod (seconds up to now)."""
    params = request.query_params
    raw_from, raw_to = params.get("from"), params.get("to")
    period = query_int(
        request, "lastPeriod", DEFAULT_PERIOD_S, 1, MAX_PERIOD_S, "error.invalid.lastPeriod"
    )
    if raw_from is None and raw_to is None:
        return now - period * 1000, now
    start = parse_time(raw_from, "error.invalid.from") if raw_from is not None else None
    end = parse_time(raw_to, "error.invalid.to") if raw_to is not None else None
    if start is None:
        assert end is not None
        start = end - DAY_MS
    if end is None:
        end = start + DAY_MS
    if start > end or (max_span_ms is not None and end - start > max_span_ms):
        raise ApiError(400, "error.invalid.daterange")
    return start, end + 999  # "to" names a whole second


def parse_filter(text: str) -> list[tuple[str, bool, frozenset[str]]]:
    """FIQL subset of SPEC 5.1: ``field==a,b;field!=c`` -> (field, equals, values)."""
    out: list[tuple[str, bool, frozenset[str]]] = []
    for condition in text.split(";"):
        if not condition.strip():
            continue
        if "!=" in condition:
            field, values_text = condition.split("!=", 1)
            equals = False
        elif "==" in condition:
            field, values_text = condition.split("==", 1)
            equals = True
        else:
            raise ApiError(400, "error.invalid.filter")
        field = field.strip()
        values = frozenset(v.strip() for v in values_text.split(",") if v.strip())
        if field not in ACTIVITY_VALUES or not values:
            raise ApiError(400, "error.invalid.filter")
        allowed = ACTIVITY_VALUES[field]
        if allowed is not None and not values <= allowed:
            raise ApiError(400, "error.invalid.filter")
        out.append((field, equals, values))
    return out


def activity_json(activity: Activity, offset: float, detailed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "date": fmt_time(activity.date_ms, offset),
        "dateUTC": fmt_time(activity.date_ms),
        "epic": activity.epic,
        "dealId": activity.deal_id,
        "source": activity.source,
        "type": activity.type,
        "status": activity.status,
    }
    if detailed:
        out["details"] = dict(activity.details)
    return out


def transaction_json(transaction: Transaction, offset: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "date": fmt_time(transaction.date_ms, offset),
        "dateUtc": fmt_time(transaction.date_ms),
    }
    if transaction.instrument_name is not None:
        out["instrumentName"] = transaction.instrument_name
    out.update(
        transactionType=transaction.transaction_type,
        note=transaction.note,
        reference=transaction.reference,
        size=repr(float(transaction.amount)),
        currency=transaction.currency,
        status=transaction.status,
    )
    return out


async def activity(request: Request) -> Response:
    session, engine = begin(request)
    params = request.query_params
    start, end = time_range(request, engine.clock.now_ms(), max_span_ms=DAY_MS)
    detailed_text = params.get("detailed", "false").lower()
    if detailed_text not in ("true", "false"):
        raise ApiError(400, "error.invalid.detailed")
    filters = parse_filter(params.get("filter", ""))
    deal_id = params.get("dealId") or None
    records = engine.activities(session.account_id, start, end, deal_id=deal_id, filters=filters)
    offset = offset_of(session)
    items = [activity_json(r, offset, detailed_text == "true") for r in records]
    return json_response({"activities": items}, session=session)


async def transactions(request: Request) -> Response:
    session, engine = begin(request)
    start, end = time_range(request, engine.clock.now_ms(), max_span_ms=None)
    kind = request.query_params.get("type") or None
    if kind is not None and kind not in TRANSACTION_TYPES:
        raise ApiError(400, "error.invalid.type")
    records = engine.transactions(session.account_id, start, end, kind)
    offset = offset_of(session)
    items = [transaction_json(r, offset) for r in records]
    return json_response({"transactions": items}, session=session)


routes = [
    *mount("/history/activity", activity, ["GET"]),
    *mount("/history/transactions", transactions, ["GET"]),
]
