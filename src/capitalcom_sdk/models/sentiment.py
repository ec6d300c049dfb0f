"""Models of GET /clientsentiment."""

from __future__ import annotations

from pydantic import Field

from capitalcom_sdk.models._base import ListModel, WireModel


class ClientSentiment(WireModel):
    """Share of clients long and short in one market (percentages adding up to 100)."""

    market_id: str
    long_position_percentage: float
    short_position_percentage: float


class ClientSentiments(ListModel[ClientSentiment]):
    """``GET /clientsentiment?marketIds=``; iterates over the sentiments."""

    items_field = "client_sentiments"

    client_sentiments: list[ClientSentiment] = Field(default_factory=list)
