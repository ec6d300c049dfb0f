"""What trading writes leave behind: confirms, activity records and their ``details``.

Plain functions over an :class:`AccountState`; no prices, no rules.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import Instrument
from capitalcom_sim.engine.types import Activity, AffectedDeal, Confirm, Position, WorkingOrder


def new_deal_id() -> str:
    return str(uuid.uuid4())


def new_order_reference() -> str:
    return "o_" + str(uuid.uuid4())


class Ids:
    """Deal ids and order references: random (uuid4), or drawn from ``seed`` (reproducible
    runs: the same requests give the same ids, as a backtest's determinism needs)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = None if seed is None else random.Random(seed)

    def _uuid(self) -> str:
        if self._random is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def deal_id(self) -> str:
        return self._uuid()

    def order_reference(self) -> str:
        return "o_" + self._uuid()


def signed_distance(inst: Instrument, level: float | None, reference: float) -> float | None:
    return None if level is None else round(level - reference, inst.decimals)


def level_of(inst: Instrument, reference: float, distance: float | None) -> float | None:
    return None if distance is None else round(reference + distance, inst.decimals)


def details(
    inst: Instrument,
    reference: str,
    size: float,
    direction: str,
    level: float,
    guaranteed: bool,
    stop_level: float | None = None,
    profit_level: float | None = None,
) -> dict[str, object]:
    """The ``details`` object of a detailed activity."""
    out: dict[str, object] = {
        "dealReference": reference,
        "marketName": inst.name,
        "currency": inst.currency,
        "size": size,
        "direction": direction,
        "level": level,
        "guaranteedStop": guaranteed,
    }
    if stop_level is not None:
        out["stopLevel"] = stop_level
    if profit_level is not None:
        out["profitLevel"] = profit_level
    return out


def add_activity(
    account: AccountState,
    now: int,
    inst: Instrument,
    deal_id: str,
    source: str,
    kind: str,
    status: str,
    activity_details: dict[str, object],
) -> None:
    account.add_activity(Activity(now, inst.epic, deal_id, source, kind, status, activity_details))


def replace_confirm(confirm: Confirm, reason: str) -> Confirm:
    """A copy of ``confirm`` turned into a rejection with ``reason``."""
    return replace(confirm, deal_status="REJECTED", reason=reason, affected_deals=())


def reject(
    account: AccountState,
    now: int,
    inst: Instrument,
    reference: str,
    reason: str,
    direction: str | None,
    size: float | None,
    level: float | None,
    kind: str = "POSITION",
    deal_id: str | None = None,
) -> str:
    """Record a REJECTED confirm and activity for a write; returns its reference."""
    deal_id = deal_id or new_deal_id()
    account.add_confirm(
        Confirm(
            deal_reference=reference,
            date_ms=now,
            deal_status="REJECTED",
            status="REJECTED",
            reason=reason,
            epic=inst.epic,
            deal_id=deal_id,
            affected_deals=(),
            level=level,
            size=size,
            direction=direction,
        )
    )
    record = details(inst, reference, size or 0, direction or "", level or 0, False)
    add_activity(account, now, inst, deal_id, "USER", kind, "REJECTED", record)
    return reference


def position_confirm(
    position: Position,
    now: int,
    status: str,
    affected: str,
    level: float | None = None,
    size: float | None = None,
    profit: float | None = None,
    profit_currency: str | None = None,
    direction: str | None = None,
) -> Confirm:
    """The confirm of a write on one position (reference ``p_<dealId>``)."""
    return Confirm(
        deal_reference=position.deal_reference,
        date_ms=now,
        deal_status="ACCEPTED",
        status=status,
        reason="SUCCESS",
        epic=position.epic,
        deal_id=position.deal_id,
        affected_deals=(AffectedDeal(position.deal_id, affected),),
        level=position.level if level is None else level,
        size=position.size if size is None else size,
        direction=direction or position.direction,
        guaranteed_stop=position.guaranteed_stop,
        trailing_stop=position.trailing_stop,
        stop_level=position.stop_level,
        profit_level=position.profit_level,
        profit=profit,
        profit_currency=profit_currency,
    )


def order_confirm(
    account: AccountState,
    inst: Instrument,
    order: WorkingOrder,
    reference: str,
    now: int,
    status: str,
    affected: str,
) -> None:
    """Record the ACCEPTED confirm of a write on a working order."""
    account.add_confirm(
        Confirm(
            deal_reference=reference,
            date_ms=now,
            deal_status="ACCEPTED",
            status=status,
            reason="SUCCESS",
            epic=order.epic,
            deal_id=order.deal_id,
            affected_deals=(AffectedDeal(order.deal_id, affected),),
            level=order.level,
            size=order.size,
            direction=order.direction,
            guaranteed_stop=order.guaranteed_stop,
            trailing_stop=order.trailing_stop,
            stop_level=level_of(inst, order.level, order.stop_distance),
            profit_level=level_of(inst, order.level, order.profit_distance),
        )
    )


def order_activity(
    account: AccountState,
    inst: Instrument,
    order: WorkingOrder,
    reference: str,
    now: int,
    status: str,
    source: str = "USER",
) -> None:
    """Record a WORKING_ORDER activity under the order's deal id."""
    record = details(
        inst,
        reference,
        order.size,
        order.direction,
        order.level,
        order.guaranteed_stop,
        level_of(inst, order.level, order.stop_distance),
        level_of(inst, order.level, order.profit_distance),
    )
    add_activity(account, now, inst, order.deal_id, source, "WORKING_ORDER", status, record)
