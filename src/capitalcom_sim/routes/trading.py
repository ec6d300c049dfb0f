"""Positions, working orders and confirms."""

from __future__ import annotations

from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim.engine import Engine
from capitalcom_sim.engine.types import (
    Confirm,
    Direction,
    OpenPositionRequest,
    OrderType,
    Position,
    WorkingOrder,
    WorkingOrderAmend,
    WorkingOrderRequest,
)
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import json_body, json_response
from capitalcom_sim.routes._wire import (
    begin,
    body_enum,
    body_number,
    body_stops,
    body_str,
    fmt_time,
    mount,
    offset_of,
    parse_time,
    refuse_close_with_size,
    summary_for,
)

DIRECTIONS = ("BUY", "SELL")
ORDER_TYPES = ("LIMIT", "STOP")
TIME_IN_FORCE = ("GOOD_TILL_CANCELLED", "GOOD_TILL_DATE")


def position_json(position: Position, offset: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "contractSize": 1,
        "createdDate": fmt_time(position.created_ms, offset),
        "createdDateUTC": fmt_time(position.created_ms),
        "dealId": position.deal_id,
        "dealReference": position.deal_reference,
        "workingOrderId": position.working_order_id,
        "size": position.size,
        "leverage": position.leverage,
        "upl": position.upl,
        "direction": position.direction,
        "level": position.level,
        "currency": position.currency,
        "guaranteedStop": position.guaranteed_stop,
        "trailingStop": position.trailing_stop,
    }
    if position.stop_level is not None:
        out["stopLevel"] = position.stop_level
    if position.trailing_stop and position.stop_distance is not None:
        out["stopDistance"] = position.stop_distance
    if position.profit_level is not None:
        out["profitLevel"] = position.profit_level
    return out


def working_order_json(order: WorkingOrder, offset: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dealId": order.deal_id,
        "direction": order.direction,
        "epic": order.epic,
        "orderSize": order.size,
        "leverage": order.leverage,
        "orderLevel": order.level,
        "timeInForce": "GOOD_TILL_DATE" if order.good_till_ms else "GOOD_TILL_CANCELLED",
        "createdDate": fmt_time(order.created_ms, offset),
        "createdDateUTC": fmt_time(order.created_ms),
        "guaranteedStop": order.guaranteed_stop,
        "orderType": order.order_type,
        "trailingStop": order.trailing_stop,
        "currencyCode": order.currency,
    }
    if order.good_till_ms:
        out["goodTillDate"] = fmt_time(order.good_till_ms, offset)
        out["goodTillDateUTC"] = fmt_time(order.good_till_ms)
    if order.stop_distance is not None:
        out["stopDistance"] = order.stop_distance
    if order.profit_distance is not None:
        out["profitDistance"] = order.profit_distance
    return out


