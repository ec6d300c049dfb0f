"""``client.prices``: one request of bars, or a whole range paged past the 1000-bar limit."""

from __future__ import annotations

from datetime import datetime

from capitalcom_sdk._pagination import Progress, price_history_flow, prices_call
from capitalcom_sdk.models.enums import Resolution
from capitalcom_sdk.models.prices import PriceHistory
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


class Prices(SyncResource):
    def get(
        self,
        epic: str,
        resolution: Resolution | str | None = None,
        max: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> PriceHistory:
        """One ``GET /prices`` request: at most ``max`` (1..1000, server default 10) bars."""
        return self._call(prices_call(epic, resolution, max, start, end))

    def history(
        self,
        epic: str,
        resolution: Resolution | str,
        start: datetime,
        end: datetime | None = None,
        *,
        drop_incomplete: bool = False,
        progress: Progress | None = None,
    ) -> PriceHistory:
        """Every bar from ``start`` to ``end`` (default: now) in as many requests as needed;
        ascending, no gaps or duplicates. ``drop_incomplete`` drops a still-forming last bar."""
        return self._run(
            price_history_flow(
                epic, resolution, start, end, drop_incomplete=drop_incomplete, progress=progress
            )
        )


class AsyncPrices(AsyncResource):
    async def get(
        self,
        epic: str,
        resolution: Resolution | str | None = None,
        max: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> PriceHistory:
        """One ``GET /prices`` request: at most ``max`` (1..1000, server default 10) bars."""
        return await self._call(prices_call(epic, resolution, max, start, end))

    async def history(
        self,
        epic: str,
        resolution: Resolution | str,
        start: datetime,
        end: datetime | None = None,
        *,
        drop_incomplete: bool = False,
        progress: Progress | None = None,
    ) -> PriceHistory:
        """Every bar of a range, paged (see :meth:`Prices.history`)."""
        return await self._run(
            price_history_flow(
                epic, resolution, start, end, drop_incomplete=drop_incomplete, progress=progress
            )
        )
