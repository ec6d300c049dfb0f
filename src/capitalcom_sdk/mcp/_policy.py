"""What the MCP server asks before it lets an order through: a narrow policy protocol.

The server only needs ``check(order)`` (raise :class:`PolicyRefusal` to refuse) and
``record(order)`` (an order was sent). :class:`BuiltinPolicy` implements it with an allow-list,
a size cap, a count of orders per UTC day and the live opt-in; its file format uses the field
names of the SDK's ``TradingPolicy`` (JSON, or TOML with an optional ``[policy]`` table).
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

Action = Literal["open", "close"]


@dataclass(frozen=True)
class ProposedOrder:
    """An order as the MCP server would send it (the thing a preview token is bound to).

    Attributes:
        action: ``open`` (a market position) or ``close`` (a whole position).
        epic, direction, size: the market, BUY/SELL and the size (``close``: of the position).
        stops: stop/profit options in the SDK's keyword names (``stop_distance`` ...).
        deal_id: the position a ``close`` acts on.
        live: whether the order would reach the live server (real money).
    """

    action: Action
    epic: str | None = None
    direction: str | None = None
    size: float | None = None
    stops: Mapping[str, Any] = field(default_factory=dict)
    deal_id: str | None = None
    live: bool = False

    def canonical(self) -> dict[str, Any]:
        """The order as plain, order-independent data (what tokens and journals carry)."""
        return {
            "action": self.action,
            "epic": self.epic,
            "direction": self.direction,
            "size": self.size,
            "stops": {k: self.stops[k] for k in sorted(self.stops)},
            "deal_id": self.deal_id,
            "live": self.live,
        }


class PolicyRefusal(Exception):
    """An order the policy does not allow: ``rule`` names the limit, ``detail`` says why."""

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        self.detail = detail
        super().__init__(f"refused by policy ({rule}): {detail}")


class OrderPolicy(Protocol):
    """What the server needs of a trading policy."""

    def check(self, order: ProposedOrder) -> None:
        """Raise :class:`PolicyRefusal` when ``order`` must not be sent."""

    def record(self, order: ProposedOrder) -> None:
        """``order`` was sent (counted against per-day limits whatever its outcome)."""

    def describe(self) -> dict[str, Any]:
        """The limits as plain data (shown to the assistant and in the journal)."""


_KNOWN = {"allowed_epics", "max_order_size", "max_orders_per_day", "allow_live"}


@dataclass
class BuiltinPolicy:
    """Allow-list, size cap, orders per UTC day and the live opt-in.

    Opening is checked against every limit; closing a position reduces risk and is checked only
    against the live opt-in. ``None`` means no limit. The defaults are deliberately small.
    """

    allowed_epics: frozenset[str] | None = None
    max_order_size: float | None = 1.0
    max_orders_per_day: int | None = 20
    allow_live: bool = False
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date(), repr=False)
    _sent: dict[date, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name in ("max_order_size", "max_orders_per_day"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name}: expected a positive number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: expected a positive number, got {value!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BuiltinPolicy:
        """A policy from plain data; unknown keys are an error (a typo must not mean "no limit")."""
        unknown = sorted(set(data) - _KNOWN)
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(unknown)} (known: {sorted(_KNOWN)})")
        values: dict[str, Any] = dict(data)
        epics = values.get("allowed_epics")
        if epics is not None:
            if isinstance(epics, str) or not isinstance(epics, list | tuple):
                raise ValueError("allowed_epics: expected a list of epics")
            values["allowed_epics"] = frozenset(str(e) for e in epics)
        if "allow_live" in values and not isinstance(values["allow_live"], bool):
            raise ValueError("allow_live: expected true or false")
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> BuiltinPolicy:
        """Read a policy from JSON (``.json``) or TOML (a ``[policy]`` table or top level)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read policy file {path}: {exc}") from None
        section = data.get("policy", data) if isinstance(data, dict) else data
        if not isinstance(section, Mapping):
            raise ValueError(f"{path}: the policy must be a table / JSON object")
        return cls.from_mapping(section)

    def check(self, order: ProposedOrder) -> None:
        if order.live and not self.allow_live:
            raise PolicyRefusal(
                "allow_live", "the server is LIVE (real money); the policy does not allow it"
            )
        if order.action == "close":
            return
        if self.allowed_epics is not None and order.epic not in self.allowed_epics:
            raise PolicyRefusal(
                "allowed_epics", f"{order.epic} is not in {sorted(self.allowed_epics)}"
            )
        if (
            self.max_order_size is not None
            and order.size is not None
            and order.size > self.max_order_size
        ):
            raise PolicyRefusal(
                "max_order_size", f"size {order.size} is over the limit {self.max_order_size}"
            )
        if self.max_orders_per_day is not None:
            sent = self._sent.get(self.today(), 0)
            if sent >= self.max_orders_per_day:
                raise PolicyRefusal(
                    "max_orders_per_day",
                    f"{sent} orders sent today (UTC), the limit is {self.max_orders_per_day}",
                )

    def record(self, order: ProposedOrder) -> None:
        if order.action == "open":
            day = self.today()
            self._sent[day] = self._sent.get(day, 0) + 1

    def describe(self) -> dict[str, Any]:
        return {
            "allowed_epics": None if self.allowed_epics is None else sorted(self.allowed_epics),
            "max_order_size": self.max_order_size,
            "max_orders_per_day": self.max_orders_per_day,
            "allow_live": self.allow_live,
        }
