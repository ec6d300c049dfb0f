"""``client.history``: account activity and transactions over any range."""

from __future__ import annotations

from datetime import datetime

from capitalcom_sdk._pagination import Progress, activity_flow, transactions_flow
from capitalcom_sdk.models.enums import TransactionType
from capitalcom_sdk.models.history import ActivityHistory, TransactionHistory
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


class History(SyncResource):
    def activity(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        last_period: int | None = None,
        detailed: bool | None = None,
        deal_id: str | None = None,
        filter: str | None = None,
        progress: Progress | None = None,
    ) -> ActivityHistory:
        """Activities between aware ``start`` and ``end`` (ranges over one day are split into
        several requests) or of the last ``last_period`` seconds; newest first, no duplicates.

        Args:
            filter: FIQL, e.g. ``"source!=DEALER;type==POSITION;epic==GOLD,SILVER"``.
        """
        return self._run(
            activity_flow(
                start=start,
                end=end,
                last_period=last_period,
                detailed=detailed,
                deal_id=deal_id,
                filter=filter,
                progress=progress,
            )
        )

    def transactions(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        last_period: int | None = None,
        type: TransactionType | str | None = None,
        progress: Progress | None = None,
    ) -> TransactionHistory:
        """Transactions between aware ``start`` and ``end`` or of the last ``last_period``
        seconds (default: the server's last 10 minutes); newest first."""
        return self._run(
            transactions_flow(
                start=start, end=end, last_period=last_period, type=type, progress=progress
            )
        )


class AsyncHistory(AsyncResource):
    async def activity(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        last_period: int | None = None,
        detailed: bool | None = None,
        deal_id: str | None = None,
        filter: str | None = None,
        progress: Progress | None = None,
    ) -> ActivityHistory:
        """Activities of a range or of the last ``last_period`` seconds (see
        :meth:`History.activity`)."""
        return await self._run(
            activity_flow(
                start=start,
                end=end,
                last_period=last_period,
                detailed=detailed,
                deal_id=deal_id,
                filter=filter,
                progress=progress,
            )
        )

    async def transactions(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        last_period: int | None = None,
        type: TransactionType | str | None = None,
        progress: Progress | None = None,
    ) -> TransactionHistory:
        """Transactions of a range or of the last ``last_period`` seconds; newest first."""
        return await self._run(
            transactions_flow(
                start=start, end=end, last_period=last_period, type=type, progress=progress
            )
        )
