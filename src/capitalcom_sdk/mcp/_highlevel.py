"""The higher-level tools: quote, history summary, account overview, positions with P&L, and
the preview / execute pair for opening and closing positions."""

from __future__ import annotations

import itertools
import math
import secrets
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from capitalcom_sdk import AsyncClient
from capitalcom_sdk import _validation as check
from capitalcom_sdk.errors import DealRejectedError, OrderOutcomeUnknown
from capitalcom_sdk.mcp._policy import OrderPolicy, PolicyRefusal, ProposedOrder
from capitalcom_sdk.mcp._tokens import PreviewTokens
from capitalcom_sdk.models.enums import Resolution
from capitalcom_sdk.models.trading import PositionWithMarket

MAX_SUMMARY_BARS = 5000


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuoteArgs(_Args):
    epic: str = Field(description="Market epic, e.g. GOLD, EURUSD (markets_search finds them).")


class HistoryArgs(_Args):
    epic: str = Field(description="Market epic.")
    resolution: Resolution = Field(Resolution.HOUR, description="Bar length.")
    start: datetime | None = Field(
        None, description="Range start, ISO 8601 with a zone (default: 7 days before end)."
    )
    end: datetime | None = Field(None, description="Range end, ISO 8601 with a zone (default now).")


class NoArgs(_Args):
    pass


class OpenArgs(_Args):
    epic: str = Field(description="Market epic.")
    direction: Literal["BUY", "SELL"]
    size: float = Field(gt=0, description="Deal size in the market's units.")
    stop_distance: float | None = Field(None, gt=0, description="Stop loss distance from entry.")
    stop_level: float | None = Field(None, gt=0, description="Stop loss price level.")
    profit_distance: float | None = Field(None, gt=0, description="Take profit distance.")
    profit_level: float | None = Field(None, gt=0, description="Take profit price level.")
    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None

    def stops(self) -> dict[str, Any]:
        skip = {"epic", "direction", "size", "token"}
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if k not in skip}


class ExecuteOpenArgs(OpenArgs):
    token: str = Field(description="The token preview_open_position returned for this order.")


class CloseArgs(_Args):
    deal_id: str = Field(description="Deal id of the open position (positions tool).")


class ExecuteCloseArgs(CloseArgs):
    token: str = Field(description="The token preview_close_position returned.")


class SettleArgs(_Args):
    pending_id: str = Field(description="The pending_id an execute tool answered 'unknown' with.")


def _round(value: float | None, places: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, places)


async def quote(client: AsyncClient, args: QuoteArgs) -> dict[str, Any]:
    details = await client.markets.get(args.epic)
    snap = details.snapshot
    bid = snap.bid if snap else None
    offer = snap.offer if snap else None
    rules = details.dealing_rules
    min_size = rules.min_deal_size.value if rules and rules.min_deal_size else None
    return {
        "epic": details.instrument.epic,
        "name": details.instrument.name,
        "bid": bid,
        "offer": offer,
        "mid": _round((bid + offer) / 2) if bid is not None and offer is not None else None,
        "spread": _round(offer - bid) if bid is not None and offer is not None else None,
        "market_status": str(snap.market_status) if snap and snap.market_status else None,
        "change_pct_today": snap.percentage_change if snap else None,
        "high_today": snap.high if snap else None,
        "low_today": snap.low if snap else None,
        "updated": snap.update_time.isoformat() if snap and snap.update_time else None,
        "min_deal_size": min_size,
        "currency": details.instrument.model_dump().get("currency"),
    }


