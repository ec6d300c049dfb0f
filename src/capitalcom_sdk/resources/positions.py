"""``client.positions``: open positions; open, amend and close them (confirmed by default)."""

from __future__ import annotations

from typing import Literal, Unpack, overload

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk.models import trading as models
from capitalcom_sdk.models.enums import Direction
from capitalcom_sdk.models.general import DealReference
from capitalcom_sdk.models.trading import Confirm, PositionWithMarket
from capitalcom_sdk.resources import _trading as trading
from capitalcom_sdk.resources._base import AsyncResource, SyncResource
from capitalcom_sdk.resources._trading import StopOptions


class Positions(SyncResource):
    def list(self) -> models.Positions:
        """All open positions of the active account."""
        return self._call(ep.POSITIONS.call())

    def get(self, deal_id: str) -> PositionWithMarket:
        """One open position."""
        return self._call(ep.POSITION.call({"dealId": check.identifier(deal_id, "dealId")}))

    @overload
    def open(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        *,
        confirm: Literal[True] = ...,
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> Confirm: ...
    @overload
    def open(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        *,
        confirm: Literal[False],
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> DealReference: ...
    def open(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        *,
        confirm: bool = True,
        confirm_timeout: float | None = None,
        **stops: Unpack[StopOptions],
    ) -> Confirm | DealReference:
        """Open a position at market; returns its confirmation (``opened_deal_ids`` names the
        position) or, with ``confirm=False``, just the deal reference.

        Raises:
            DealRejectedError: the deal was rejected (reason and confirm attached).
            OrderOutcomeUnknown: sent, outcome unknown; never re-sent automatically.
        """
        return self._deal(
            trading.open_position(epic, direction, size, stops), confirm, confirm_timeout
        )

    @overload
    def update(
        self,
        deal_id: str,
        *,
        confirm: Literal[True] = ...,
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> Confirm: ...
    @overload
    def update(
        self,
        deal_id: str,
        *,
        confirm: Literal[False],
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> DealReference: ...
    def update(
        self,
        deal_id: str,
        *,
        confirm: bool = True,
        confirm_timeout: float | None = None,
        **stops: Unpack[StopOptions],
    ) -> Confirm | DealReference:
        """Amend stop loss / take profit / guaranteed / trailing stop of a position."""
        return self._deal(trading.update_position(deal_id, stops), confirm, confirm_timeout)

    @overload
    def close(
        self, deal_id: str, *, confirm: Literal[True] = ..., confirm_timeout: float | None = ...
    ) -> Confirm: ...
    @overload
    def close(
        self, deal_id: str, *, confirm: Literal[False], confirm_timeout: float | None = ...
    ) -> DealReference: ...
    def close(
        self, deal_id: str, *, confirm: bool = True, confirm_timeout: float | None = None
    ) -> Confirm | DealReference:
        """Close a whole position."""
        return self._deal(trading.close_position(deal_id), confirm, confirm_timeout)


class AsyncPositions(AsyncResource):
    async def list(self) -> models.Positions:
        """All open positions of the active account."""
        return await self._call(ep.POSITIONS.call())

    async def get(self, deal_id: str) -> PositionWithMarket:
        """One open position."""
        return await self._call(ep.POSITION.call({"dealId": check.identifier(deal_id, "dealId")}))

    @overload
    async def open(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        *,
        confirm: Literal[True] = ...,
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> Confirm: ...
    @overload
    async def open(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        *,
        confirm: Literal[False],
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> DealReference: ...
    async def open(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        *,
        confirm: bool = True,
        confirm_timeout: float | None = None,
        **stops: Unpack[StopOptions],
    ) -> Confirm | DealReference:
        """Open a position at market (see :meth:`Positions.open`)."""
        return await self._deal(
            trading.open_position(epic, direction, size, stops), confirm, confirm_timeout
        )

    @overload
    async def update(
        self,
        deal_id: str,
        *,
        confirm: Literal[True] = ...,
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> Confirm: ...
    @overload
    async def update(
        self,
        deal_id: str,
        *,
        confirm: Literal[False],
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> DealReference: ...
    async def update(
        self,
        deal_id: str,
        *,
        confirm: bool = True,
        confirm_timeout: float | None = None,
        **stops: Unpack[StopOptions],
    ) -> Confirm | DealReference:
        """Amend stop loss / take profit / guaranteed / trailing stop of a position."""
        return await self._deal(trading.update_position(deal_id, stops), confirm, confirm_timeout)

    @overload
    async def close(
        self, deal_id: str, *, confirm: Literal[True] = ..., confirm_timeout: float | None = ...
    ) -> Confirm: ...
    @overload
    async def close(
        self, deal_id: str, *, confirm: Literal[False], confirm_timeout: float | None = ...
    ) -> DealReference: ...
    async def close(
        self, deal_id: str, *, confirm: bool = True, confirm_timeout: float | None = None
    ) -> Confirm | DealReference:
        """Close a whole position."""
        return await self._deal(trading.close_position(deal_id), confirm, confirm_timeout)
