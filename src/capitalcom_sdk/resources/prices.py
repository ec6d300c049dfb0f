"""``client.prices``: one request of bars, or a whole range paged past the 1000-bar limit."""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

from capitalcom_sdk import _validation as check
from capitalcom_sdk._pagination import Progress, price_history_flow, prices_call
from capitalcom_sdk.errors import RequestValidationError
from capitalcom_sdk.models.enums import Resolution
from capitalcom_sdk.models.prices import PriceHistory
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


def _max_bars(max_bars: Any, deprecated_max: Any) -> int | None:
    """``max_bars`` checked, or the deprecated ``max=`` keyword's value (with a warning)."""
    if deprecated_max is None:
        return None if max_bars is None else check.max_bars(max_bars, "max_bars")
    if max_bars is not None:
        raise RequestValidationError("max", "pass max_bars only (max is its deprecated name)")
    warnings.warn(
        "prices.get(max=...) is deprecated, use max_bars=...", DeprecationWarning, stacklevel=3
    )
    return check.max_bars(deprecated_max, "max")


class Prices(SyncResource):
    def get(
        self,
        epic: str,
        resolution: Resolution | str | None = None,
        max_bars: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        max: int | None = None,
    ) -> PriceHistory:
        """One ``GET /prices`` request: at most ``max_bars`` (1..1000, server default 10) bars.

        ``max=`` is the deprecated spelling of ``max_bars`` (it shadowed the builtin).
        """
        return self._call(prices_call(epic, resolution, _max_bars(max_bars, max), start, end))

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
        max_bars: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        max: int | None = None,
    ) -> PriceHistory:
        """One ``GET /prices`` request: at most ``max_bars`` (1..1000, server default 10) bars.

        ``max=`` is the deprecated spelling of ``max_bars`` (it shadowed the builtin).
        """
        return await self._call(prices_call(epic, resolution, _max_bars(max_bars, max), start, end))

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
