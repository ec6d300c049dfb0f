"""Errors of the safety layer: a dealing rule the order breaks, a policy limit it would pass."""

from __future__ import annotations

from datetime import datetime

from capitalcom_sdk.errors import CapitalError, RequestValidationError

__all__ = ["DealingRuleViolation", "MarketClosedError", "PolicyViolation"]


class DealingRuleViolation(RequestValidationError):
    """The order breaks one of the market's dealing rules; nothing was sent.

    Attributes:
        rule: the dealing rule (e.g. ``minDealSize``, ``minStopOrProfitDistance``).
        field: the request field at fault (``size``, ``stopLevel``, ...).
        value: the value that breaks it.
        allowed: the allowed range or value, as text (e.g. ``">= 1"``, ``"1.0791 .. 0.6482"``).
    """

    def __init__(self, rule: str, field: str, value: object, allowed: str) -> None:
        self.rule = rule
        self.value = value
        self.allowed = allowed
        super().__init__(field, f"{value!r} breaks the dealing rule {rule} (allowed: {allowed})")


class MarketClosedError(DealingRuleViolation):
    """The market does not take this order now; ``next_open`` is when it opens, when known."""

    def __init__(self, epic: str, status: str, next_open: datetime | None) -> None:
        self.epic = epic
        self.status = status
        self.next_open = next_open
        opens = f"opens {next_open.isoformat()}" if next_open else "next opening unknown"
        super().__init__("marketStatus", "epic", epic, f"TRADEABLE; market is {status}, {opens}")


class PolicyViolation(CapitalError):
    """The order would break the client's :class:`TradingPolicy`; nothing was sent.

    Attributes:
        rule: the policy field (e.g. ``max_order_size``, ``allowed_epics``).
        value: the value that would break it.
        limit: the configured limit.
    """

    def __init__(self, rule: str, value: object, limit: object, detail: str = "") -> None:
        self.rule = rule
        self.value = value
        self.limit = limit
        extra = f"; {detail}" if detail else ""
        super().__init__(f"policy {rule}: {value!r} is over the limit {limit!r}{extra}")
