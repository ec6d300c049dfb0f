"""``client.orders``: working (LIMIT/STOP) orders; create, amend, cancel (confirmed by default)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Unpack, overload

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk.models.enums import Direction, OrderType
from capitalcom_sdk.models.general import DealReference
from capitalcom_sdk.models.trading import Confirm, WorkingOrders
from capitalcom_sdk.resources import _trading as trading
from capitalcom_sdk.resources._base import AsyncResource, SyncResource
from capitalcom_sdk.resources._trading import StopOptions


class Orders(SyncResource):
    def list(self) -> WorkingOrders:
        """All pending working orders of the active account."""
        return self._call(ep.WORKING_ORDERS.call())

    @overload
    def create(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        level: float,
        type: OrderType | str,
        *,
        good_till_date: datetime | None = ...,
        confirm: Literal[True] = ...,
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> Confirm: ...
    @overload
    def create(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        level: float,
        type: OrderType | str,
        *,
        good_till_date: datetime | None = ...,
        confirm: Literal[False],
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> DealReference: ...
    def create(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        level: float,
        type: OrderType | str,
        *,
        good_till_date: datetime | None = None,
        confirm: bool = True,
        confirm_timeout: float | None = None,
        **stops: Unpack[StopOptions],
    ) -> Confirm | DealReference:
        """Create a LIMIT or STOP order at ``level``; good till cancelled unless an aware
        ``good_till_date`` is given. Stop/profit distances are relative to ``level``.

        Raises:
            DealRejectedError: the order was rejected.
            OrderOutcomeUnknown: sent, outcome unknown; never re-sent automatically.
        """
        return self._deal(
            trading.create_order(
                epic, direction, size, level, type, good_till_date, stops, self._now()
            ),
            confirm,
            confirm_timeout,
        )

    @overload
    def update(
        self,
        deal_id: str,
        *,
        level: float | None = ...,
        good_till_date: datetime | None = ...,
        confirm: Literal[True] = ...,
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> Confirm: ...
    @overload
    def update(
        self,
        deal_id: str,
        *,
        level: float | None = ...,
        good_till_date: datetime | None = ...,
        confirm: Literal[False],
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> DealReference: ...
    def update(
        self,
        deal_id: str,
        *,
        level: float | None = None,
        good_till_date: datetime | None = None,
        confirm: bool = True,
        confirm_timeout: float | None = None,
        **stops: Unpack[StopOptions],
    ) -> Confirm | DealReference:
        """Amend a working order's level, expiry, stops or profit."""
        return self._deal(
            trading.update_order(deal_id, level, good_till_date, stops, self._now()),
            confirm,
            confirm_timeout,
        )

    @overload
    def delete(
        self, deal_id: str, *, confirm: Literal[True] = ..., confirm_timeout: float | None = ...
    ) -> Confirm: ...
    @overload
    def delete(
        self, deal_id: str, *, confirm: Literal[False], confirm_timeout: float | None = ...
    ) -> DealReference: ...
    def delete(
        self, deal_id: str, *, confirm: bool = True, confirm_timeout: float | None = None
    ) -> Confirm | DealReference:
        """Cancel a working order."""
        return self._deal(trading.delete_order(deal_id), confirm, confirm_timeout)


class AsyncOrders(AsyncResource):
    async def list(self) -> WorkingOrders:
        """All pending working orders of the active account."""
        return await self._call(ep.WORKING_ORDERS.call())

    @overload
    async def create(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        level: float,
        type: OrderType | str,
        *,
        good_till_date: datetime | None = ...,
        confirm: Literal[True] = ...,
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> Confirm: ...
    @overload
    async def create(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        level: float,
        type: OrderType | str,
        *,
        good_till_date: datetime | None = ...,
        confirm: Literal[False],
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> DealReference: ...
    async def create(
        self,
        epic: str,
        direction: Direction | str,
        size: float,
        level: float,
        type: OrderType | str,
        *,
        good_till_date: datetime | None = None,
        confirm: bool = True,
        confirm_timeout: float | None = None,
        **stops: Unpack[StopOptions],
    ) -> Confirm | DealReference:
        """Create a LIMIT or STOP order (see :meth:`Orders.create`)."""
        return await self._deal(
            trading.create_order(
                epic, direction, size, level, type, good_till_date, stops, self._now()
            ),
            confirm,
            confirm_timeout,
        )

    @overload
    async def update(
        self,
        deal_id: str,
        *,
        level: float | None = ...,
        good_till_date: datetime | None = ...,
        confirm: Literal[True] = ...,
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> Confirm: ...
    @overload
    async def update(
        self,
        deal_id: str,
        *,
        level: float | None = ...,
        good_till_date: datetime | None = ...,
        confirm: Literal[False],
        confirm_timeout: float | None = ...,
        **stops: Unpack[StopOptions],
    ) -> DealReference: ...
    async def update(
        self,
        deal_id: str,
        *,
        level: float | None = None,
        good_till_date: datetime | None = None,
        confirm: bool = True,
        confirm_timeout: float | None = None,
        **stops: Unpack[StopOptions],
    ) -> Confirm | DealReference:
        """Amend a working order's level, expiry, stops or profit."""
        return await self._deal(
            trading.update_order(deal_id, level, good_till_date, stops, self._now()),
            confirm,
            confirm_timeout,
        )

    @overload
    async def delete(
        self, deal_id: str, *, confirm: Literal[True] = ..., confirm_timeout: float | None = ...
    ) -> Confirm: ...
    @overload
    async def delete(
        self, deal_id: str, *, confirm: Literal[False], confirm_timeout: float | None = ...
    ) -> DealReference: ...
    async def delete(
        self, deal_id: str, *, confirm: bool = True, confirm_timeout: float | None = None
    ) -> Confirm | DealReference:
        """Cancel a working order."""
        return await self._deal(trading.delete_order(deal_id), confirm, confirm_timeout)