def confirm_json(confirm: Confirm) -> dict[str, Any]:
    out: dict[str, Any] = {
        "date": fmt_time(confirm.date_ms),
        "status": confirm.status,
        "reason": confirm.reason,
        "dealStatus": confirm.deal_status,
        "epic": confirm.epic,
        "dealReference": confirm.deal_reference,
        "dealId": confirm.deal_id,
        "affectedDeals": [
            {"dealId": a.deal_id, "status": a.status} for a in confirm.affected_deals
        ],
        "level": confirm.level,
        "size": confirm.size,
        "direction": confirm.direction,
        "guaranteedStop": confirm.guaranteed_stop,
        "trailingStop": confirm.trailing_stop,
    }
    if confirm.deal_status == "REJECTED":
        out["rejectReason"] = confirm.reason  # SPEC 11-Q10: both names
    optional = {
        "stopLevel": confirm.stop_level,
        "profitLevel": confirm.profit_level,
        "profit": confirm.profit,
        "profitCurrency": confirm.profit_currency,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def _with_market(engine: Engine, epic: str, offset: float) -> dict[str, Any]:
    return summary_for(engine, engine.instrument(epic), offset)


async def list_positions(request: Request) -> Response:
    session, engine = begin(request)
    offset = offset_of(session)
    items = [
        {"position": position_json(p, offset), "market": _with_market(engine, p.epic, offset)}
        for p in engine.positions(session.account_id)
    ]
    return json_response({"positions": items}, session=session)


async def get_position(request: Request) -> Response:
    session, engine = begin(request)
    offset = offset_of(session)
    position = engine.position(session.account_id, request.path_params["deal_id"])
    payload = {
        "position": position_json(position, offset),
        "market": _with_market(engine, position.epic, offset),
    }
    return json_response(payload, session=session)


async def open_position(request: Request) -> Response:
    session, engine = begin(request)
    body = await json_body(request)
    direction = cast(Direction, body_enum(body, "direction", DIRECTIONS))
    epic = cast(str, body_str(body, "epic", required=True))
    size = cast(float, body_number(body, "size", required=True))
    request_ = OpenPositionRequest(epic, direction, _int_if_whole(size), body_stops(body))
    reference = engine.open_position(session.account_id, request_)
    return json_response({"dealReference": reference}, session=session)


async def update_position(request: Request) -> Response:
    session, engine = begin(request)
    body = await json_body(request)
    stops = body_stops(body)
    reference = engine.update_position(session.account_id, request.path_params["deal_id"], stops)
    return json_response({"dealReference": reference}, session=session)


async def close_position(request: Request) -> Response:
    session, engine = begin(request)
    await refuse_close_with_size(request)  # SimConfig.close_with_body (sim-wire)
    reference = engine.close_position(session.account_id, request.path_params["deal_id"])
    return json_response({"dealReference": reference}, session=session)


async def list_working_orders(request: Request) -> Response:
    session, engine = begin(request)
    offset = offset_of(session)
    items = [
        {
            "workingOrderData": working_order_json(o, offset),
            "marketData": _with_market(engine, o.epic, offset),
        }
        for o in engine.working_orders(session.account_id)
    ]
    return json_response({"workingOrders": items}, session=session)


def _good_till(body: dict[str, Any]) -> int | None:
    raw = body_str(body, "goodTillDate")
    if raw is None:
        return None
    return parse_time(raw, "error.invalid.daterange")


async def create_working_order(request: Request) -> Response:
    session, engine = begin(request)
    body = await json_body(request)
    direction = cast(Direction, body_enum(body, "direction", DIRECTIONS))
    epic = cast(str, body_str(body, "epic", required=True))
    size = cast(float, body_number(body, "size", required=True))
    level = cast(float, body_number(body, "level", required=True))
    order_type = cast(OrderType, body_enum(body, "type", ORDER_TYPES))
    good_till = _good_till(body)
    request_ = WorkingOrderRequest(
        epic, direction, _int_if_whole(size), level, order_type, good_till, body_stops(body)
    )
    reference = engine.create_working_order(session.account_id, request_)
    return json_response({"dealReference": reference}, session=session)


async def update_working_order(request: Request) -> Response:
    session, engine = begin(request)
    body = await json_body(request)
    level = body_number(body, "level")
    good_till = _good_till(body)
    time_in_force = body_str(body, "timeInForce")
    if time_in_force is not None and time_in_force not in TIME_IN_FORCE:
        raise ApiError(400, "error.invalid.timeInForce")
    if time_in_force == "GOOD_TILL_CANCELLED" and good_till is None:
        good_till = 0  # clears the expiry
    amend = WorkingOrderAmend(level, good_till, body_stops(body))
    reference = engine.update_working_order(
        session.account_id, request.path_params["deal_id"], amend
    )
    return json_response({"dealReference": reference}, session=session)


async def delete_working_order(request: Request) -> Response:
    session, engine = begin(request)
    reference = engine.delete_working_order(session.account_id, request.path_params["deal_id"])
    return json_response({"dealReference": reference}, session=session)


async def confirm(request: Request) -> Response:
    session, engine = begin(request)
    found = engine.confirm(session.account_id, request.path_params["deal_reference"])
    return json_response(confirm_json(found), session=session)


def _int_if_whole(value: float) -> float:
    return int(value) if value == int(value) else value


routes = [
    *mount("/positions", list_positions, ["GET"]),
    *mount("/positions", open_position, ["POST"]),
    *mount("/positions/{deal_id}", get_position, ["GET"]),
    *mount("/positions/{deal_id}", update_position, ["PUT"]),
    *mount("/positions/{deal_id}", close_position, ["DELETE"]),
    *mount("/workingorders", list_working_orders, ["GET"]),
    *mount("/workingorders", create_working_order, ["POST"]),
    *mount("/workingorders/{deal_id}", update_working_order, ["PUT"]),
    *mount("/workingorders/{deal_id}", delete_working_order, ["DELETE"]),
    *mount("/confirms/{deal_reference}", confirm, ["GET"]),
]
