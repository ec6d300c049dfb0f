"""Typed stream events and the frame parser (the hot path: one ``json.loads`` per frame)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from capitalcom_sdk.models.enums import Resolution

RESOLUTIONS: tuple[str, ...] = tuple(r.value for r in Resolution)  # MINUTE .. WEEK
BAR_TYPES: tuple[str, ...] = ("classic", "heikin-ashi")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_loads = json.loads


def utc_from_ms(ms: int) -> datetime:
    """An aware UTC datetime from epoch milliseconds (exact, no float rounding)."""
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True, slots=True)
class Quote:
    """A price update of one market (``destination: "quote"``).

    ``timestamp`` is the server's time (aware UTC), ``timestamp_ms`` the same in epoch ms.
    ``offer`` is the wire's ``ofr``.
    """

    epic: str
    bid: float
    offer: float
    bid_qty: float | None
    offer_qty: float | None
    timestamp_ms: int
    timestamp: datetime = field(repr=False)
    product: str = "CFD"


@dataclass(frozen=True, slots=True)
class OHLCBar:
    """A completed bar of one price side (``destination: "ohlc.event"``).

    ``start`` is the bar start (aware UTC), ``start_ms`` the same in epoch ms. ``replayed`` is
    True for a bar that closed while the connection was down and was fetched over REST after the
    reconnect (``StreamOptions.backfill_bars``), False for one the server pushed.
    """

    epic: str
    resolution: str
    bar_type: str
    price_type: str
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    start: datetime = field(repr=False)
    replayed: bool = False


Event = Quote | OHLCBar


@dataclass(frozen=True, slots=True)
class Reply:
    """The server's answer to a client frame (matched to the request by ``correlation_id``)."""

    destination: str | None
    correlation_id: str | None
    ok: bool
    payload: dict[str, Any]
    error_code: str | None


def error_code_of(frame: dict[str, Any]) -> str | None:
    """The errorCode of an ERROR frame, in either reported layout (payload or top level)."""
    payload = frame.get("payload")
    if isinstance(payload, dict):
        code = payload.get("errorCode")
        if isinstance(code, str):
            return code
    code = frame.get("errorCode")
    return code if isinstance(code, str) else None


def parse_frame(text: str | bytes) -> Quote | OHLCBar | Reply | None:
    """Parse one server frame; ``None`` for frames that are neither events nor replies.

    Raises ``ValueError`` (or ``KeyError``/``TypeError``) on malformed frames.
    """
    frame = _loads(text)
    destination = frame.get("destination")
    if destination == "quote":
        p = frame["payload"]
        ms = p["timestamp"]
        return Quote(
            p["epic"],
            p["bid"],
            p["ofr"],
            p.get("bidQty"),
            p.get("ofrQty"),
            ms,
            _EPOCH + timedelta(milliseconds=ms),
            p.get("product", "CFD"),
        )
    if destination == "ohlc.event":
        p = frame["payload"]
        ms = p["t"]
        return OHLCBar(
            p["epic"],
            p["resolution"],
            p.get("type", "classic"),
            p["priceType"],
            ms,
            p["o"],
            p["h"],
            p["l"],
            p["c"],
            _EPOCH + timedelta(milliseconds=ms),
        )
    correlation_id = frame.get("correlationId")
    ok = frame.get("status") != "ERROR"
    if correlation_id is None and ok:
        return None
    payload = frame.get("payload")
    return Reply(
        destination if isinstance(destination, str) else None,
        None if correlation_id is None else str(correlation_id),
        ok,
        payload if isinstance(payload, dict) else {},
        None if ok else error_code_of(frame),
    )
