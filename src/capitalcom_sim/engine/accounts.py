"""Per-account state: money, preferences, open deals, confirms and history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from capitalcom_sim.engine.types import (
    Activity,
    Confirm,
    Leverage,
    Position,
    Preferences,
    Transaction,
    WorkingOrder,
)
from capitalcom_sim.errors import ApiError

# The documented example's groups, choices and defaults (SPEC 7.9).
LEVERAGE_CHOICES: dict[str, tuple[int, ...]] = {
    "SHARES": (1, 2, 3, 5),
    "CURRENCIES": (1, 10, 20, 30),
    "INDICES": (1, 10, 20),
    "CRYPTOCURRENCIES": (1, 2),
    "COMMODITIES": (1, 5, 10, 20),
}
DEFAULT_LEVERAGE: dict[str, int] = {
    "SHARES": 5,
    "CURRENCIES": 30,
    "INDICES": 20,
    "CRYPTOCURRENCIES": 2,
    "COMMODITIES": 20,
}
CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CHF": "CHF",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "SGD": "S$",
}

# How long history is kept (sim time); older records are dropped so state stays bounded.
HISTORY_KEEP_MS = 400 * 24 * 3600 * 1000
MAX_HISTORY = 20_000
MAX_CONFIRMS = 20_000


def default_preferences() -> Preferences:
    return Preferences(
        hedging_mode=False,
        leverages={
            group: Leverage(DEFAULT_LEVERAGE[group], choices)
            for group, choices in LEVERAGE_CHOICES.items()
        },
    )


@dataclass
class AccountState:
    """Everything the engine knows about one financial account."""

    account_id: str
    client_id: str
    currency: str
    deposit: float  # cash: initial balance + realised P&L + top-ups
    preferences: Preferences = field(default_factory=default_preferences)
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, WorkingOrder] = field(default_factory=dict)
    confirms: dict[str, Confirm] = field(default_factory=dict)
    activities: list[Activity] = field(default_factory=list)  # oldest first
    transactions: list[Transaction] = field(default_factory=list)  # oldest first
    top_ups: list[int] = field(default_factory=list)  # times of today's top-ups

    def set_preferences(self, leverages: dict[str, int] | None, hedging_mode: bool | None) -> None:
        """Change leverages / hedging mode, all or nothing (400 naming what is invalid)."""
        prefs = self.preferences
        for group, value in (leverages or {}).items():
            lev = prefs.leverages.get(group)
            if lev is None:
                raise ApiError(400, "error.invalid.leverage.group")
            if value not in lev.available:
                raise ApiError(400, "error.invalid.leverage.value")
        if hedging_mode is False and prefs.hedging_mode:
            directions: dict[str, set[str]] = {}
            for pos in self.positions.values():
                directions.setdefault(pos.epic, set()).add(pos.direction)
            if any(len(d) > 1 for d in directions.values()):
                raise ApiError(400, "error.invalid.hedgingMode")
        for group, value in (leverages or {}).items():
            prefs.leverages[group].current = value
        if hedging_mode is not None:
            prefs.hedging_mode = hedging_mode

    def top_up(self, amount: float, max_deposit: float, now_ms: int) -> None:
        """Add ``amount`` (negative: withdraw) keeping the deposit in [0, max_deposit]."""
        result = self.deposit + amount
        if result > max_deposit:
            raise ApiError(400, "error.invalid.balance.maxvalue", repr(float(max_deposit)))
        if result < 0:
            raise ApiError(400, "error.invalid.balance.minvalue", repr(0.0))
        self.deposit = result
        self.add_transaction(
            Transaction(
                date_ms=now_ms,
                instrument_name=None,
                transaction_type="DEPOSIT" if amount > 0 else "WITHDRAWAL",
                note="Deposit" if amount > 0 else "Withdrawal",
                reference=str(uuid.uuid4().int % 10**8).zfill(8),
                amount=round(amount, 2),
                currency=self.currency,
            )
        )

    def add_confirm(self, confirm: Confirm) -> None:
        self.confirms.pop(confirm.deal_reference, None)
        self.confirms[confirm.deal_reference] = confirm
        while len(self.confirms) > MAX_CONFIRMS:
            self.confirms.pop(next(iter(self.confirms)))

    def add_activity(self, activity: Activity) -> None:
        self.activities.append(activity)
        _trim(self.activities, activity.date_ms)

    def add_transaction(self, transaction: Transaction) -> None:
        self.transactions.append(transaction)
        _trim(self.transactions, transaction.date_ms)


def _trim(records: list[Activity] | list[Transaction], now_ms: int) -> None:
    if len(records) > MAX_HISTORY:
        del records[: len(records) - MAX_HISTORY]
    while records and records[0].date_ms < now_ms - HISTORY_KEEP_MS:
        del records[0]