async def history_summary(client: AsyncClient, args: HistoryArgs) -> dict[str, Any]:
    end = args.end or datetime.now(UTC)
    start = args.start or end - timedelta(days=7)
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise ValueError(f"{name}: expected a time with a zone (e.g. 2026-01-05T00:00:00Z)")
    if start >= end:
        raise ValueError("start: expected a time before end")
    bars_wanted = (end - start).total_seconds() / args.resolution.seconds
    if bars_wanted > MAX_SUMMARY_BARS:
        raise ValueError(
            f"the range holds ~{bars_wanted:,.0f} {args.resolution.value} bars; at most "
            f"{MAX_SUMMARY_BARS} are summarised: use a longer resolution or a shorter range"
        )
    history = await client.prices.history(args.epic, args.resolution, start, end)
    bars = [b for b in history.prices if b.close_price.mid is not None]
    if not bars:
        return {"epic": args.epic, "resolution": args.resolution.value, "bars": 0}
    closes = [float(b.close_price.mid or 0.0) for b in bars]
    highs = [b.high_price.mid for b in bars if b.high_price.mid is not None]
    lows = [b.low_price.mid for b in bars if b.low_price.mid is not None]
    first_open = bars[0].open_price.mid or closes[0]
    returns = [b / a - 1 for a, b in itertools.pairwise(closes) if a]
    high_bar = max(bars, key=lambda b: b.high_price.mid or -math.inf)
    low_bar = min(bars, key=lambda b: b.low_price.mid or math.inf)
    return {
        "epic": args.epic,
        "resolution": args.resolution.value,
        "from": bars[0].snapshot_time_utc.isoformat(),
        "to": bars[-1].snapshot_time_utc.isoformat(),
        "bars": len(bars),
        "open": _round(first_open),
        "high": _round(max(highs)) if highs else None,
        "high_at": high_bar.snapshot_time_utc.isoformat(),
        "low": _round(min(lows)) if lows else None,
        "low_at": low_bar.snapshot_time_utc.isoformat(),
        "close": _round(closes[-1]),
        "change": _round(closes[-1] - first_open),
        "change_pct": _round((closes[-1] / first_open - 1) * 100, 4) if first_open else None,
        "mean_close": _round(statistics.fmean(closes)),
        "stdev_return_pct": _round(statistics.pstdev(returns) * 100, 4) if returns else None,
        "up_bars": sum(1 for b in bars if (b.close_price.mid or 0) > (b.open_price.mid or 0)),
        "down_bars": sum(1 for b in bars if (b.close_price.mid or 0) < (b.open_price.mid or 0)),
        "prices": "mid of bid and ask",
    }


async def positions_with_pnl(client: AsyncClient, args: NoArgs) -> dict[str, Any]:
    positions = await client.positions.list()
    rows = []
    total = 0.0
    for item in positions.positions:
        p, m = item.position, item.market
        bid = m.model_dump().get("bid") if m else None
        offer = m.model_dump().get("offer") if m else None
        current = bid if str(p.direction) == "BUY" else offer
        total += p.upl or 0.0
        rows.append(
            {
                "deal_id": p.deal_id,
                "epic": m.epic if m else None,
                "direction": str(p.direction),
                "size": p.size,
                "open_level": p.level,
                "current_level": current,
                "pnl": p.upl,
                "currency": p.currency,
                "stop_level": p.stop_level,
                "profit_level": p.profit_level,
                "opened": p.created_date_utc.isoformat() if p.created_date_utc else None,
            }
        )
    return {"positions": rows, "count": len(rows), "total_pnl": _round(total, 2)}


async def account_overview(client: AsyncClient, args: NoArgs) -> dict[str, Any]:
    accounts = await client.accounts.list()
    details = await client.session.details()
    positions = await client.positions.list()
    orders = await client.orders.list()
    active = details.model_dump().get("account_id")
    rows = []
    for account in accounts.accounts:
        balance = account.balance
        rows.append(
            {
                "account_id": account.account_id,
                "name": account.account_name,
                "active": account.account_id == active,
                "currency": account.currency,
                "balance": balance.balance if balance else None,
                "available": balance.available if balance else None,
                "pnl": balance.profit_loss if balance else None,
            }
        )
    return {
        "accounts": rows,
        "active_account_id": active,
        "open_positions": len(positions.positions),
        "working_orders": len(orders.working_orders),
        "unrealised_pnl": _round(sum(i.position.upl or 0.0 for i in positions.positions), 2),
    }


