"""Pre-trade checks of an order against the market's dealing rules (pure functions).

The rules come from ``GET /markets/{epic}`` (:class:`MarketRules.from_details`). A distance rule
is either in ``POINTS`` (price units) or ``PERCENTAGE`` of the reference price; the reference is
the price the position would close at now (bid for BUY, offer for SELL) for a position, the
order level for a working order. The nearest and farthest allowed stop/profit levels are
rounded outwards on the market's price grid, as the server does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from capitalcom_sdk.models.markets import DealingRule, MarketDetails
from capitalcom_sdk.trading.errors import DealingRuleViolation, MarketClosedError

__all__ = ["Amounts", "MarketRules", "check_order_write", "next_opening", "round_size"]

_EPS = 1e-12
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _value(rule: DealingRule | None, default: float | None = None) -> float | None:
    return rule.value if rule is not None else default


def _unit(rule: DealingRule | None) -> str:
    return str(getattr(rule.unit, "value", rule.unit)) if rule is not None else "POINTS"


@dataclass(frozen=True)
class Distance:
    """A distance rule: ``value`` in ``unit`` (``POINTS`` or ``PERCENTAGE``)."""

    value: float
    unit: str

    def of(self, reference: float) -> float:
        """The distance in price units from ``reference``."""
        return reference * self.value / 100.0 if self.unit == "PERCENTAGE" else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.unit == "PERCENTAGE" else f"{self.value:g} points"


@dataclass(frozen=True)
class MarketRules:
    """The dealing rules, status and prices of one market, from its details."""

    epic: str
    decimals: int
    bid: float | None
    offer: float | None
    status: str
    min_size: float
    max_size: float
    size_increment: float
    min_distance: Distance | None
    max_distance: Distance | None
    min_guaranteed_distance: Distance | None
    guaranteed_allowed: bool
    trailing_allowed: bool
    market_orders_allowed: bool
    opening_hours: dict[str, list[str]] | None
    updated: datetime | None = None  # the quote's time, on the server's clock (UTC)
    currency: str | None = None  # the instrument's (prices and P&L are in it)

    @classmethod
    def from_details(cls, details: MarketDetails) -> MarketRules:
        """Read the rules of ``GET /markets/{epic}``."""
        rules = details.dealing_rules
        snap = details.snapshot
        inst = details.instrument

        def distance(rule: DealingRule | None) -> Distance | None:
            return Distance(rule.value, _unit(rule)) if rule is not None else None

        decimals = snap.decimal_places_factor if snap and snap.decimal_places_factor else None
        if decimals is None:
            step = _value(rules.min_step_distance) if rules else None
            decimals = max(0, round(-math.log10(step))) if step else 5
        trailing = str(getattr(rules, "trailing_stops_preference", None) or "AVAILABLE")
        orders = str(getattr(rules, "market_order_preference", None) or "AVAILABLE_DEFAULT_ON")
        hours = None
        if inst.opening_hours is not None:
            hours = {day: list(getattr(inst.opening_hours, day)) for day in _DAYS}
        status = snap.market_status if snap else None
        updated = snap.update_time if snap else None
        if updated is not None and updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)  # sent without a zone; UTC (SPEC 11-Q9)
        return cls(
            epic=inst.epic,
            decimals=int(decimals),
            bid=snap.bid if snap else None,
            offer=snap.offer if snap else None,
            status=str(getattr(status, "value", status) or "TRADEABLE"),
            min_size=_value(rules.min_deal_size if rules else None, 0.0) or 0.0,
            max_size=_value(rules.max_deal_size if rules else None, math.inf) or math.inf,
            size_increment=_value(rules.min_size_increment if rules else None, 0.0) or 0.0,
            min_distance=distance(rules.min_stop_or_profit_distance) if rules else None,
            max_distance=distance(rules.max_stop_or_profit_distance) if rules else None,
            min_guaranteed_distance=distance(rules.min_guaranteed_stop_distance) if rules else None,
            guaranteed_allowed=bool(inst.guaranteed_stop_allowed),
            trailing_allowed=trailing.endswith("AVAILABLE") and not trailing.startswith("NOT"),
            market_orders_allowed=orders != "NOT_AVAILABLE",
            opening_hours=hours,
            updated=updated,
            currency=inst.currency,
        )

    @property
    def scale(self) -> int:
        """Price units per 1.0 of price."""
        return int(10**self.decimals)

    def closing_price(self, direction: str) -> float | None:
        """What a position of ``direction`` closes at now (bid for BUY, offer for SELL)."""
        return self.bid if direction == "BUY" else self.offer

    def entry_price(self, direction: str) -> float | None:
        """What a market order of ``direction`` fills at now (offer for BUY, bid for SELL)."""
        return self.offer if direction == "BUY" else self.bid


def round_size(rules: MarketRules, size: float) -> float:
    """``size`` rounded down to the market's increment (never below the minimum)."""
    step = rules.size_increment
    if step <= 0:
        return size
    steps = math.floor(size / step + 1e-6)
    digits = max(0, -math.floor(math.log10(step))) + 2
    return max(round(steps * step, digits), rules.min_size)


