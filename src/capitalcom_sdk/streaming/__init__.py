"""WebSocket streaming: quotes and OHLC bars, several connections, reconnects, sync bridge.

``async with client.stream() as stream`` (AsyncClient) or ``with client.stream() as stream``
(Client); see docs/streaming.md.
"""

from capitalcom_sdk.streaming._buffer import EventBuffer
from capitalcom_sdk.streaming._events import Event, OHLCBar, Quote, parse_frame
from capitalcom_sdk.streaming._options import StreamOptions, StreamStats
from capitalcom_sdk.streaming._stream import AsyncStream
from capitalcom_sdk.streaming._sync import Stream
from capitalcom_sdk.streaming._trades import (
    AsyncTradeFeed,
    TradeEvent,
    TradeFeed,
    TradeSnapshot,
    diff_snapshots,
)
from capitalcom_sdk.streaming.errors import (
    StreamClosedError,
    StreamError,
    StreamOverflowError,
    SubscriptionError,
)

__all__ = [
    "AsyncStream",
    "AsyncTradeFeed",
    "Event",
    "EventBuffer",
    "OHLCBar",
    "Quote",
    "Stream",
    "StreamClosedError",
    "StreamError",
    "StreamOptions",
    "StreamOverflowError",
    "StreamStats",
    "SubscriptionError",
    "TradeEvent",
    "TradeFeed",
    "TradeSnapshot",
    "diff_snapshots",
    "parse_frame",
]
