"""``client.sentiment``: share of clients long and short per market."""

from __future__ import annotations

from collections.abc import Iterable

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk.models.sentiment import ClientSentiment, ClientSentiments
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


def sentiments_call(market_ids: Iterable[str] | str) -> ApiCall[ClientSentiments]:
    """``GET /clientsentiment?marketIds=`` after validation (at most 50 market ids)."""
    ids = check.epic_list(market_ids, "marketIds", maximum=check.MAX_LIST_EPICS)
    return ep.SENTIMENTS.call(params={"marketIds": ",".join(ids)})


def sentiment_call(market_id: str) -> ApiCall[ClientSentiment]:
    """``GET /clientsentiment/{marketId}``."""
    return ep.SENTIMENT.call({"marketId": check.epic(market_id, "marketId")})


class Sentiment(SyncResource):
    def list(self, market_ids: Iterable[str] | str) -> ClientSentiments:
        """Sentiment of several markets (market ids are epics)."""
        return self._call(sentiments_call(market_ids))

    def get(self, market_id: str) -> ClientSentiment:
        """Sentiment of one market."""
        return self._call(sentiment_call(market_id))


class AsyncSentiment(AsyncResource):
    async def list(self, market_ids: Iterable[str] | str) -> ClientSentiments:
        """Sentiment of several markets (market ids are epics)."""
        return await self._call(sentiments_call(market_ids))

    async def get(self, market_id: str) -> ClientSentiment:
        """Sentiment of one market."""
        return await self._call(sentiment_call(market_id))