def _check_size(rules: MarketRules, size: float) -> None:
    if size < rules.min_size - _EPS:
        raise DealingRuleViolation("minDealSize", "size", size, f">= {rules.min_size:g}")
    if size > rules.max_size + _EPS:
        raise DealingRuleViolation("maxDealSize", "size", size, f"<= {rules.max_size:g}")
    step = rules.size_increment
    if step > 0:
        steps = size / step
        if abs(steps - round(steps)) > 1e-6:
            raise DealingRuleViolation(
                "minSizeIncrement", "size", size, f"a multiple of {step:g} (round_size=True)"
            )


def _band(rules: MarketRules, reference: float, minimum: Distance | None) -> tuple[float, ...]:
    """(nearest below, farthest below, nearest above, farthest above) allowed levels."""
    scale = rules.scale
    near = minimum.of(reference) if minimum else 0.0
    far = rules.max_distance.of(reference) if rules.max_distance else reference
    return (
        math.floor((reference - near) * scale + 1e-6) / scale,
        math.ceil((reference - far) * scale - 1e-6) / scale,
        math.ceil((reference + near) * scale - 1e-6) / scale,
        math.floor((reference + far) * scale + 1e-6) / scale,
    )


def _check_level(
    rules: MarketRules,
    field: str,
    level: float,
    near: float,
    far: float,
    min_rule: str,
    reference: float,
    given: float,
    amounts: Amounts | None = None,
) -> None:
    """``level`` must lie between ``near`` and ``far`` (either order) on the price grid.

    The error names the value as given (a level, a distance or an amount) and the range in
    its unit.
    """
    digits = rules.decimals
    level = round(level, digits)
    low, high = min(near, far), max(near, far)
    if low <= level <= high:
        return
    too_close = abs(level - near) < abs(level - far)
    rule = min_rule if too_close else "maxStopOrProfitDistance"
    if field.endswith("Distance"):
        allowed = f"{abs(reference - near):.{digits}f} .. {abs(reference - far):.{digits}f}"
    elif field.endswith("Amount") and amounts is not None:
        per_point = amounts.size / amounts.rate  # account currency per point of price
        low_amount = abs(amounts.entry - near) * per_point
        high_amount = abs(amounts.entry - far) * per_point
        allowed = f"{low_amount:.2f} .. {high_amount:.2f} (account currency)"
    else:
        allowed = f"{near:.{digits}f} .. {far:.{digits}f}"
    raise DealingRuleViolation(rule, field, given, allowed)


@dataclass(frozen=True, slots=True)
class Amounts:
    """What turns a ``stopAmount`` / ``profitAmount`` (account currency) into a level.

    ``entry`` is the price amounts count from (the fill price of a new position, a position's
    open level, a working order's level), ``size`` the deal's size, ``rate`` units of the
    instrument's currency per unit of the account's.
    """

    entry: float
    size: float
    rate: float = 1.0


