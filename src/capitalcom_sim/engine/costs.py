"""Costs of trading besides the spread: the daily overnight fee and the guaranteed-stop fee.

Evidence and choices: docs/simulator-engine-notes.md ("Costs").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.ledger import Ledger
from capitalcom_sim.engine.money import DAY_MS, Money
from capitalcom_sim.engine.records import add_activity, details
from capitalcom_sim.engine.types import Position, Transaction

HOUR_MS = 3_600_000
# When the daily overnight fee is charged. "new_york": 17:00 New York time, i.e. 22:00 UTC in
# winter and 21:00 UTC while the US is on daylight saving time; "london": 22:00 London time
# (UK daylight saving); "utc": a fixed 22:00 UTC (the simulator's behaviour before 2026-12).
OVERNIGHT_FEE_CLOCKS = ("new_york", "london", "utc")
# The weekend: "triple" (Capital.com's help pages, "When are overnight fees charged?" and "What
# is a weekend fee?"): no fee on Saturdays and Sundays except for crypto, and one weekday's fee
# is three days' worth instead: Wednesday for currencies and most commodities, Friday for
# shares, indices, oil and natural gas. "daily": every day the same, weekends included (the
# simulator's behaviour before 2026-12).
WEEKEND_FEES = ("triple", "daily")
WEDNESDAY, FRIDAY = 2, 4
_FRIDAY_COMMODITIES = frozenset({"OIL_CRUDE", "OIL_BRENT", "NATURALGAS"})
# Premium of a guaranteed stop in percent, by instrument type: charged only when it triggers,
# as premium x open price x size. Capital.com shows the premium per market on the deal ticket;
# these are the published "as low as" figures (crypto: chosen).
GUARANTEED_STOP_PREMIUM_PCT: dict[str, float] = {
    "CURRENCIES": 0.01,
    "INDICES": 0.02,
    "COMMODITIES": 0.03,
    "SHARES": 0.5,
    "CRYPTOCURRENCIES": 0.5,
}


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def _last_sunday(year: int, month: int) -> date:
    last = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def fee_hour_utc(day: date, clock: str) -> int:
    """The UTC hour of the overnight fee on ``day`` (21 or 22)."""
    if clock == "new_york":  # US DST: second Sunday of March to first Sunday of November
        summer = _nth_sunday(day.year, 3, 2) <= day < _nth_sunday(day.year, 11, 1)
    elif clock == "london":  # UK DST: last Sunday of March to last Sunday of October
        summer = _last_sunday(day.year, 3) <= day < _last_sunday(day.year, 10)
    else:
        summer = False
    return 21 if summer else 22


def next_fee_after(t_ms: int, clock: str = "new_york", weekdays_only: bool = False) -> int:
    """The first overnight-fee instant strictly after ``t`` (Monday to Friday only when
    ``weekdays_only``)."""
    day_start = t_ms - t_ms % DAY_MS
    for offset in range(5):
        start = day_start + offset * DAY_MS
        day = datetime.fromtimestamp(start / 1000, tz=UTC).date()
        if weekdays_only and day.weekday() >= 5:
            continue
        charge = start + fee_hour_utc(day, clock) * HOUR_MS
        if charge > t_ms:
            return charge
    raise AssertionError("unreachable: a charge falls within four days")  # pragma: no cover


def weekend_fee_day(inst: Instrument) -> int | None:
    """The weekday (Monday 0) on which ``inst`` pays the weekend's fees; None for crypto,
    which is charged every day, weekends included."""
    if inst.type == "CRYPTOCURRENCIES":
        return None
    if inst.type == "CURRENCIES" or (
        inst.type == "COMMODITIES" and inst.epic not in _FRIDAY_COMMODITIES
    ):
        return WEDNESDAY
    return FRIDAY


def guaranteed_stop_premium_pct(inst: Instrument) -> float:
    """The instrument's guaranteed-stop premium in percent (0 when none is known)."""
    return GUARANTEED_STOP_PREMIUM_PCT.get(inst.type, 0.0)


