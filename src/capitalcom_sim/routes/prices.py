"""GET /prices/{epic}: historical bars."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim.engine.instruments import Instrument
from capitalcom_sim.engine.prices import DURATION_MS, align
from capitalcom_sim.engine.pricetree import Node
from capitalcom_sim.engine.types import RESOLUTIONS, Bar
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import COMMON_HEADERS, EXPOSE_HEADERS, sim_state
from capitalcom_sim.routes._wire import begin, fmt_time, mount, offset_of, parse_time, query_int
from capitalcom_sim.sessions import Session

MAX_BARS = 1000
DEFAULT_BARS = 10
# how far back a "newest bars" request looks for open bars, in bar slots (weekends, nights)
_LOOKBACK_SLOTS = 8


def bar_json(bar: Bar, offset_hours: float) -> dict[str, Any]:
    """One price bar (SPEC 6.7): bar start, bid/ask OHLC, volume.

    The readable form of the wire shape; the route writes the same text with
    :class:`BarWriter` (tests hold the two to byte equality).
    """
    return {
        "snapshotTime": fmt_time(bar.start_ms, offset_hours, millis=False),
        "snapshotTimeUTC": fmt_time(bar.start_ms, millis=False),
        "openPrice": {"bid": bar.bid.open, "ask": bar.ask.open},
        "closePrice": {"bid": bar.bid.close, "ask": bar.ask.close},
        "highPrice": {"bid": bar.bid.high, "ask": bar.ask.high},
        "lowPrice": {"bid": bar.bid.low, "ask": bar.ask.low},
        "lastTradedVolume": bar.volume,
    }


_DAY_MS = 86_400_000
# Below this many price units (in absolute value) u / 10**d is a float whose ulp is finer than
# 10**-d, so round(u / 10**d, d), which finds the nearest d-place decimal (u * 10**-d) and reads
# it back, returns the same float: the writer may skip round(), as _to_bar cannot.
_EXACT = 2**52
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# One bar's JSON text, exactly what json.dumps(bar_json(...), separators=(",", ":")) writes:
# floats and ints by their repr (as json does), the two times as fmt_time(millis=False) does.
_BAR_TEMPLATE = (
    '{"snapshotTime":"%s%02d:%02d:%02d","snapshotTimeUTC":"%s%02d:%02d:%02d",'
    '"openPrice":{"bid":%r,"ask":%r},"closePrice":{"bid":%r,"ask":%r},'
    '"highPrice":{"bid":%r,"ask":%r},"lowPrice":{"bid":%r,"ask":%r},"lastTradedVolume":%r}'
)


class BarWriter:
    """Writes GET /prices answers straight from the engine's mid nodes, no per-bar objects.

    The text of a closed bar is kept (bounded: cleared whole at ``limit`` bars) under the
    engine's price version of the epic (:meth:`PriceEngine.version`), the spread and decimals
    and the session's time offset, so the same bar asked for again (overlapping windows, a
    backtest's bot at every step, a re-sync) costs a dict lookup. The bar in progress is never
    kept.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._texts: dict[tuple[object, ...], dict[int, str]] = {}
        self._count = 0
        self._days: dict[int, str] = {}

    def _day(self, day: int) -> str:
        text = self._days.get(day)
        if text is None:
            if len(self._days) >= 100_000:
                self._days.clear()
            text = self._days[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
        return text

    def body(
        self,
        inst: Instrument,
        resolution: str,
        nodes: Sequence[tuple[int, Node]],
        *,
        offset_hours: float,
        closed_before: int,
        version: int,
        spread_of: Callable[[int], int] | None = None,
    ) -> bytes:
        """The answer's body: ``{"prices": [...], "instrumentType": ...}``, UTF-8 JSON.

        ``closed_before``: a bar that ends at or before it is closed and may be kept.
        ``spread_of``: a bar's spread in units from its start (:meth:`PriceEngine.bar_spread`),
        asked only for the bars written (not for those kept); None: the instrument's for all. A
        closed bar's spread is a function of ``version`` and the instrument's spread (replayed
        bars' spreads change only with an override), both in the key.
        """
        shift = round(offset_hours * 3_600_000)
        spread = inst.spread_units
        half = spread // 2
        scale = inst.scale
        d = inst.decimals
        key = (inst.epic, resolution, version, spread, d, shift)
        texts = self._texts.get(key)
        if texts is None:
            texts = self._texts[key] = {}
        duration = DURATION_MS[resolution]
        day_text = self._day
        parts: list[str] = []
        for start, node in nodes:
            text = texts.get(start)
            if text is None:
                o, h, low, c, v = node
                if spread_of is not None:
                    spread = spread_of(start)
                    half = spread // 2
                local = start + shift
                ld = local // _DAY_MS
                ls = (local - ld * _DAY_MS) // 1000
                ud = start // _DAY_MS
                us = (start - ud * _DAY_MS) // 1000
                if low - half > -_EXACT and h - half + spread < _EXACT:
                    # u / scale is already the float round(u / scale, d) gives back: the
                    # division is correctly rounded, and below 2**52 units the decimal with d
                    # places nearest to it is u itself (see _EXACT), a third of the cost saved.
                    prices = (
                        (o - half) / scale,
                        (o - half + spread) / scale,
                        (c - half) / scale,
                        (c - half + spread) / scale,
                        (h - half) / scale,
                        (h - half + spread) / scale,
                        (low - half) / scale,
                        (low - half + spread) / scale,
                    )
                else:
                    prices = (
                        round((o - half) / scale, d),
                        round((o - half + spread) / scale, d),
                        round((c - half) / scale, d),
                        round((c - half + spread) / scale, d),
                        round((h - half) / scale, d),
                        round((h - half + spread) / scale, d),
                        round((low - half) / scale, d),
                        round((low - half + spread) / scale, d),
                    )
                text = _BAR_TEMPLATE % (
                    day_text(ld),
                    ls // 3600,
                    ls // 60 % 60,
                    ls % 60,
                    day_text(ud),
                    us // 3600,
                    us // 60 % 60,
                    us % 60,
                    *prices,
                    v,
                )
                if start + duration <= closed_before:
                    if self._count >= self.limit:
                        self._texts.clear()
                        self._count = 0
                        texts = self._texts[key] = {}
                    texts[start] = text
                    self._count += 1
            parts.append(text)
        kind = json.dumps(inst.type, ensure_ascii=False)
        return f'{{"prices":[{",".join(parts)}],"instrumentType":{kind}}}'.encode()


_WRITER = BarWriter()


def _answer(body: bytes, session: Session) -> Response:
    """What json_response(payload, session=session) answers, given the body."""
    headers = dict(COMMON_HEADERS)
    headers["CST"] = session.cst
    headers["X-SECURITY-TOKEN"] = session.security_token
    headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return Response(body, status_code=200, headers=headers, media_type="application/json")


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
        bars = engine.prices.bar_nodes(inst.epic, resolution, start, min(end, as_of), now_ms=as_of)
    elif start is not None:
        if start > now:
            raise ApiError(400, "error.invalid.daterange")
        bars = engine.prices.bar_nodes(
            inst.epic, resolution, start, as_of, now_ms=as_of, limit=limit
        )
    else:
        last = as_of if end is None else min(end, as_of)
        back = last - (limit * _LOOKBACK_SLOTS + 1) * duration - 14 * DURATION_MS["DAY"]
        bars = engine.prices.bar_nodes(
            inst.epic, resolution, back, last, now_ms=as_of, limit=-limit
        )
    if not bars:
        if config.prices_not_found == "bare":  # one client's observation: 404, no errorCode
            return Response(b"", status_code=404, headers=dict(COMMON_HEADERS))
        raise ApiError(404, "error.prices.not-found")
    # Bars hold no field with a number-format rule (prices are fractional, the volume an int
    # already), so the text is written directly (BarWriter), without the number-format walk.
    body = _WRITER.body(
        inst,
        resolution,
        bars,
        offset_hours=offset_of(session),
        closed_before=as_of,
        version=engine.prices.version(inst.epic),
        spread_of=(
            functools.partial(engine.prices.bar_spread, inst.epic, resolution, now_ms=as_of)
            if engine.prices.has_spreads(inst.epic)
            else None
        ),
    )
    return _answer(body, session)


routes = [*mount("/prices/{epic}", prices, ["GET"])]
