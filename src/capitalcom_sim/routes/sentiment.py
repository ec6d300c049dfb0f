"""GET /clientsentiment?marketIds= and GET /clientsentiment/{marketId}."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim.engine.types import Sentiment
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import json_response
from capitalcom_sim.routes._wire import begin, mount

MAX_MARKET_IDS = 100


def sentiment_json(sentiment: Sentiment) -> dict[str, Any]:
    return {
        "marketId": sentiment.market_id,
        "longPositionPercentage": sentiment.long_position_percentage,
        "shortPositionPercentage": sentiment.short_position_percentage,
    }


async def sentiments(request: Request) -> Response:
    session, engine = begin(request)
    raw = request.query_params.get("marketIds", "")
    market_ids = [m.strip() for m in raw.split(",") if m.strip()]
    if not market_ids:
        raise ApiError(400, "error.null.marketIds")
    if len(market_ids) > MAX_MARKET_IDS:
        raise ApiError(400, "error.invalid.marketIds.size", MAX_MARKET_IDS)
    items = [sentiment_json(engine.sentiment(m)) for m in market_ids]
    return json_response({"clientSentiments": items}, session=session)


async def sentiment(request: Request) -> Response:
    session, engine = begin(request)
    item = engine.sentiment(request.path_params["market_id"])
    return json_response(sentiment_json(item), session=session)


routes = [
    *mount("/clientsentiment", sentiments, ["GET"]),
    *mount("/clientsentiment/{market_id}", sentiment, ["GET"]),
]