class Trader:
    """Preview and execute: every order goes through the policy and a single-use token."""

    def __init__(
        self,
        client: AsyncClient,
        policy: OrderPolicy,
        tokens: PreviewTokens,
        *,
        live: bool,
        late_apply_window: float | None = None,
    ) -> None:
        self.client = client
        self.policy = policy
        self.tokens = tokens
        self.live = live
        self.late_apply_window = late_apply_window  # None: the SDK's default
        # orders whose outcome is still unknown, for settle_order (never re-sent)
        self.pending: dict[str, tuple[OrderOutcomeUnknown, ProposedOrder]] = {}

    def _open_order(self, args: OpenArgs) -> ProposedOrder:
        return ProposedOrder(
            "open",
            epic=args.epic,
            direction=args.direction,
            size=float(args.size),
            stops=args.stops(),
            live=self.live,
        )

    async def preview_open(self, args: OpenArgs) -> dict[str, Any]:
        order = self._open_order(args)
        # the SDK's own checks of what execute would send (one stop, one profit, sizes...):
        # a bad order is refused here, not after its token was spent
        check.epic(args.epic)
        check.size(args.size)
        check.stops_and_profits(**args.stops())
        self.policy.check(order)  # PolicyRefusal: refused before anything else
        market = await quote(self.client, QuoteArgs(epic=args.epic))
        price = market["offer"] if args.direction == "BUY" else market["bid"]
        warnings = []
        if market["min_deal_size"] is not None and args.size < market["min_deal_size"]:
            warnings.append(f"size is under the market's minimum {market['min_deal_size']}")
        if market["market_status"] not in (None, "TRADEABLE"):
            warnings.append(f"market status is {market['market_status']}")
        token, ttl = self.tokens.issue(order.canonical())
        return {
            "preview": "open position at market (nothing sent yet)",
            "order": order.canonical(),
            "estimated_price": price,
            "estimated_notional": _round(price * args.size, 2) if price is not None else None,
            "spread": market["spread"],
            "warnings": warnings,
            "policy": self.policy.describe(),
            "token": token,
            "expires_in_seconds": ttl,
            "next": "call execute_open_position with this token and exactly these arguments",
        }

    async def execute_open(self, args: ExecuteOpenArgs) -> dict[str, Any]:
        order = self._open_order(args)
        self.tokens.redeem(args.token, order.canonical())  # TokenRefused
        self.policy.check(order)  # limits may have been reached since the preview
        self.policy.record(order)
        try:
            confirm = await self.client.positions.open(
                args.epic, args.direction, args.size, **args.stops()
            )
        except DealRejectedError as exc:
            return {"verdict": "not_placed", "reason": exc.reason, "order": order.canonical()}
        except OrderOutcomeUnknown as exc:
            return await self._reconciled(exc, order)
        opened = confirm.opened_deal_ids
        return {
            "verdict": "placed",
            "deal_id": opened[0] if opened else confirm.deal_id,
            "deal_reference": confirm.deal_reference,
            "level": confirm.level,
            "size": confirm.size,
            "direction": str(confirm.direction) if confirm.direction else None,
            "order": order.canonical(),
        }

    def _close_order(self, held: PositionWithMarket) -> ProposedOrder:
        """The close of a whole position as the token binds it (read again at execute)."""
        p = held.position
        return ProposedOrder(
            "close",
            epic=held.market.epic if held.market else None,
            direction=str(p.direction),
            size=p.size,
            deal_id=p.deal_id,
            live=self.live,
        )

    async def preview_close(self, args: CloseArgs) -> dict[str, Any]:
        held = await self.client.positions.get(args.deal_id)
        p = held.position
        order = self._close_order(held)
        self.policy.check(order)
        token, ttl = self.tokens.issue(order.canonical())
        return {
            "preview": "close the whole position at market (nothing sent yet)",
            "order": order.canonical(),
            "open_level": p.level,
            "current_pnl": p.upl,
            "currency": p.currency,
            "token": token,
            "expires_in_seconds": ttl,
            "next": "call execute_close_position with this token and the same deal_id",
        }

    async def execute_close(self, args: ExecuteCloseArgs) -> dict[str, Any]:
        # The token binds the whole order seen at preview: epic, direction and size are read
        # again so a position changed since (partly closed, replaced) does not match.
        held = await self.client.positions.get(args.deal_id)
        order = self._close_order(held)
        self.tokens.redeem(args.token, order.canonical())
        self.policy.check(order)
        try:
            confirm = await self.client.positions.close(args.deal_id)
        except DealRejectedError as exc:
            return {"verdict": "not_closed", "reason": exc.reason, "order": order.canonical()}
        except OrderOutcomeUnknown as exc:
            return await self._reconciled(exc, order)
        return {
            "verdict": "closed",
            "deal_id": args.deal_id,
            "deal_reference": confirm.deal_reference,
            "level": confirm.level,
            "order": order.canonical(),
        }

    async def settle(self, args: SettleArgs) -> dict[str, Any]:
        """Reconcile again an order reported ``unknown`` (reads only; nothing is sent)."""
        held = self.pending.get(args.pending_id)
        if held is None:
            raise ValueError(
                f"pending_id: no unsettled order {args.pending_id!r} on this server "
                "(settled already, or the server was restarted: check positions)"
            )
        exc, order = held
        return await self._reconciled(exc, order, pending_id=args.pending_id)

    async def _reconciled(
        self, exc: OrderOutcomeUnknown, order: ProposedOrder, *, pending_id: str | None = None
    ) -> dict[str, Any]:
        """An order write whose outcome is unknown: never re-sent; settled by reconcile."""
        base = {"order": order.canonical(), "cause": exc.cause, "resent": False}
        pending_id = pending_id or secrets.token_hex(6)
        try:
            if self.late_apply_window is None:
                result = await self.client.reconcile(exc)
            else:
                result = await self.client.reconcile(exc, late_apply_window=self.late_apply_window)
        except Exception as failure:  # the reconcile's own reads failed: say so, guess nothing
            self.pending[pending_id] = (exc, order)
            return {
                **base,
                "verdict": "unknown",
                "pending_id": pending_id,
                "reconcile_error": type(failure).__name__,
                "check": "call settle_order with this pending_id (or positions and "
                "history_activity) before anything else; do not send the order again",
            }
        status = str(result.status)
        if status == "FOUND":
            self.pending.pop(pending_id, None)
            return {
                **base,
                "verdict": "closed" if order.action == "close" else "placed",
                "reconciled": True,
                "deal_id": result.deal_id,
                "note": "the answer was lost but the server applied the order (found by "
                "reconcile); it was not sent twice",
            }
        if status == "NOT_PLACED":
            self.pending.pop(pending_id, None)
            return {
                **base,
                "verdict": "not_closed" if order.action == "close" else "not_placed",
                "reconciled": True,
                "note": "the server did not apply the order and no longer can; it was not "
                "re-sent: preview it again to retry",
            }
        self.pending[pending_id] = (exc, order)
        after = result.check_after.isoformat() if result.check_after else None
        return {
            **base,
            "verdict": "unknown",
            "reconciled": True,
            "pending_id": pending_id,
            "check_after": after,
            "candidates": len(result.candidates),
            "check": (
                f"not applied so far, but the server could still apply it until {after}: "
                "call settle_order with this pending_id after that time"
                if after and not result.candidates
                else "several deals could match: compare positions and history_activity "
                "(last_period=600) with the order, or call settle_order later"
            )
            + "; do not send the order again until it is settled",
        }


__all__ = [
    "CloseArgs",
    "ExecuteCloseArgs",
    "ExecuteOpenArgs",
    "HistoryArgs",
    "NoArgs",
    "OpenArgs",
    "PolicyRefusal",
    "QuoteArgs",
    "SettleArgs",
    "Trader",
    "account_overview",
    "history_summary",
    "positions_with_pnl",
    "quote",
]