def _level_of(
    body: dict[str, Any], kind: str, reference: float, sign: int, amounts: Amounts | None
) -> float | None:
    away = -sign if kind == "stop" else sign
    level = body.get(f"{kind}Level")
    if level is not None:
        return float(level)
    distance = body.get(f"{kind}Distance")
    if distance is not None:
        return reference + away * float(distance)
    amount = body.get(f"{kind}Amount")
    if amount is not None and amounts is not None and amounts.size > 0:
        return amounts.entry + away * float(amount) * amounts.rate / amounts.size
    return None  # an amount without its entry, size and rate: the server checks it


def _check_stops(
    rules: MarketRules,
    body: dict[str, Any],
    direction: str,
    reference: float,
    guaranteed_allowed_here: bool = True,
    amounts: Amounts | None = None,
) -> None:
    guaranteed = bool(body.get("guaranteedStop"))
    trailing = bool(body.get("trailingStop"))
    if guaranteed and trailing:
        raise DealingRuleViolation(
            "guaranteedStop+trailingStop", "trailingStop", True, "not with a guaranteed stop"
        )
    if guaranteed and not (rules.guaranteed_allowed and guaranteed_allowed_here):
        why = "not allowed on this market" if not rules.guaranteed_allowed else "hedging mode"
        raise DealingRuleViolation(
            "guaranteedStopAllowed", "guaranteedStop", True, f"false ({why})"
        )
    if trailing and not rules.trailing_allowed:
        raise DealingRuleViolation(
            "trailingStopsPreference", "trailingStop", True, "false (NOT_AVAILABLE)"
        )
    if trailing and body.get("stopDistance") is None:
        raise DealingRuleViolation(
            "trailingStop", "stopDistance", None, "required with a trailing stop"
        )
    sign = 1 if direction == "BUY" else -1
    stop = _level_of(body, "stop", reference, sign, amounts)
    if guaranteed and stop is None and body.get("stopAmount") is None:
        raise DealingRuleViolation(
            "guaranteedStop", "stopLevel", None, "required with a guaranteed stop"
        )
    if stop is not None:
        minimum = rules.min_distance
        guaranteed_min = rules.min_guaranteed_distance
        if (
            guaranteed
            and guaranteed_min is not None
            and (minimum is None or guaranteed_min.of(reference) > minimum.of(reference))
        ):
            minimum = guaranteed_min
        near_down, far_down, near_up, far_up = _band(rules, reference, minimum)
        near, far = (near_down, far_down) if sign > 0 else (near_up, far_up)
        rule = (
            "minGuaranteedStopDistance"
            if minimum is not rules.min_distance
            else "minStopOrProfitDistance"
        )
        field = _field(body, "stop")
        given = float(body[field])
        _check_level(rules, field, stop, near, far, rule, reference, given, amounts)
    profit = _level_of(body, "profit", reference, sign, amounts)
    if profit is not None:
        near_down, far_down, near_up, far_up = _band(rules, reference, rules.min_distance)
        near, far = (near_up, far_up) if sign > 0 else (near_down, far_down)
        field = _field(body, "profit")
        given = float(body[field])
        rule = "minStopOrProfitDistance"
        _check_level(rules, field, profit, near, far, rule, reference, given, amounts)


def _field(body: dict[str, Any], kind: str) -> str:
    for unit in ("Level", "Distance"):
        if body.get(f"{kind}{unit}") is not None:
            return f"{kind}{unit}"
    return f"{kind}Amount"


def next_opening(hours: dict[str, list[str]] | None, now: datetime) -> datetime | None:
    """The next opening time (UTC) from the weekly opening hours, when they say."""
    if not hours:
        return None
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    starts: list[datetime] = []
    for week in (0, 7):
        for index, day in enumerate(_DAYS):
            for span in hours.get(day, []):
                start_text = span.split("-")[0].strip()
                hh, mm = (int(x) for x in start_text.split(":"))
                starts.append(monday + timedelta(days=index + week, hours=hh, minutes=mm))
    later = sorted(s for s in starts if s > now)
    return later[0] if later else None


def _check_open(rules: MarketRules, now: datetime | None) -> None:
    if rules.status != "TRADEABLE":
        when = next_opening(rules.opening_hours, now or rules.updated or datetime.now(UTC))
        raise MarketClosedError(rules.epic, rules.status, when)


