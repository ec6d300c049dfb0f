"""How numbers are written on the wire, field by field, as the recorded answers write them.

The real servers write some fields as JSON integers when their value is whole
(``"marginFactor": 10``, ``"orderLevel": 20``, ``"stopDistance": -3``, a confirm's
``"size": 1``) and others always as floats (a position's ``"size": 1.0``, balances
``"deposit": 100.0``). Python clients do not notice; strictly typed ones do. The rules below come
from the official Postman examples (``tests/sim/test_contract.py`` walks every example and checks
them, see docs/simulator.md "Number formats"); fields the examples leave ambiguous (only
fractional values recorded, e.g. prices) are written as the routes produce them.

A rule is keyed by the field name and the name of the object that holds it (``None`` for the top
level, ``"*"`` for any holder). Lists are transparent: ``positions[].position.size`` is ``size``
held by ``position``.
"""

from __future__ import annotations

from typing import Any, Final

INT_IF_WHOLE: Final = "int"
FLOAT: Final = "float"

_ANY = "*"
_BALANCE_HOLDERS = ("accountInfo", "balance")
_BALANCE_FIELDS = ("balance", "deposit", "profitLoss", "available")

RULES: dict[tuple[str | None, str], str] = {
    # Market details (GET /markets/{epic}, GET /markets?epics=): instrument and dealing rules.
    (_ANY, "marginFactor"): INT_IF_WHOLE,
    (_ANY, "value"): INT_IF_WHOLE,  # dealingRules.*.value: 60, 2, 0.1, 0.001
    (_ANY, "lotSize"): INT_IF_WHOLE,
    (_ANY, "scalingFactor"): INT_IF_WHOLE,
    (_ANY, "delayTime"): INT_IF_WHOLE,
    (_ANY, "decimalPlacesFactor"): INT_IF_WHOLE,
    # Working orders: workingOrderData.
    (_ANY, "orderLevel"): INT_IF_WHOLE,
    (_ANY, "orderSize"): INT_IF_WHOLE,
    (_ANY, "stopDistance"): INT_IF_WHOLE,
    (_ANY, "profitDistance"): INT_IF_WHOLE,
    # Positions: leverage and contract size whole, the size always a float.
    (_ANY, "leverage"): INT_IF_WHOLE,
    (_ANY, "contractSize"): INT_IF_WHOLE,
    ("position", "size"): FLOAT,
    # Confirms (top level) and activity details: the size is whole when it can be.
    (None, "size"): INT_IF_WHOLE,
    ("details", "size"): INT_IF_WHOLE,
    # Account preferences: leverages.<group>.current / available[].
    (_ANY, "current"): INT_IF_WHOLE,
    (_ANY, "timezoneOffset"): INT_IF_WHOLE,
    (_ANY, "lastTradedVolume"): INT_IF_WHOLE,
    **{(holder, name): FLOAT for holder in _BALANCE_HOLDERS for name in _BALANCE_FIELDS},
}
# "available" is a float in a balance block and a list of whole leverages elsewhere.
_LIST_RULES: dict[str, str] = {"available": INT_IF_WHOLE}
_KEYS = frozenset(name for _, name in RULES)


def _convert(value: Any, rule: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if rule == FLOAT:
        return float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _rule(holder: str | None, name: str) -> str | None:
    return RULES.get((holder, name)) or RULES.get((_ANY, name))


def apply(payload: Any, holder: str | None = None) -> Any:
    """Rewrite the numbers of ``payload`` in place by the rules; returns ``payload``."""
    if isinstance(payload, dict):
        for name, value in payload.items():
            if isinstance(value, dict):
                apply(value, name)
            elif isinstance(value, list):
                list_rule = _LIST_RULES.get(name)
                for index, item in enumerate(value):
                    if isinstance(item, dict | list):
                        apply(item, name)
                    elif list_rule is not None:
                        value[index] = _convert(item, list_rule)
            elif name in _KEYS:
                rule = _rule(holder, name)
                if rule is not None:
                    payload[name] = _convert(value, rule)
    elif isinstance(payload, list):
        for item in payload:
            if isinstance(item, dict | list):
                apply(item, holder)
    return payload
