"""Parsing server frames into typed events and replies (pure unit tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from capitalcom_sdk.streaming import OHLCBar, Quote, parse_frame
from capitalcom_sdk.streaming._events import Reply

QUOTE = {
    "status": "OK",
    "destination": "quote",
    "payload": {
        "epic": "OIL_CRUDE",
        "product": "CFD",
        "bid": 93.87,
        "bidQty": 4976.0,
        "ofr": 93.9,
        "ofrQty": 5000.0,
        "timestamp": 1660297190627,
    },
}
BAR = {
    "status": "OK",
    "destination": "ohlc.event",
    "payload": {
        "resolution": "MINUTE_5",
        "epic": "AAPL",
        "type": "classic",
        "priceType": "bid",
        "t": 1671714000000,
        "h": 134.95,
        "l": 134.85,
        "o": 134.86,
        "c": 134.88,
    },
}


def test_documented_quote_example_parses_with_exact_utc_time() -> None:
    quote = parse_frame(json.dumps(QUOTE))
    assert quote == Quote(
        "OIL_CRUDE",
        93.87,
        93.9,
        4976.0,
        5000.0,
        1660297190627,
        datetime(2022, 8, 12, 9, 39, 50, 627000, tzinfo=UTC),
    )
    assert isinstance(quote, Quote)
    assert quote.timestamp.tzinfo is UTC


def test_documented_ohlc_example_parses() -> None:
    bar = parse_frame(json.dumps(BAR).encode())
    assert isinstance(bar, OHLCBar)
    assert (bar.epic, bar.resolution, bar.bar_type, bar.price_type) == (
        "AAPL",
        "MINUTE_5",
        "classic",
        "bid",
    )
    assert (bar.open, bar.high, bar.low, bar.close) == (134.86, 134.95, 134.85, 134.88)
    assert bar.start == datetime(2022, 12, 22, 13, 0, tzinfo=UTC)


def test_replies_carry_their_correlation_id_as_string() -> None:
    reply = parse_frame(
        '{"status":"OK","destination":"marketData.subscribe","correlationId":1,'
        '"payload":{"subscriptions":{"OIL_CRUDE":"PROCESSED"}}}'
    )
    assert reply == Reply(
        "marketData.subscribe", "1", True, {"subscriptions": {"OIL_CRUDE": "PROCESSED"}}, None
    )


@pytest.mark.parametrize(
    "frame",
    [
        {
            "status": "ERROR",
            "destination": "marketData.subscribe",
            "correlationId": "1",
            "payload": {"errorCode": "error.invalid.session.token"},
        },
        {
            "status": "ERROR",
            "destination": "marketData.subscribe",
            "correlationId": "1",
            "errorCode": "error.invalid.session.token",
        },
    ],
)
def test_error_code_is_found_in_either_reported_layout(frame: dict[str, object]) -> None:
    reply = parse_frame(json.dumps(frame))
    assert isinstance(reply, Reply)
    assert not reply.ok
    assert reply.error_code == "error.invalid.session.token"


def test_unknown_ok_frames_without_correlation_are_ignored() -> None:
    assert parse_frame('{"status":"OK","destination":"heartbeat","payload":{}}') is None


@pytest.mark.parametrize("text", ["not json", '{"destination":"quote","payload":{}}'])
def test_malformed_frames_raise(text: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        parse_frame(text)