def _beyond(rules: MarketRules, price: float, up: bool) -> int:
    """The nearest STOP order level (in price units) beyond ``price`` by the minimum distance."""
    units = round(price * rules.scale)
    rule = rules.min_distance
    if rule is None:
        return units
    if rule.unit == "PERCENTAGE":
        factor = 1 + rule.value / 100 if up else 1 - rule.value / 100
        raw = units * factor
    else:
        raw = units + (1 if up else -1) * rule.value * rules.scale
    return math.ceil(raw - 1e-6) if up else math.floor(raw + 1e-6)


def _check_order_level(rules: MarketRules, direction: str, order_type: str, level: float) -> None:
    """A STOP order waits beyond the market by the minimum distance; a LIMIT on the near side."""
    if rules.bid is None or rules.offer is None:
        return
    scale = rules.scale
    units = round(level * scale)
    if order_type == "STOP":
        up = direction == "BUY"
        nearest = _beyond(rules, rules.offer if up else rules.bid, up)
        if (units < nearest) if up else (units > nearest):
            sign = ">=" if up else "<="
            raise DealingRuleViolation(
                "minStopOrProfitDistance", "level", level, f"{sign} {nearest / scale:g} (STOP)"
            )
        return
    entry = rules.offer if direction == "BUY" else rules.bid
    entry_units = round(entry * scale)
    if direction == "BUY" and units >= entry_units:
        raise DealingRuleViolation("limitSide", "level", level, f"< {entry:g} (LIMIT BUY)")
    if direction == "SELL" and units <= entry_units:
        raise DealingRuleViolation("limitSide", "level", level, f"> {entry:g} (LIMIT SELL)")


def check_order_write(
    endpoint: str,
    rules: MarketRules,
    body: dict[str, Any],
    *,
    direction: str | None = None,
    reference: float | None = None,
    hedging_mode: bool = False,
    now: datetime | None = None,
    amounts: Amounts | None = None,
) -> None:
    """Raise :class:`DealingRuleViolation` when ``body`` breaks the market's dealing rules.

    ``endpoint`` is the endpoint name (``positions.open``, ``orders.create``,
    ``positions.update``, ``orders.update``, ``positions.close``). For amendments give the
    deal's ``direction`` and the ``reference`` distances count from (the closing price of a
    position, the order level of a working order).

    ``stopAmount`` / ``profitAmount`` are checked like levels when ``amounts`` says what they
    count from (for amendments: the deal's open level and size; for new deals only the ``rate``
    is used, the entry and size come from the body and the quote); without it, by the server.
    """
    guaranteed_ok = not hedging_mode
    if endpoint == "positions.open":
        _check_open(rules, now)
        if not rules.market_orders_allowed:
            raise DealingRuleViolation("marketOrderPreference", "epic", rules.epic, "NOT_AVAILABLE")
        _check_size(rules, float(body["size"]))
        side = str(body["direction"])
        closing = rules.closing_price(side)
        fill = rules.entry_price(side)
        if closing is not None:
            new = None
            if amounts is not None and fill is not None:
                new = Amounts(fill, float(body["size"]), amounts.rate)
            _check_stops(rules, body, side, closing, guaranteed_ok, new)
    elif endpoint == "orders.create":
        _check_size(rules, float(body["size"]))
        side = str(body["direction"])
        level = round(float(body["level"]), rules.decimals)
        _check_order_level(rules, side, str(body.get("type", "LIMIT")), level)
        new = None if amounts is None else Amounts(level, float(body["size"]), amounts.rate)
        _check_stops(rules, body, side, level, guaranteed_ok, new)
    elif endpoint in ("positions.update", "orders.update"):
        if direction is None or reference is None:
            return
        if endpoint == "orders.update" and body.get("level") is not None:
            reference = round(float(body["level"]), rules.decimals)
            if amounts is not None:
                amounts = Amounts(reference, amounts.size, amounts.rate)  # the new order level
        _check_stops(rules, body, direction, reference, guaranteed_ok, amounts)
    elif endpoint == "positions.close":
        _check_open(rules, now)
