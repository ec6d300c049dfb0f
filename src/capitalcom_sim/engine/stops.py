"""Validation of deal sizes and of stop / take-profit levels, distances and amounts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import Instrument
from capitalcom_sim.engine.money import Money, sign_of
from capitalcom_sim.engine.types import StopsRequest
from capitalcom_sim.errors import ApiError


def fmt_level(inst: Instrument, value: float) -> str:
    return repr(round(value, inst.decimals))


@dataclass(frozen=True)
class ResolvedStops:
    """Stops of a deal as absolute levels (prices), after validation."""

    stop_level: float | None
    profit_level: float | None
    guaranteed: bool
    trailing: bool
    trailing_distance: float | None


def check_size(inst: Instrument, size: float) -> None:
    """400 naming the limit when ``size`` is outside the instrument's deal size rules."""
    if not math.isfinite(size) or size <= 0:
        raise ApiError(400, "error.invalid.size")
    if size < inst.min_deal_size - 1e-12:
        raise ApiError(400, "error.invalid.size.minvalue", fmt_number(inst.min_deal_size))
    if size > inst.max_deal_size + 1e-12:
        raise ApiError(400, "error.invalid.size.maxvalue", fmt_number(inst.max_deal_size))
    steps = size / inst.min_size_increment
    if abs(steps - round(steps)) > 1e-6:
        # reported from the real server as the bare code (no increment value appended)
        raise ApiError(400, "error.invalid.size")


def stop_rejection(account: AccountState, inst: Instrument, stops: ResolvedStops) -> str | None:
    """The confirm's rejection reason for stops the account or market does not allow."""
    if stops.guaranteed and (account.preferences.hedging_mode or not inst.guaranteed_stop_allowed):
        return "STOP_OR_LIMIT_NOT_ALLOWED"
    if stops.trailing and not inst.trailing_stops:
        return "TRAILING_STOP_NOT_ALLOWED"
    return None


class StopRules:
    """Turns the stop / take-profit fields of a request into checked absolute levels.

    Needs money only for amounts given in the account's currency (``stopAmount``).
    """

    def __init__(self, money: Money) -> None:
        self.money = money

    def resolve(
        self,
        account: AccountState,
        inst: Instrument,
        direction: str,
        size: float,
        reference: float,
        entry: float,
        stops: StopsRequest,
        now: int,
        keep: ResolvedStops | None = None,
    ) -> ResolvedStops:
        """Absolute stop/profit levels from level, distance or amount; band-checked.

        ``reference`` is the price distances and the band are measured from (the closing price
        for positions, the order level for working orders); ``entry`` the price amounts are
        measured from. ``keep`` holds the current stops on amendments (omitted fields kept,
        omitted guaranteed/trailing flags reset to false).
        """
        sign = sign_of(direction)
        guaranteed = bool(stops.guaranteed_stop)
        trailing = bool(stops.trailing_stop)
        if guaranteed and trailing:
            raise ApiError(400, "error.invalid.guaranteedStop.trailingStop")
        rate = self.money.fx_rate(account.currency, inst.currency, now)

        def from_amount(amount: float, field: str) -> float:
            positive(amount, field)
            return amount * rate / size

        stop_level = None
        trailing_distance = None
        if stops.stop_level is not None:
            stop_level = positive(stops.stop_level, "stopLevel")
        elif stops.stop_distance is not None:
            distance = positive(stops.stop_distance, "stopDistance")
            stop_level = reference - sign * distance
        elif stops.stop_amount is not None:
            stop_level = entry - sign * from_amount(stops.stop_amount, "stopAmount")
        elif keep is not None:
            stop_level = keep.stop_level
        if trailing:
            if stops.stop_distance is None:
                raise ApiError(400, "error.null.stopDistance")
            trailing_distance = stops.stop_distance
        if guaranteed and stop_level is None:
            raise ApiError(400, "error.null.stopLevel")

        profit_level = None
        if stops.profit_level is not None:
            profit_level = positive(stops.profit_level, "profitLevel")
        elif stops.profit_distance is not None:
            profit_level = reference + sign * positive(stops.profit_distance, "profitDistance")
        elif stops.profit_amount is not None:
            profit_level = entry + sign * from_amount(stops.profit_amount, "profitAmount")
        elif keep is not None:
            profit_level = keep.profit_level

        min_pct = inst.min_stop_pct
        if guaranteed:
            min_pct = max(min_pct, inst.min_guaranteed_pct)
        scale = inst.scale
        near_down = math.floor(reference * (1 - min_pct / 100) * scale + 1e-6) / scale
        far_down = math.ceil(reference * (1 - inst.max_stop_pct / 100) * scale - 1e-6) / scale
        near_up = math.ceil(reference * (1 + min_pct / 100) * scale - 1e-6) / scale
        far_up = math.floor(reference * (1 + inst.max_stop_pct / 100) * scale + 1e-6) / scale
        changed_stop = any(
            x is not None for x in (stops.stop_level, stops.stop_distance, stops.stop_amount)
        )
        if stop_level is not None and (changed_stop or guaranteed):
            stop_level = round(stop_level, inst.decimals)
            low, high = (far_down, near_down) if sign > 0 else (near_up, far_up)
            if stop_level < low:
                raise ApiError(400, "error.invalid.stoploss.minvalue", fmt_level(inst, low))
            if stop_level > high:
                raise ApiError(400, "error.invalid.stoploss.maxvalue", fmt_level(inst, high))
        changed_profit = any(
            x is not None for x in (stops.profit_level, stops.profit_distance, stops.profit_amount)
        )
        if profit_level is not None and changed_profit:
            profit_level = round(profit_level, inst.decimals)
            # take profit uses the normal minimum distance even with a guaranteed stop
            near_down_p = math.floor(reference * (1 - inst.min_stop_pct / 100) * scale + 1e-6)
            near_up_p = math.ceil(reference * (1 + inst.min_stop_pct / 100) * scale - 1e-6)
            low, high = (near_up_p / scale, far_up) if sign > 0 else (far_down, near_down_p / scale)
            if profit_level < low:
                raise ApiError(400, "error.invalid.takeprofit.minvalue", fmt_level(inst, low))
            if profit_level > high:
                raise ApiError(400, "error.invalid.takeprofit.maxvalue", fmt_level(inst, high))
        return ResolvedStops(stop_level, profit_level, guaranteed, trailing, trailing_distance)


def positive(value: float, field: str) -> float:
    if not math.isfinite(value) or value <= 0 or value > 1e12:
        raise ApiError(400, f"error.invalid.{field}")
    return value


def fmt_number(value: float) -> str:
    return repr(float(value)) if value != int(value) else repr(int(value))
