"""Costs of holding positions: the daily overnight fee."""

from __future__ import annotations

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import InstrumentTable
from capitalcom_sim.engine.money import DAY_MS, Money
from capitalcom_sim.engine.records import add_activity, details
from capitalcom_sim.engine.types import Position, Transaction

SWAP_HOUR_UTC = 22  # overnight fees are charged daily at 22:00 UTC


def next_swap_after(t_ms: int) -> int:
    """The first daily charge instant strictly after ``t``."""
    charge = t_ms - t_ms % DAY_MS + SWAP_HOUR_UTC * 3_600_000
    return charge if charge > t_ms else charge + DAY_MS


class Costs:
    """When fees fall due and what they charge (booked as transactions and activities).

    Args:
        instruments: the instrument table (overnight rates).
        money: prices and FX for the amounts.
        overnight_fees: False turns the overnight fee off (positions get no charge time).
    """

    def __init__(self, instruments: InstrumentTable, money: Money, *, overnight_fees: bool) -> None:
        self.instruments = instruments
        self.money = money
        self.overnight_fees = overnight_fees

    def next_overnight_charge(self, after_ms: int) -> int | None:
        """When a position opened at ``after_ms`` is next charged (None: fees off)."""
        return next_swap_after(after_ms) if self.overnight_fees else None

    def charge_overnight(self, account: AccountState, position: Position, when: int) -> None:
        """Daily fee: notional x the instrument's long/short rate (percent per day)."""
        inst = self.instruments.require(position.epic)
        close = self.money.closing_price(inst, position.direction, when)
        rate = inst.long_rate if position.direction == "BUY" else inst.short_rate
        fx = self.money.fx_rate(inst.currency, account.currency, when)
        amount = round(close * position.size * rate / 100 * fx, 2)
        position.next_swap_ms = when + DAY_MS
        if amount == 0:
            return
        account.deposit += amount
        account.add_transaction(
            Transaction(
                date_ms=when,
                instrument_name=inst.name,
                transaction_type="SWAP",
                note="Overnight fee",
                reference=position.deal_id.split("-")[0],
                amount=amount,
                currency=account.currency,
            )
        )
        record = details(
            inst,
            position.deal_reference,
            position.size,
            position.direction,
            close,
            position.guaranteed_stop,
        )
        add_activity(account, when, inst, position.deal_id, "SYSTEM", "SWAP", "ACCEPTED", record)
