"""GET /prices/{epic}: historical bars."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim.engine.prices import DURATION_MS, align
from capitalcom_sim.engine.types import RESOLUTIONS, Bar
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import COMMON_HEADERS, json_response, sim_state
from capitalcom_sim.routes._wire import begin, fmt_time, mount, offset_of, parse_time, query_int

MAX_BARS = 1000
DEFAULT_BARS = 10
# how far back a "newest bars" request looks for open bars, in bar slots (weekends, nights)
_LOOKBACK_SLOTS = 8


def bar_json(bar: Bar, offset_hours: float) -> dict[str, Any]:
    """One price bar (SPEC 6.7): bar start, bid/ask OHLC, volume."""
    return {
        "snapshotTime": fmt_time(bar.start_ms, offset_hours, millis=False),
        "snapshotTimeUTC": fmt_time(bar.start_ms, millis=False),
        "openPrice": {"bid": bar.bid.open, "ask": bar.ask.open},
        "closePrice": {"bid": bar.bid.close, "ask": bar.ask.close},
        "highPrice": {"bid": bar.bid.high, "ask": bar.ask.high},
        "lowPrice": {"bid": bar.bid.low, "ask": bar.ask.low},
        "lastTradedVolume": bar.volume,
    }


async def prices(request: Request) -> Response:
    session, engine = begin(request)
    params = request.query_params
    resolution = params.get("resolution", "MINUTE")
    if resolution not in RESOLUTIONS:
        raise ApiError(400, "error.invalid.resolution")
    limit = query_int(request, "max", DEFAULT_BARS, 1, MAX_BARS, "error.invalid.max")
    raw_from, raw_to = params.get("from"), params.get("to")
    start = parse_time(raw_from, "error.invalid.from") if raw_from is not None else None
    end = parse_time(raw_to, "error.invalid.to") if raw_to is not None else None
    inst = engine.instrument(request.path_params["epic"])
    config = sim_state(request).config
    now = engine.clock.now_ms()
    # Bars as of closed_bar_lag_ms ago (SimConfig.closed_bar_lag_ms): a bar that closed less
    # than that ago still looks unfinished and the next one is not there yet. Requests are
    # still validated against the present.
    as_of = now - config.closed_bar_lag_ms
    duration = DURATION_MS[resolution]
    if end is not None and end > now:
        raise ApiError(400, "error.invalid.daterange")
    if start is not None and end is not None:
        if start > end:
            raise ApiError(400, "error.invalid.daterange")
        first = align(resolution, start)
        first = first if first >= start else first + duration
        slots = (align(resolution, end) - first) // duration + 1
        if slots > limit:
            raise ApiError(400, "error.invalid.max.daterange")
        bars = engine.prices.bars(inst.epic, resolution, start, min(end, as_of), now_ms=as_of)
    elif start is not None:
        if start > now:
            raise ApiError(400, "error.invalid.daterange")
        bars = engine.prices.bars(inst.epic, resolution, start, as_of, now_ms=as_of, limit=limit)
    else:
        last = as_of if end is None else min(end, as_of)
        back = last - (limit * _LOOKBACK_SLOTS + 1) * duration - 14 * DURATION_MS["DAY"]
        bars = engine.prices.bars(inst.epic, resolution, back, last, now_ms=as_of, limit=-limit)
    if not bars:
        if config.prices_not_found == "bare":  # one client's observation: 404, no errorCode
            return Response(b"", status_code=404, headers=dict(COMMON_HEADERS))
        raise ApiError(404, "error.prices.not-found")
    offset = offset_of(session)
    payload = {"prices": [bar_json(b, offset) for b in bars], "instrumentType": inst.type}
    # Bars hold no field with a number-format rule (prices are fractional, the volume an int
    # already): skip the walk, a third of the cost of a 1000-bar answer.
    return json_response(payload, session=session, wire_numbers=False)


routes = [*mount("/prices/{epic}", prices, ["GET"])]
