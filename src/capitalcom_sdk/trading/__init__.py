"""Trading with a safety net: pre-trade checks, instrument maths, a policy and a journal.

Opt-in: ``Client(..., safety=Safety(policy=TradingPolicy(...), journal=OrderJournal(dir)))``.
Every order write of that client then goes through :class:`Guard` (the same flow for
``Client`` and ``AsyncClient``). See docs/trading.md.
"""

from capitalcom_sdk.trading import maths
from capitalcom_sdk.trading.errors import DealingRuleViolation, MarketClosedError, PolicyViolation
from capitalcom_sdk.trading.guard import (
    DryRunConfirm,
    DryRunDealReference,
    Guard,
    PendingSettled,
    Safety,
    safety_overrides,
)
from capitalcom_sdk.trading.journal import JournalEntry, OrderJournal
from capitalcom_sdk.trading.policy import TradingPolicy
from capitalcom_sdk.trading.rules import MarketRules, check_order_write, round_size

__all__ = [
    "DealingRuleViolation",
    "DryRunConfirm",
    "DryRunDealReference",
    "Guard",
    "JournalEntry",
    "MarketClosedError",
    "MarketRules",
    "OrderJournal",
    "PendingSettled",
    "PolicyViolation",
    "Safety",
    "TradingPolicy",
    "check_order_write",
    "maths",
    "round_size",
    "safety_overrides",
]
