"""What the MCP server asks before it lets an order through: a narrow policy protocol.

The server only needs ``check(order)`` (raise :class:`PolicyRefusal` to refuse) and
``record(order)`` (an order was sent). :class:`BuiltinPolicy` implements it with an allow-list,
a size cap, a count of orders per UTC day and the live opt-in; its file format uses the field
names of the SDK's ``TradingPolicy`` (JSON, or TOML with an optional ``[policy]`` table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from capitalcom_sdk.trading.errors import PolicyViolation
from capitalcom_sdk.trading.policy import TradingPolicy, check_live, check_placement

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


def _refusal(violation: PolicyViolation) -> PolicyRefusal:
    """The SDK's policy verdict in the words the assistant sees."""
    if violation.rule == "allowed_epics":
        return PolicyRefusal(violation.rule, f"{violation.value} is not in {violation.limit}")
    if violation.rule == "allow_live":
        return PolicyRefusal(
            violation.rule, "the server is LIVE (real money); the policy does not allow it"
        )
    return PolicyRefusal(violation.rule, str(violation))


def _small_defaults() -> TradingPolicy:
    return TradingPolicy(max_order_size=1.0, max_orders_per_day=20)


@dataclass
class BuiltinPolicy:
    """The SDK's :class:`~capitalcom_sdk.trading.TradingPolicy`, checked at preview time too.

    The limits are the trading layer's own (one definition, ``capitalcom_sdk.trading``): the
    server checks what it can before a token exists (live opt-in, allow-list, size, orders sent
    today by this server), and the client it trades through enforces every limit again when the
    order is sent (open positions, exposure, daily loss, orders per hour/day), raising
    :class:`~capitalcom_sdk.trading.PolicyViolation`. Closing a position reduces risk and is
    checked only against the live opt-in. The defaults are deliberately small: one unit per
    order, 20 orders a UTC day.
    """

    policy: TradingPolicy = field(default_factory=_small_defaults)
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date(), repr=False)
    _sent: dict[date, int] = field(default_factory=dict, repr=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BuiltinPolicy:
        """A policy from plain data (TradingPolicy's keys; an unknown key is an error)."""
        return cls(TradingPolicy.from_mapping(data))

    @classmethod
    def from_file(cls, path: str | Path) -> BuiltinPolicy:
        """Read a policy from JSON (``.json``) or TOML (a ``[policy]`` table or top level)."""
        try:
            return cls(TradingPolicy.from_file(path))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read policy file {path}: {exc}") from None

    def check(self, order: ProposedOrder) -> None:
        try:
            check_live(self.policy, order.live)
            if order.action == "close":
                return
            check_placement(
                self.policy,
                order.epic or "",
                order.size if order.size is not None else 0.0,
                orders_last_day=self._sent.get(self.today(), 0),
            )
        except PolicyViolation as exc:
            raise _refusal(exc) from None

    def record(self, order: ProposedOrder) -> None:
        if order.action == "open":
            day = self.today()
            self._sent[day] = self._sent.get(day, 0) + 1

    def describe(self) -> dict[str, Any]:
        return self.policy.as_dict()
