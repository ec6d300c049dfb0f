"""For a grid of generated orders on every instrument type the simulator has, the pre-trade
verdict and the server's verdict agree: nothing passes the checks and is then refused for a
dealing rule, nothing is refused that the server accepts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.errors import DealRejectedError, InvalidRequestError
from capitalcom_sdk.trading import DealingRuleViolation, MarketRules, Safety, safety_overrides
from capitalcom_sdk.trading.maths import fx_rate_flow
from capitalcom_sim.engine.instruments import INSTRUMENTS
from tests.conftest import SimHandle


def _epics_per_type() -> list[str]:
    """Two instruments of every type (the first and the last in the table), plus the
    Singapore share (closed at the test's hour) and SILVER (no trailing stops)."""
    by_type: dict[str, list[str]] = {}
    for inst in INSTRUMENTS:
        by_type.setdefault(inst.type, []).append(inst.epic)
    epics = [e for group in by_type.values() for e in dict.fromkeys((group[0], group[-1]))]
    return [*epics, "5CPSG", "SILVER"]


EPICS = _epics_per_type()


@dataclass
class Case:
    kind: str  # position | order
    args: dict[str, Any]
    label: str
    stops: dict[str, Any] = field(default_factory=dict)


def _cases(rules: MarketRules, rate: float) -> Iterator[Case]:
    """The grid; ``rate``: units of the instrument's currency per unit of the account's."""
    tick = 10.0**-rules.decimals
    step = rules.size_increment or tick
    size = rules.min_size
    digits = rules.decimals
    for label, value in (
        ("min size", size),
        ("below min", size - step if size - step > 0 else size / 2),
        ("off increment", size + step / 2),
        ("above max", rules.max_size + step),
        ("three steps", size + 3 * step),
    ):
        yield Case("position", {"direction": "BUY", "size": round(value, 6)}, label)
    for direction in ("BUY", "SELL"):
        reference = rules.closing_price(direction)
        assert reference is not None
        assert rules.min_distance is not None
        near = rules.min_distance.of(reference)
        far = rules.max_distance.of(reference) if rules.max_distance else reference / 2
        for name, distance in (
            ("at min", math.ceil(near / tick) * tick),
            ("under min", math.floor(near / tick) * tick - tick),
            ("mid", (near + far) / 2),
            ("over max", far + 5 * tick),
        ):
            distance = round(distance, digits)
            if distance <= 0:
                continue
            for stop_kind in ("stopDistance", "profitDistance"):
                key = "stop_distance" if stop_kind == "stopDistance" else "profit_distance"
                yield Case(
                    "position",
                    {"direction": direction, "size": size},
                    f"{direction} {stop_kind} {name}",
                    {key: distance},
                )
            sign = 1 if direction == "BUY" else -1
            yield Case(
                "position",
                {"direction": direction, "size": size},
                f"{direction} stopLevel {name}",
                {"stop_level": round(reference - sign * distance, digits)},
            )
            if name == "at min":
                continue  # an amount rounds to cents: exactly at the minimum is not robust
            fill = rules.entry_price(direction)
            assert fill is not None
            for key, level in (
                ("stop_amount", reference - sign * distance),
                ("profit_amount", reference + sign * distance),
            ):
                # Amounts count from the fill price, distances from the closing price.
                amount = round(abs(fill - level) * size / rate, 2)
                if amount > 0:
                    yield Case(
                        "position",
                        {"direction": direction, "size": size},
                        f"{direction} {key} {name}",
                        {key: amount},
                    )
        mid = round((near + far) / 2, digits)
        yield Case(
            "position",
            {"direction": direction, "size": size},
            f"{direction} guaranteed",
            {"stop_distance": mid, "guaranteed_stop": True},
        )
        yield Case(
            "position",
            {"direction": direction, "size": size},
            f"{direction} guaranteed near",
            {
                "stop_distance": round(math.ceil(near / tick) * tick, digits),
                "guaranteed_stop": True,
            },
        )
        yield Case(
            "position",
            {"direction": direction, "size": size},
            f"{direction} trailing",
            {"stop_distance": mid, "trailing_stop": True},
        )
        entry = rules.entry_price(direction)
        assert entry is not None
        for order_type in ("LIMIT", "STOP"):
            for name, offset in (
                ("at market", 0.0),
                ("1 tick away", tick),
                ("at min", near),
                ("2x min", 2 * near),
            ):
                away = 1 if (order_type == "STOP") == (direction == "BUY") else -1
                for side_name, side in (("right", away), ("wrong", -away)):
                    level = round(entry + side * offset, digits)
                    if level <= 0:
                        continue
                    yield Case(
                        "order",
                        {"direction": direction, "size": size, "level": level, "type": order_type},
                        f"{direction} {order_type} {side_name} side {name}",
                    )
            level = round(
                entry
                + (2 * near if direction == "BUY" else -2 * near)
                * (1 if order_type == "STOP" else -1),
                digits,
            )
            yield Case(
                "order",
                {"direction": direction, "size": size, "level": level, "type": order_type},
                f"{direction} {order_type} stop under min",
                {"stop_distance": round(max(tick, math.floor(near / tick) * tick - tick), digits)},
            )


def _server_verdict(client: Client, case: Case, epic: str) -> tuple[bool, str]:
    """Send with the checks off; (accepted, reason) and undo what was opened."""
    try:
        with safety_overrides(checks=False):
            if case.kind == "position":
                confirm = client.positions.open(epic, **case.args, **case.stops)
            else:
                confirm = client.orders.create(epic, **case.args, **case.stops)
    except InvalidRequestError as exc:
        return False, str(exc.error_code)
    except DealRejectedError as exc:
        return False, str(exc.reason)
    if case.kind == "position":
        for deal_id in confirm.opened_deal_ids:
            client.positions.close(deal_id)
    elif confirm.deal_id:
        client.orders.delete(confirm.deal_id)
    return True, "accepted"


@pytest.mark.parametrize("epic", EPICS)
def test_pre_trade_verdict_matches_the_servers(sim: SimHandle, epic: str) -> None:
    client = Client(**sim.client_kwargs(), safety=Safety(), rate_limit=False)
    rules = MarketRules.from_details(client.markets.get(epic))
    account_currency = str(client.session.details().currency)
    flow = fx_rate_flow(account_currency, rules.currency or account_currency)
    rate = client._transport.run(flow)
    disagreements: list[str] = []
    checked = refused = 0
    amounts_refused_early = 0
    for case in _cases(rules, rate):
        predicted_ok, rule = True, ""
        try:
            with safety_overrides(checks=True):
                guard = client.guard
                assert guard is not None
                _pre_check(client, case, epic)
        except DealingRuleViolation as exc:
            predicted_ok, rule = False, exc.rule
            amounts_refused_early += any(k.endswith("_amount") for k in case.stops)
        accepted, reason = _server_verdict(client, case, epic)
        assert reason != "INSUFFICIENT_FUNDS", f"{epic} {case.label}: test sizes too big"
        checked += 1
        refused += not accepted
        if predicted_ok != accepted:
            disagreements.append(
                f"{case.label} {case.args} {case.stops}: check {'ok' if predicted_ok else rule},"
                f" server {reason}"
            )
    assert not disagreements, f"{epic}:\n" + "\n".join(disagreements)
    assert checked >= 40
    assert 0 < refused < checked
    if rules.status == "TRADEABLE":  # amounts are checked before sending, not by the server
        assert amounts_refused_early >= 2


def _pre_check(client: Client, case: Case, epic: str) -> None:
    """Run the client's own check path without sending: dry-run through the guard."""
    from capitalcom_sdk.trading import Guard, TradingPolicy

    checker = Guard(Safety(policy=TradingPolicy(dry_run=True)), live=False)
    transport = client._transport
    if case.kind == "position":
        from capitalcom_sdk.resources import _trading as trading

        call = trading.open_position(epic, case.args["direction"], case.args["size"], case.stops)  # type: ignore[arg-type]
    else:
        from capitalcom_sdk.resources import _trading as trading

        call = trading.create_order(
            epic,
            case.args["direction"],
            case.args["size"],
            case.args["level"],
            case.args["type"],
            None,
            case.stops,  # type: ignore[arg-type]
        )
    transport.run(checker.deal_flow(transport.core, call, confirm=True, timeout=1.0))
