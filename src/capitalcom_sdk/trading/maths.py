"""Instrument maths: point and pip sizes, currency conversion, margin, P&L, size from risk.

Formulas (prices in the instrument's currency, ``fx`` = account-currency units per unit of the
instrument's currency, ``sign`` = +1 for BUY, -1 for SELL):

* tick size = ``10 ** -decimals`` (the price grid); pip size = ``10 ** -pipPosition``
* a *point* is 1.0 of price, the unit of ``stopDistance``/``profitDistance`` on this API
* value of one point per unit = ``1.0 * fx``; of one pip per unit = ``pip size * fx``
* P&L at ``price`` = ``(price - open level) * size * sign * fx``
* margin = ``price * size / leverage * fx`` with ``leverage = round(100 / marginFactor)``, where
  ``marginFactor`` (percent) is what ``GET /markets/{epic}`` reports for this account (it already
  reflects the account's leverage preference); :func:`effective_margin_factor` computes it from
  the instrument's minimum margin and the chosen leverage
* size from risk = ``funds * risk / (stop distance * fx)``, rounded down to the increment

``fx`` comes from the API's own quotes: the mid of ``CCY1CCY2`` (or ``1 / mid`` of ``CCY2CCY1``,
or through USD), see :func:`fx_rate_flow`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk.errors import NotFoundError
from capitalcom_sdk.models.markets import MarketDetails
from capitalcom_sdk.trading.rules import MarketRules, round_size

__all__ = [
    "effective_margin_factor",
    "fx_rate_flow",
    "leverage_of",
    "margin",
    "pip_size",
    "pip_value",
    "pnl",
    "point_value",
    "size_for_risk",
    "tick_size",
]


def _sign(direction: str) -> int:
    return 1 if str(getattr(direction, "value", direction)) == "BUY" else -1


def tick_size(rules: MarketRules) -> float:
    """The smallest price step: ``10 ** -decimals``."""
    return float(10.0**-rules.decimals)


def pip_size(pip_position: int) -> float:
    """The size of a pip from the market's ``pipPosition``: ``10 ** -pipPosition``."""
    return float(10.0**-pip_position)


def point_value(fx: float = 1.0) -> float:
    """Value of a 1.0 price move for one unit, in the account currency."""
    return fx


def pip_value(pip_position: int, fx: float = 1.0) -> float:
    """Value of a one-pip move for one unit, in the account currency."""
    return pip_size(pip_position) * fx


def pnl(direction: str, size: float, open_level: float, price: float, fx: float = 1.0) -> float:
    """Profit (negative: loss) of a position at ``price``, in the account currency."""
    return (price - open_level) * size * _sign(direction) * fx


def leverage_of(margin_factor: float) -> int:
    """The leverage a margin factor (percent of the notional) stands for."""
    return max(1, round(100.0 / margin_factor))


def effective_margin_factor(instrument_margin_factor: float, chosen_leverage: int) -> float:
    """The margin factor for an account: the instrument's minimum or ``100 / leverage``."""
    percent = max(instrument_margin_factor, 100.0 / chosen_leverage)
    return round(100.0 / leverage_of(percent), 2)


def margin(size: float, price: float, margin_factor: float, fx: float = 1.0) -> float:
    """Margin a position of ``size`` at ``price`` holds, in the account currency."""
    return price * size / leverage_of(margin_factor) * fx


def size_for_risk(
    rules: MarketRules, funds: float, risk: float, stop_distance: float, fx: float = 1.0
) -> float:
    """The size that loses ``funds * risk`` when a stop ``stop_distance`` away is hit.

    Rounded down to the size increment. Raises ValueError when even the minimum size risks
    more than allowed (no order is better than a bigger one).
    """
    if not (funds > 0 and 0 < risk <= 1 and stop_distance > 0 and fx > 0):
        raise ValueError("funds, risk (0..1], stop_distance and fx must be positive")
    raw = funds * risk / (stop_distance * fx)
    if raw < rules.min_size - 1e-12:
        raise ValueError(
            f"risking {funds * risk:g} with a stop {stop_distance:g} away allows {raw:g} units,"
            f" below the minimum size {rules.min_size:g}"
        )
    return min(round_size(rules, raw), rules.max_size)


def _mid(details: MarketDetails) -> float:
    snap = details.snapshot
    if snap is None or snap.bid is None or snap.offer is None:
        raise ValueError(f"{details.instrument.epic}: no quote to convert with")
    return (snap.bid + snap.offer) / 2.0


def account_currency_flow() -> Generator[Any, Any, str]:
    """The active account's currency (``GET /session``; a flow). Asked each time: the client
    may have switched accounts since."""
    details = yield ep.SESSION_DETAILS.call()
    return str(details.currency)


def fx_rate_flow(from_ccy: str, to_ccy: str) -> Generator[Any, Any, float]:
    """Units of ``to_ccy`` per unit of ``from_ccy`` from the API's quotes (a flow).

    Tries the market ``FROMTO`` (mid), then ``TOFROM`` (1 / mid), then both legs through USD.
    Raises ValueError when no market quotes the pair.
    """
    if from_ccy == to_ccy:
        return 1.0
    for epic, invert in ((from_ccy + to_ccy, False), (to_ccy + from_ccy, True)):
        try:
            details: MarketDetails = yield ep.MARKET.call({"epic": epic})
        except NotFoundError:
            continue
        mid = _mid(details)
        return 1.0 / mid if invert else mid
    if "USD" not in (from_ccy, to_ccy):
        first = yield from fx_rate_flow(from_ccy, "USD")
        second = yield from fx_rate_flow("USD", to_ccy)
        return first * second
    raise ValueError(f"no market converts {from_ccy} to {to_ccy}")