class Costs:
    """When fees fall due and what they charge (booked as transactions and activities).

    Args:
        instruments: the instrument table (overnight rates, types for the premium).
        money: prices and FX for the amounts.
        overnight_fees: False turns the overnight fee off (positions get no charge time).
        overnight_fee_clock: one of :data:`OVERNIGHT_FEE_CLOCKS`.
        weekend_fees: one of :data:`WEEKEND_FEES`.
    """

    def __init__(
        self,
        instruments: InstrumentTable,
        money: Money,
        *,
        overnight_fees: bool,
        overnight_fee_clock: str = "new_york",
        weekend_fees: str = "triple",
    ) -> None:
        if overnight_fee_clock not in OVERNIGHT_FEE_CLOCKS:
            raise ValueError(f"overnight_fee_clock must be one of {OVERNIGHT_FEE_CLOCKS}")
        if weekend_fees not in WEEKEND_FEES:
            raise ValueError(f"weekend_fees must be one of {WEEKEND_FEES}")
        self.instruments = instruments
        self.money = money
        self.overnight_fees = overnight_fees
        self.overnight_fee_clock = overnight_fee_clock
        self.weekend_fees = weekend_fees
        self.ledger: Ledger | None = None

    def _fee_day(self, inst: Instrument) -> int | None:
        return weekend_fee_day(inst) if self.weekend_fees == "triple" else None

    def next_overnight_charge(self, after_ms: int, leverage: int, inst: Instrument) -> int | None:
        """When a position of ``inst`` opened at ``after_ms`` is next charged.

        None when fees are off or the position is not leveraged (1:1 trades pay none).
        """
        if not self.overnight_fees or leverage <= 1:
            return None
        weekdays = self._fee_day(inst) is not None
        return next_fee_after(after_ms, self.overnight_fee_clock, weekdays)

    def charge_overnight(self, account: AccountState, position: Position, when: int) -> None:
        """The overnight fee: notional x the instrument's long/short rate (percent per day),
        three times on the instrument's weekend-fee day (see :data:`WEEKEND_FEES`)."""
        inst = self.instruments.require(position.epic)
        close = self.money.closing_price(inst, position.direction, when)
        rate = inst.long_rate if position.direction == "BUY" else inst.short_rate
        fx = self.money.fx_rate(inst.currency, account.currency, when)
        fee_day = self._fee_day(inst)
        weekday = datetime.fromtimestamp(when / 1000, tz=UTC).weekday()
        days = 3 if fee_day is not None and weekday == fee_day else 1
        amount = round(close * position.size * rate / 100 * fx * days, 2)
        position.next_swap_ms = next_fee_after(
            when, self.overnight_fee_clock, weekdays_only=fee_day is not None
        )
        if amount == 0:
            return
        _book(account, position, inst.name, when, amount, "SWAP", "Overnight fee")
        if self.ledger is not None:
            self.ledger.fee(position, amount, "SWAP")
        record = details(
            inst,
            position.deal_reference,
            position.size,
            position.direction,
            close,
            position.guaranteed_stop,
        )
        add_activity(account, when, inst, position.deal_id, "SYSTEM", "SWAP", "ACCEPTED", record)

    def charge_guaranteed_stop(
        self, account: AccountState, position: Position, size: float, when: int
    ) -> None:
        """The fee of a guaranteed stop that triggered: premium x open price x size."""
        inst = self.instruments.require(position.epic)
        fx = self.money.fx_rate(inst.currency, account.currency, when)
        premium = guaranteed_stop_premium_pct(inst) / 100
        amount = -round(premium * position.level * size * fx, 2)
        if amount == 0:
            return
        _book(
            account,
            position,
            inst.name,
            when,
            amount,
            "TRADE_COMMISSION_GSL",
            "Guaranteed stop fee",
        )
        if self.ledger is not None:
            self.ledger.fee(position, amount, "TRADE_COMMISSION_GSL")


def _book(
    account: AccountState,
    position: Position,
    instrument_name: str,
    when: int,
    amount: float,
    kind: str,
    note: str,
) -> None:
    """Apply a fee to the balance and record its transaction (reference: the deal's first part)."""
    account.deposit += amount
    account.add_transaction(
        Transaction(
            date_ms=when,
            instrument_name=instrument_name,
            transaction_type=kind,
            note=note,
            reference=position.deal_id.split("-")[0],
            amount=amount,
            currency=account.currency,
        )
    )
