"""Bad requests sent as raw HTTP to the simulator: a 4xx with a clear errorCode, never a 5xx,
and nothing changed (positions, working orders, deposits, preferences, watchlists compared
before and after every request).

Where SPEC section 9 documents the code for a case, exactly that code is required; otherwise
the code must name the offending field the way the documented ones do (``error.invalid.<field>``,
``error.null.<field>``, ...). The table holds the same classes of mistakes as the SDK table
(tests/reliability/test_bad_input_sdk.py), which the SDK refuses before sending: here they
reach the server anyway (another client, a script, curl).

Not here: two stop (or two profit) fields at once. The SDK refuses them; the API does not
document what the server does (the simulator applies a precedence), so it is no "bad input" the
server must reject.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle, start_sim
from tests.reliability.conftest import config, engine_state, handle

START_MS = 1_795_003_200_000  # 2026-11-18 12:00 UTC, a Wednesday: markets open
LONG = "X" * 5000
# A body that is not a JSON object, sent raw.
RAW = object()


@dataclass(frozen=True)
class Bad:
    """One bad request and the answers that are acceptable."""

    name: str
    method: str
    path: str  # under /api/v1; {position}, {order}, {watchlist}, {account}, {other} filled in
    body: Any = None
    params: dict[str, str] | None = None
    status: int = 400
    codes: tuple[str, ...] = ()  # acceptable errorCodes (bare, before any ':')
    raw: bytes | None = None
    auth: bool = True


def _codes(*codes: str) -> tuple[str, ...]:
    return codes


POS = "/positions"
WO = "/workingorders"
CASES: list[Bad] = [
    # -- POST /positions --------------------------------------------------------------------
    Bad("open no body", "POST", POS, {}, codes=_codes("error.null.epic", "error.null.direction")),
    Bad(
        "open no epic",
        "POST",
        POS,
        {"direction": "BUY", "size": 1},
        codes=_codes("error.null.epic"),
    ),
    Bad(
        "open epic empty",
        "POST",
        POS,
        {"epic": "", "direction": "BUY", "size": 1},
        codes=_codes("error.null.epic", "error.invalid.epic"),
    ),
    Bad(
        "open epic number",
        "POST",
        POS,
        {"epic": 7, "direction": "BUY", "size": 1},
        codes=_codes("error.invalid.epic"),
    ),
    Bad(
        "open epic unknown",
        "POST",
        POS,
        {"epic": "NOPE", "direction": "BUY", "size": 1},
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "open epic overlong",
        "POST",
        POS,
        {"epic": LONG, "direction": "BUY", "size": 1},
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "open epic unicode",
        "POST",
        POS,
        {"epic": "ЗОЛОТО", "direction": "BUY", "size": 1},
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "open no direction",
        "POST",
        POS,
        {"epic": "GOLD", "size": 1},
        codes=_codes("error.null.direction"),
    ),
    Bad(
        "open direction HOLD",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "HOLD", "size": 1},
        codes=_codes("error.invalid.direction"),
    ),
    Bad(
        "open direction number",
        "POST",
        POS,
        {"epic": "GOLD", "direction": 1, "size": 1},
        codes=_codes("error.invalid.direction"),
    ),
    Bad(
        "open no size",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY"},
        codes=_codes("error.null.size"),
    ),
    Bad(
        "open size zero",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 0},
        codes=_codes("error.invalid.size.minvalue", "error.invalid.size"),
    ),
    Bad(
        "open size negative",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": -1},
        codes=_codes("error.invalid.size.minvalue", "error.invalid.size"),
    ),
    Bad(
        "open size below min",
        "POST",
        POS,
        {"epic": "EURUSD", "direction": "BUY", "size": 1},
        codes=_codes("error.invalid.size.minvalue"),
    ),
    Bad(
        "open size huge",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1e300},
        codes=_codes("error.invalid.size.maxvalue", "error.invalid.size"),
    ),
    Bad(
        "open size non-numeric string",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": "one"},
        codes=_codes("error.invalid.size"),
    ),
    Bad(
        "open size bool",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": True},
        codes=_codes("error.invalid.size"),
    ),
    Bad(
        "open size above max",
        "POST",
        POS,
        {"epic": "EURUSD", "direction": "BUY", "size": 10_000_001},
        codes=_codes("error.invalid.size.maxvalue"),
    ),
    Bad(
        "open size increment",
        "POST",
        POS,
        {"epic": "EURUSD", "direction": "BUY", "size": 100.5},
        codes=_codes("error.invalid.size.increment", "error.invalid.size"),
    ),
    Bad(
        "open size NaN",
        "POST",
        POS,
        raw=b'{"epic":"GOLD","direction":"BUY","size":NaN}',
        codes=_codes("error.malformed.request", "error.invalid.size"),
    ),
    Bad(
        "open size Infinity",
        "POST",
        POS,
        raw=b'{"epic":"GOLD","direction":"BUY","size":Infinity}',
        codes=_codes("error.malformed.request", "error.invalid.size"),
    ),
    Bad(
        "open size 1e999",
        "POST",
        POS,
        raw=b'{"epic":"GOLD","direction":"BUY","size":1e999}',
        codes=_codes(
            "error.malformed.request", "error.invalid.size", "error.invalid.size.maxvalue"
        ),
    ),
    Bad(
        "open stop far below",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "stopLevel": 1},
        codes=_codes("error.invalid.stoploss.minvalue"),
    ),
    Bad(
        "open stop above market",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "stopLevel": 100000},
        codes=_codes("error.invalid.stoploss.maxvalue"),
    ),
    Bad(
        "open profit far above",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "profitLevel": 100000},
        codes=_codes("error.invalid.takeprofit.maxvalue"),
    ),
    Bad(
        "open profit below market",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "profitLevel": 1},
        codes=_codes("error.invalid.takeprofit.minvalue"),
    ),
    Bad(
        "open SELL stop below",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "SELL", "size": 1, "stopLevel": 1},
        codes=_codes("error.invalid.stoploss.minvalue", "error.invalid.stoploss.maxvalue"),
    ),
    Bad(
        "open trailing no distance",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "trailingStop": True},
        codes=_codes("error.null.stopDistance"),
    ),
    Bad(
        "open trailing and guaranteed",
        "POST",
        POS,
        {
            "epic": "GOLD",
            "direction": "BUY",
            "size": 1,
            "trailingStop": True,
            "guaranteedStop": True,
            "stopDistance": 20,
        },
        codes=_codes("error.invalid.guaranteedStop.trailingStop"),
    ),
    Bad(
        "open guaranteed no stop",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "guaranteedStop": True},
        codes=_codes("error.null.stopLevel", "error.null.stopDistance"),
    ),
    Bad(
        "open guaranteed string",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "guaranteedStop": "yes"},
        codes=_codes("error.invalid.guaranteedStop"),
    ),
    Bad(
        "open stop NaN-ish string",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "stopLevel": "NaN"},
        codes=_codes("error.invalid.stopLevel"),
    ),
    Bad(
        "open stop negative",
        "POST",
        POS,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "stopDistance": -5},
        codes=_codes(
            "error.invalid.stopDistance",
            "error.invalid.stoploss.minvalue",
            "error.invalid.stoploss.maxvalue",
        ),
    ),
    Bad(
        "open body array",
        "POST",
        POS,
        raw=b'[{"epic":"GOLD"}]',
        codes=_codes("error.malformed.request"),
    ),
    Bad(
        "open body not json",
        "POST",
        POS,
        raw=b'{"epic": "GOLD",',
        codes=_codes("error.malformed.request"),
    ),
    Bad("open body string", "POST", POS, raw=b'"GOLD"', codes=_codes("error.malformed.request")),
    Bad(
        "open body deep",
        "POST",
        POS,
        raw=b"[" * 100_000 + b"]" * 100_000,
        codes=_codes("error.malformed.request"),
    ),
    Bad(
        "open body binary",
        "POST",
        POS,
        raw=bytes(range(256)),
        codes=_codes("error.malformed.request"),
    ),
    # -- POST /workingorders ----------------------------------------------------------------
    Bad(
        "order type MARKET",
        "POST",
        WO,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "level": 2000, "type": "MARKET"},
        codes=_codes("error.invalid.type"),
    ),
    Bad(
        "order no type",
        "POST",
        WO,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "level": 2000},
        codes=_codes("error.null.type"),
    ),
    Bad(
        "order no level",
        "POST",
        WO,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "type": "LIMIT"},
        codes=_codes("error.null.level"),
    ),
    Bad(
        "order level zero",
        "POST",
        WO,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "level": 0, "type": "LIMIT"},
        codes=_codes("error.invalid.level"),
    ),
    Bad(
        "order level negative",
        "POST",
        WO,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "level": -5, "type": "LIMIT"},
        codes=_codes("error.invalid.level"),
    ),
    Bad(
        "order level string",
        "POST",
        WO,
        {"epic": "GOLD", "direction": "BUY", "size": 1, "level": "two thousand", "type": "LIMIT"},
        codes=_codes("error.invalid.level"),
    ),
    Bad(
        "order gtd past",
        "POST",
        WO,
        {
            "epic": "GOLD",
            "direction": "BUY",
            "size": 1,
            "level": 2000,
            "type": "LIMIT",
            "goodTillDate": "2020-06-09T01:01:00",
        },
        codes=_codes("error.not-in-future.goodTillDate"),
    ),
    Bad(
        "order gtd Z",
        "POST",
        WO,
        {
            "epic": "GOLD",
            "direction": "BUY",
            "size": 1,
            "level": 2000,
            "type": "LIMIT",
            "goodTillDate": "2030-06-09T01:01:00Z",
        },
        codes=_codes("error.invalid.daterange"),
    ),
    Bad(
        "order gtd garbage",
        "POST",
        WO,
        {
            "epic": "GOLD",
            "direction": "BUY",
            "size": 1,
            "level": 2000,
            "type": "LIMIT",
            "goodTillDate": "tomorrow",
        },
        codes=_codes("error.invalid.goodTillDate", "error.invalid.daterange"),
    ),
    Bad(
        "order gtd epoch",
        "POST",
        WO,
        {
            "epic": "GOLD",
            "direction": "BUY",
            "size": 1,
            "level": 2000,
            "type": "LIMIT",
            "goodTillDate": 1900000000000,
        },
        codes=_codes("error.invalid.goodTillDate", "error.invalid.daterange"),
    ),
    Bad(
        "order size zero",
        "POST",
        WO,
        {"epic": "GOLD", "direction": "BUY", "size": 0, "level": 2000, "type": "LIMIT"},
        codes=_codes("error.invalid.size.minvalue", "error.invalid.size"),
    ),
    Bad(
        "order stop wrong side",
        "POST",
        WO,
        {
            "epic": "GOLD",
            "direction": "BUY",
            "size": 1,
            "level": 2000,
            "type": "LIMIT",
            "stopLevel": 2100,
        },
        codes=_codes("error.invalid.stoploss.maxvalue"),
    ),
    Bad(
        "order profit wrong side",
        "POST",
        WO,
        {
            "epic": "GOLD",
            "direction": "BUY",
            "size": 1,
            "level": 2000,
            "type": "LIMIT",
            "profitLevel": 1900,
        },
        codes=_codes("error.invalid.takeprofit.minvalue"),
    ),
    Bad(
        "order unknown epic",
        "POST",
        WO,
        {"epic": "NOPE", "direction": "BUY", "size": 1, "level": 2000, "type": "LIMIT"},
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    # -- amend / close / confirms -------------------------------------------------------------
    Bad(
        "amend stop above market",
        "PUT",
        POS + "/{position}",
        {"stopLevel": 100000},
        codes=_codes("error.invalid.stoploss.maxvalue"),
    ),
    Bad(
        "amend profit below market",
        "PUT",
        POS + "/{position}",
        {"profitLevel": 1},
        codes=_codes("error.invalid.takeprofit.minvalue"),
    ),
    Bad(
        "amend stop string",
        "PUT",
        POS + "/{position}",
        {"stopLevel": "abc"},
        codes=_codes("error.invalid.stopLevel"),
    ),
    Bad(
        "amend body array",
        "PUT",
        POS + "/{position}",
        raw=b"[]",
        codes=_codes("error.malformed.request"),
    ),
    Bad(
        "amend unknown deal",
        "PUT",
        POS + "/nope-deal",
        {"stopLevel": 2000},
        status=404,
        codes=_codes("error.not-found.dealId"),
    ),
    Bad(
        "close unknown deal",
        "DELETE",
        POS + "/nope-deal",
        status=404,
        codes=_codes("error.not-found.dealId"),
    ),
    Bad(
        "get unknown deal",
        "GET",
        POS + "/nope-deal",
        status=404,
        codes=_codes("error.not-found.dealId"),
    ),
    Bad(
        "order amend level negative",
        "PUT",
        WO + "/{order}",
        {"level": -5},
        codes=_codes("error.invalid.level"),
    ),
    Bad(
        "order amend gtd past",
        "PUT",
        WO + "/{order}",
        {"goodTillDate": "2020-06-09T01:01:00"},
        codes=_codes("error.not-in-future.goodTillDate"),
    ),
    Bad(
        "order amend unknown",
        "PUT",
        WO + "/nope-deal",
        {"level": 2000},
        status=404,
        codes=_codes("error.not-found.dealId"),
    ),
    Bad(
        "order delete unknown",
        "DELETE",
        WO + "/nope-deal",
        status=404,
        codes=_codes("error.not-found.dealId"),
    ),
    Bad(
        "confirm unknown",
        "GET",
        "/confirms/o_nope",
        status=404,
        codes=_codes("error.not-found.dealReference"),
    ),
    Bad(
        "confirm overlong",
        "GET",
        "/confirms/" + LONG,
        status=404,
        codes=_codes("error.not-found.dealReference"),
    ),
    # -- markets, prices, sentiment, navigation -----------------------------------------------
    Bad(
        "markets 51 epics",
        "GET",
        "/markets",
        params={"epics": ",".join(["GOLD"] * 51)},
        codes=_codes("error.invalid.epics.size", "error.size.epics", "error.invalid.epics"),
    ),
    Bad(
        "markets empty term",
        "GET",
        "/markets",
        params={"searchTerm": ""},
        codes=_codes("error.null.searchTerm"),
    ),
    Bad(
        "markets empty epics",
        "GET",
        "/markets",
        params={"epics": ""},
        codes=_codes("error.null.epic", "error.null.epics"),
    ),
    Bad(
        "market unknown",
        "GET",
        "/markets/INVALID",
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "market unicode",
        "GET",
        "/markets/%E2%82%AC%F0%9F%93%88",
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "prices resolution",
        "GET",
        "/prices/GOLD",
        params={"resolution": "MINUTE_3"},
        codes=_codes("error.invalid.resolution"),
    ),
    Bad(
        "prices max 1001",
        "GET",
        "/prices/GOLD",
        params={"max": "1001"},
        codes=_codes("error.invalid.max"),
    ),
    Bad(
        "prices max zero",
        "GET",
        "/prices/GOLD",
        params={"max": "0"},
        codes=_codes("error.invalid.max"),
    ),
    Bad(
        "prices max text",
        "GET",
        "/prices/GOLD",
        params={"max": "ten"},
        codes=_codes("error.invalid.max"),
    ),
    Bad(
        "prices from date only",
        "GET",
        "/prices/GOLD",
        params={"from": "2022-01-17"},
        codes=_codes("error.invalid.from"),
    ),
    Bad(
        "prices from Z",
        "GET",
        "/prices/GOLD",
        params={"from": "2026-11-18T10:00:00Z"},
        codes=_codes("error.invalid.from"),
    ),
    Bad(
        "prices from epoch",
        "GET",
        "/prices/GOLD",
        params={"from": "1795521600000"},
        codes=_codes("error.invalid.from"),
    ),
    Bad(
        "prices to garbage",
        "GET",
        "/prices/GOLD",
        params={"to": "soon"},
        codes=_codes("error.invalid.to"),
    ),
    Bad(
        "prices to future",
        "GET",
        "/prices/GOLD",
        params={
            "from": "2026-11-18T10:00:00",
            "to": "2027-11-18T10:00:00",
            "max": "1000",
            "resolution": "DAY",
        },
        codes=_codes("error.invalid.daterange"),
    ),
    Bad(
        "prices window too wide",
        "GET",
        "/prices/GOLD",
        params={"from": "2026-11-17T10:00:00", "to": "2026-11-18T10:00:00", "max": "10"},
        codes=_codes("error.invalid.max.daterange"),
    ),
    Bad(
        "prices unknown epic",
        "GET",
        "/prices/NOPE",
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "sentiment unknown",
        "GET",
        "/clientsentiment",
        params={"marketIds": "NOTFOUND"},
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "sentiment empty",
        "GET",
        "/clientsentiment",
        params={"marketIds": ""},
        codes=_codes("error.null.marketIds"),
    ),
    Bad(
        "sentiment one unknown",
        "GET",
        "/clientsentiment/NOTFOUND",
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "navigation limit zero",
        "GET",
        "/marketnavigation/hierarchy_v1.commodities",
        params={"limit": "0"},
        codes=_codes("error.invalid.limit"),
    ),
    Bad(
        "navigation limit 501",
        "GET",
        "/marketnavigation/hierarchy_v1.commodities",
        params={"limit": "501"},
        codes=_codes("error.invalid.limit"),
    ),
    Bad(
        "navigation limit text",
        "GET",
        "/marketnavigation/hierarchy_v1.commodities",
        params={"limit": "all"},
        codes=_codes("error.invalid.limit"),
    ),
    # -- history ----------------------------------------------------------------------------
    Bad(
        "activity lastPeriod big",
        "GET",
        "/history/activity",
        params={"lastPeriod": "172800"},
        codes=_codes("error.invalid.lastPeriod"),
    ),
    Bad(
        "activity lastPeriod negative",
        "GET",
        "/history/activity",
        params={"lastPeriod": "-5"},
        codes=_codes("error.invalid.lastPeriod"),
    ),
    Bad(
        "activity from date only",
        "GET",
        "/history/activity",
        params={"from": "2022-01-17"},
        codes=_codes("error.invalid.from"),
    ),
    Bad(
        "activity range two days",
        "GET",
        "/history/activity",
        params={"from": "2026-11-16T10:00:00", "to": "2026-11-18T10:00:00"},
        codes=_codes("error.invalid.daterange"),
    ),
    Bad(
        "activity filter garbage",
        "GET",
        "/history/activity",
        params={"filter": "epic~GOLD"},
        codes=_codes("error.invalid.filter"),
    ),
    Bad(
        "activity filter bad field",
        "GET",
        "/history/activity",
        params={"filter": "size==1"},
        codes=_codes("error.invalid.filter"),
    ),
    Bad(
        "transactions lastPeriod big",
        "GET",
        "/history/transactions",
        params={"lastPeriod": "100000"},
        codes=_codes("error.invalid.lastPeriod"),
    ),
    Bad(
        "transactions type",
        "GET",
        "/history/transactions",
        params={"type": "NOPE"},
        codes=_codes("error.invalid.type"),
    ),
    # -- watchlists -------------------------------------------------------------------------
    Bad(
        "watchlist name 26",
        "POST",
        "/watchlists",
        {"name": "x" * 26},
        codes=_codes("error.size.createwatchlistrequest.name"),
    ),
    Bad(
        "watchlist name empty",
        "POST",
        "/watchlists",
        {"name": ""},
        codes=_codes("error.size.createwatchlistrequest.name"),
    ),
    Bad(
        "watchlist name emoji 21",
        "POST",
        "/watchlists",
        {"name": "📈" * 21},
        codes=_codes("error.size.createwatchlistrequest.name"),
    ),
    Bad(
        "watchlist no name",
        "POST",
        "/watchlists",
        {"epics": ["GOLD"]},
        codes=_codes("error.null.name", "error.size.createwatchlistrequest.name"),
    ),
    Bad(
        "watchlist epics not list",
        "POST",
        "/watchlists",
        {"name": "ok", "epics": "GOLD"},
        codes=_codes("error.invalid.epics"),
    ),
    Bad(
        "watchlist get unknown",
        "GET",
        "/watchlists/00001",
        status=404,
        codes=_codes("error.invalid.watchlist"),
    ),
    Bad(
        "watchlist delete unknown",
        "DELETE",
        "/watchlists/123450",
        status=404,
        codes=_codes("error.not-found.watchlist"),
    ),
    Bad(
        "watchlist add unknown epic",
        "PUT",
        "/watchlists/{watchlist}",
        {"epic": "NOTFOUND"},
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    Bad(
        "watchlist add no epic",
        "PUT",
        "/watchlists/{watchlist}",
        {},
        codes=_codes("error.null.epic"),
    ),
    Bad(
        "watchlist remove absent",
        "DELETE",
        "/watchlists/{watchlist}/GOLD",
        status=404,
        codes=_codes("error.not-found.epic"),
    ),
    # -- accounts and session ---------------------------------------------------------------
    Bad(
        "leverage 600",
        "PUT",
        "/accounts/preferences",
        {"leverages": {"INDICES": 600}},
        codes=_codes("error.invalid.leverage.value"),
    ),
    Bad(
        "leverage group",
        "PUT",
        "/accounts/preferences",
        {"leverages": {"NOPE": 2}},
        codes=_codes("error.invalid.leverage.group"),
    ),
    Bad(
        "hedging string",
        "PUT",
        "/accounts/preferences",
        {"hedgingMode": "yes"},
        codes=_codes("error.invalid.hedgingMode"),
    ),
    Bad(
        "topup too big",
        "POST",
        "/accounts/topUp",
        {"amount": 400001},
        codes=_codes("error.invalid.amount"),
    ),
    Bad(
        "topup too small",
        "POST",
        "/accounts/topUp",
        {"amount": -400001},
        codes=_codes("error.invalid.amount"),
    ),
    Bad(
        "topup string",
        "POST",
        "/accounts/topUp",
        {"amount": "a hundred"},
        codes=_codes("error.invalid.amount"),
    ),
    Bad(
        "topup missing",
        "POST",
        "/accounts/topUp",
        {},
        codes=_codes("error.null.amount", "error.invalid.amount"),
    ),
    Bad(
        "topup over cap",
        "POST",
        "/accounts/topUp",
        {"amount": 400000},
        codes=_codes("error.invalid.balance.maxvalue"),
    ),
    Bad(
        "switch unknown",
        "PUT",
        "/session",
        {"accountId": "99999999999999999"},
        codes=_codes("error.invalid.accountId"),
    ),
    Bad(
        "switch same",
        "PUT",
        "/session",
        {"accountId": "{account}"},
        codes=_codes("error.not-different.accountId"),
    ),
    Bad(
        "switch missing",
        "PUT",
        "/session",
        {},
        codes=_codes("error.null.accountId", "error.invalid.accountId"),
    ),
    Bad("no tokens", "GET", POS, auth=False, codes=_codes("error.null.client.token")),
    Bad(
        "login no key",
        "POST",
        "/session",
        {"identifier": "x", "password": "y"},
        auth=False,
        codes=_codes("error.null.api.key"),
    ),
    Bad("unknown route", "GET", "/nothing-here", status=404, codes=_codes("error.not-found.route")),
]


def test_the_table_is_big_and_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(CASES) >= 100
    assert len(set(names)) == len(names)


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    server = start_sim(config(1, start_ms=START_MS, clock_speed=0.0))
    try:
        yield server
    finally:
        server.stop()


@dataclass
class World:
    sim: SimHandle
    http: httpx.Client
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world(server: SimServer) -> Iterator[World]:
    """A logged-in raw HTTP client and some state: a position, a working order, a watchlist."""
    sim = handle(server)
    with httpx.Client(base_url=sim.base_url + "/api/v1", timeout=10) as http:
        login = http.post(
            "/session",
            json={"identifier": sim.identifier, "password": sim.password},
            headers={"X-CAP-API-KEY": sim.api_key},
        )
        assert login.status_code == 200
        http.headers.update(
            {"CST": login.headers["CST"], "X-SECURITY-TOKEN": login.headers["X-SECURITY-TOKEN"]}
        )
        opened = http.post("/positions", json={"epic": "GOLD", "direction": "BUY", "size": 1})
        reference = opened.json()["dealReference"]
        confirm = http.get(f"/confirms/{reference}").json()
        position = confirm["affectedDeals"][0]["dealId"]
        order_ref = http.post(
            "/workingorders",
            json={"epic": "GOLD", "direction": "BUY", "size": 1, "level": 1000, "type": "LIMIT"},
        ).json()["dealReference"]
        order = http.get(f"/confirms/{order_ref}").json()["dealId"]
        watchlist = http.post("/watchlists", json={"name": "rel", "epics": ["SILVER"]}).json()
        ids = {
            "position": position,
            "order": order,
            "watchlist": watchlist["watchlistId"],
            "account": login.json()["currentAccountId"],
        }
        yield World(sim, http, ids)


def snapshot(world: World) -> dict[str, Any]:
    state = engine_state(world.sim)
    state["session_accounts"] = sorted(s.account_id for s in world.sim.state.sessions.active())
    return state


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_request_gets_a_named_4xx_and_changes_nothing(world: World, case: Bad) -> None:
    path = case.path.format(**world.ids)
    body = case.body
    if isinstance(body, dict):
        body = json.loads(json.dumps(body).replace("{account}", world.ids["account"]))
    content = (
        case.raw if case.raw is not None else (None if body is None else json.dumps(body).encode())
    )
    headers = {"Content-Type": "application/json"} if content is not None else {}
    if not case.auth:
        headers.update({"CST": "", "X-SECURITY-TOKEN": ""})
    before = snapshot(world)
    response = world.http.request(
        case.method, path, params=case.params, content=content, headers=headers
    )
    after = snapshot(world)
    assert response.status_code < 500, response.text
    document = response.json()
    raw_code = document.get("errorCode")
    assert isinstance(raw_code, str), document
    code = raw_code.split(":", 1)[0].strip()
    assert (response.status_code, code) in {(case.status, c) for c in case.codes}, (
        f"got {response.status_code} {raw_code!r}, expected {case.status} one of {case.codes}"
    )
    assert after == before
