"""Bad input to the SDK: a clear error naming the field, raised before anything is sent.

Both clients are logged in to a real simulator first; the simulator's own request counter is the
witness that nothing reached the server. (tests/sdk/surface/test_validation.py checks the
validators offline; this table is wider: it adds huge, unicode, overlong and wrong-side values
and takes the server's word for "nothing was sent".)
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from capitalcom_sdk import AsyncClient, Client, RequestValidationError
from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle, start_sim
from tests.reliability.conftest import config, handle, total_requests

FUTURE = datetime.now(UTC) + timedelta(days=2)
PAST = datetime.now(UTC) - timedelta(days=2)
NAIVE = datetime(2030, 1, 1, 12, 0, 0)
NAIVE_PAST = datetime(2020, 1, 1, 12, 0, 0)
PLUS3 = timezone(timedelta(hours=3))
LONG = "X" * 10_000


@dataclass(frozen=True)
class Case:
    """One bad call: ``call(client)`` must raise RequestValidationError naming ``field``."""

    name: str
    call: Callable[[Any], Any]
    field: str


def _open(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    return lambda c: c.positions.open(*args, **kwargs)


def _order(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    return lambda c: c.orders.create(*args, **kwargs)


CASES: list[Case] = [
    # -- sizes: negative, zero, NaN, infinite, wrong type, missing --------------------------
    Case("open size zero", _open("GOLD", "BUY", 0), "size"),
    Case("open size negative", _open("GOLD", "BUY", -1), "size"),
    Case("open size negative zero", _open("GOLD", "BUY", -0.0), "size"),
    Case("open size tiny negative", _open("GOLD", "BUY", -1e-12), "size"),
    Case("open size NaN", _open("GOLD", "BUY", math.nan), "size"),
    Case("open size +inf", _open("GOLD", "BUY", math.inf), "size"),
    Case("open size -inf", _open("GOLD", "BUY", -math.inf), "size"),
    Case("open size string", _open("GOLD", "BUY", "1"), "size"),
    Case("open size None", _open("GOLD", "BUY", None), "size"),
    Case("open size bool", _open("GOLD", "BUY", True), "size"),
    Case("open size list", _open("GOLD", "BUY", [1]), "size"),
    Case("open size huge 1e300", _open("GOLD", "BUY", 1e300), "size"),
    Case("open size huge 1e20", _open("GOLD", "BUY", 10**20), "size"),
    Case("order size zero", _order("GOLD", "BUY", 0, 10, "LIMIT"), "size"),
    Case("order size NaN", _order("GOLD", "BUY", math.nan, 10, "LIMIT"), "size"),
    Case("order size -inf", _order("GOLD", "BUY", -math.inf, 10, "LIMIT"), "size"),
    Case("order size None", _order("GOLD", "BUY", None, 10, "LIMIT"), "size"),
    Case("order size huge", _order("GOLD", "BUY", 1e300, 10, "LIMIT"), "size"),
    # -- directions -----------------------------------------------------------------------
    Case("open direction HOLD", _open("GOLD", "HOLD", 1), "direction"),
    Case("open direction empty", _open("GOLD", "", 1), "direction"),
    Case("open direction None", _open("GOLD", None, 1), "direction"),
    Case("open direction LONG", _open("GOLD", "LONG", 1), "direction"),
    Case("open direction number", _open("GOLD", 1, 1), "direction"),
    Case("open direction both", _open("GOLD", "BUY,SELL", 1), "direction"),
    Case("open direction unicode", _open("GOLD", "ВUY", 1), "direction"),
    Case("order direction short", _order("GOLD", "SHORT", 1, 10, "LIMIT"), "direction"),
    Case("order direction None", _order("GOLD", None, 1, 10, "LIMIT"), "direction"),
    # -- epics ----------------------------------------------------------------------------
    Case("open epic empty", _open("", "BUY", 1), "epic"),
    Case("open epic blank", _open("   ", "BUY", 1), "epic"),
    Case("open epic None", _open(None, "BUY", 1), "epic"),
    Case("open epic two", _open("GOLD,SILVER", "BUY", 1), "epic"),
    Case("open epic overlong", _open(LONG, "BUY", 1), "epic"),
    Case("open epic control char", _open("GO\nLD", "BUY", 1), "epic"),
    Case("open epic NUL", _open("GO\x00LD", "BUY", 1), "epic"),
    Case("open epic number", _open(42, "BUY", 1), "epic"),
    Case("order epic empty", _order("", "BUY", 1, 10, "LIMIT"), "epic"),
    Case("order epic overlong", _order(LONG, "BUY", 1, 10, "LIMIT"), "epic"),
    Case("market epic empty", lambda c: c.markets.get(""), "epic"),
    Case("market epic None", lambda c: c.markets.get(None), "epic"),
    Case("market epic two", lambda c: c.markets.get("GOLD,SILVER"), "epic"),
    Case("market epic overlong", lambda c: c.markets.get(LONG), "epic"),
    Case("prices epic empty", lambda c: c.prices.get(""), "epic"),
    Case("prices epic None", lambda c: c.prices.get(None), "epic"),
    # -- stops and profits: exclusive fields, wrong values, wrong side -------------------
    Case(
        "stop level+distance",
        _open("GOLD", "BUY", 1, stop_level=1, stop_distance=2),
        "stopDistance",
    ),
    Case("stop level+amount", _open("GOLD", "BUY", 1, stop_level=1, stop_amount=2), "stopAmount"),
    Case(
        "stop distance+amount",
        _open("GOLD", "BUY", 1, stop_distance=1, stop_amount=2),
        "stopAmount",
    ),
    Case(
        "profit level+distance",
        _open("GOLD", "BUY", 1, profit_level=1, profit_distance=2),
        "profitDistance",
    ),
    Case(
        "profit distance+amount",
        _open("GOLD", "BUY", 1, profit_distance=1, profit_amount=2),
        "profitAmount",
    ),
    Case("trailing without distance", _open("GOLD", "BUY", 1, trailing_stop=True), "trailingStop"),
    Case(
        "trailing with level only",
        _open("GOLD", "BUY", 1, trailing_stop=True, stop_level=5),
        "trailingStop",
    ),
    Case(
        "trailing and guaranteed",
        _open("GOLD", "BUY", 1, trailing_stop=True, stop_distance=5, guaranteed_stop=True),
        "guaranteedStop",
    ),
    Case(
        "guaranteed without stop", _open("GOLD", "BUY", 1, guaranteed_stop=True), "guaranteedStop"
    ),
    Case("guaranteed not bool", _open("GOLD", "BUY", 1, guaranteed_stop="yes"), "guaranteedStop"),
    Case("trailing not bool", _open("GOLD", "BUY", 1, trailing_stop=1), "trailingStop"),
    Case("stop level NaN", _open("GOLD", "BUY", 1, stop_level=math.nan), "stopLevel"),
    Case("stop level zero", _open("GOLD", "BUY", 1, stop_level=0), "stopLevel"),
    Case("stop level negative", _open("GOLD", "BUY", 1, stop_level=-5), "stopLevel"),
    Case("stop level inf", _open("GOLD", "BUY", 1, stop_level=math.inf), "stopLevel"),
    Case("stop distance negative", _open("GOLD", "BUY", 1, stop_distance=-3), "stopDistance"),
    Case("stop distance string", _open("GOLD", "BUY", 1, stop_distance="3"), "stopDistance"),
    Case("stop amount inf", _open("GOLD", "BUY", 1, stop_amount=math.inf), "stopAmount"),
    Case("profit level NaN", _open("GOLD", "BUY", 1, profit_level=math.nan), "profitLevel"),
    Case("profit distance zero", _open("GOLD", "BUY", 1, profit_distance=0), "profitDistance"),
    Case("profit amount negative", _open("GOLD", "BUY", 1, profit_amount=-1), "profitAmount"),
    Case(
        "BUY order stop above level",
        _order("GOLD", "BUY", 1, 100, "LIMIT", stop_level=110),
        "stopLevel",
    ),
    Case(
        "BUY order profit below level",
        _order("GOLD", "BUY", 1, 100, "LIMIT", profit_level=90),
        "profitLevel",
    ),
    Case(
        "SELL order stop below level",
        _order("GOLD", "SELL", 1, 100, "STOP", stop_level=90),
        "stopLevel",
    ),
    Case(
        "SELL order profit above level",
        _order("GOLD", "SELL", 1, 100, "STOP", profit_level=110),
        "profitLevel",
    ),
    Case(
        "order stop equals level",
        _order("GOLD", "BUY", 1, 100, "LIMIT", stop_level=100),
        "stopLevel",
    ),
    Case(
        "order exclusive stops",
        _order("GOLD", "BUY", 1, 100, "LIMIT", stop_level=90, stop_distance=5),
        "stopDistance",
    ),
    # -- working order level / type / goodTillDate ------------------------------------------
    Case("order level zero", _order("GOLD", "BUY", 1, 0, "LIMIT"), "level"),
    Case("order level negative", _order("GOLD", "BUY", 1, -10, "LIMIT"), "level"),
    Case("order level NaN", _order("GOLD", "BUY", 1, math.nan, "LIMIT"), "level"),
    Case("order level inf", _order("GOLD", "BUY", 1, math.inf, "LIMIT"), "level"),
    Case("order level None", _order("GOLD", "BUY", 1, None, "LIMIT"), "level"),
    Case("order type MARKET", _order("GOLD", "BUY", 1, 10, "MARKET"), "type"),
    Case("order type empty", _order("GOLD", "BUY", 1, 10, ""), "type"),
    Case("order type None", _order("GOLD", "BUY", 1, 10, None), "type"),
    Case("order type unicode", _order("GOLD", "BUY", 1, 10, "LIMIТ"), "type"),
    Case("gtd naive", _order("GOLD", "BUY", 1, 10, "STOP", good_till_date=NAIVE), "goodTillDate"),
    Case("gtd past", _order("GOLD", "BUY", 1, 10, "STOP", good_till_date=PAST), "goodTillDate"),
    Case(
        "gtd past other zone",
        _order("GOLD", "BUY", 1, 10, "STOP", good_till_date=PAST.astimezone(PLUS3)),
        "goodTillDate",
    ),
    Case(
        "gtd string",
        _order("GOLD", "BUY", 1, 10, "STOP", good_till_date="2030-01-01T00:00:00"),
        "goodTillDate",
    ),
    Case(
        "gtd epoch",
        _order("GOLD", "BUY", 1, 10, "STOP", good_till_date=1_900_000_000),
        "goodTillDate",
    ),
    # -- amend / close / get by id ----------------------------------------------------------
    Case("position get empty", lambda c: c.positions.get(""), "dealId"),
    Case("position get None", lambda c: c.positions.get(None), "dealId"),
    Case("position update empty id", lambda c: c.positions.update("", stop_level=5), "dealId"),
    Case("position update nothing", lambda c: c.positions.update("deal-1"), "body"),
    Case(
        "position update exclusive",
        lambda c: c.positions.update("deal-1", profit_level=5, profit_amount=1),
        "profitAmount",
    ),
    Case(
        "position update NaN",
        lambda c: c.positions.update("deal-1", stop_level=math.nan),
        "stopLevel",
    ),
    Case("position close blank", lambda c: c.positions.close("  "), "dealId"),
    Case("position close None", lambda c: c.positions.close(None), "dealId"),
    Case("order update nothing", lambda c: c.orders.update("deal-1"), "body"),
    Case("order update level negative", lambda c: c.orders.update("deal-1", level=-5), "level"),
    Case("order update level NaN", lambda c: c.orders.update("deal-1", level=math.nan), "level"),
    Case(
        "order update gtd naive",
        lambda c: c.orders.update("deal-1", good_till_date=NAIVE),
        "goodTillDate",
    ),
    Case(
        "order update gtd past",
        lambda c: c.orders.update("deal-1", good_till_date=PAST),
        "goodTillDate",
    ),
    Case("order update empty id", lambda c: c.orders.update("", level=5), "dealId"),
    Case("order delete empty", lambda c: c.orders.delete(""), "dealId"),
    Case("order delete None", lambda c: c.orders.delete(None), "dealId"),
    Case("confirm empty", lambda c: c.confirms.get(""), "dealReference"),
    Case("confirm None", lambda c: c.confirms.get(None), "dealReference"),
    # -- markets: too many epics, empty lists, exclusive parameters -------------------------
    Case(
        "search 51 epics", lambda c: c.markets.search(epics=[f"E{i}" for i in range(51)]), "epics"
    ),
    Case("search 5000 epics", lambda c: c.markets.search(epics=["GOLD"] * 5000), "epics"),
    Case("search no epics", lambda c: c.markets.search(epics=[]), "epics"),
    Case("search empty epic", lambda c: c.markets.search(epics=["GOLD", ""]), "epics"),
    Case("search None epic", lambda c: c.markets.search(epics=["GOLD", None]), "epics"),
    Case("search comma epic", lambda c: c.markets.search(epics=["GOLD,SILVER"]), "epics"),
    Case("search epics not list", lambda c: c.markets.search(epics=42), "epics"),
    Case("search empty term", lambda c: c.markets.search(search_term=""), "searchTerm"),
    Case("search blank term", lambda c: c.markets.search(search_term="   "), "searchTerm"),
    Case(
        "search term and epics",
        lambda c: c.markets.search(search_term="g", epics=["GOLD"]),
        "epics",
    ),
    Case("navigation limit zero", lambda c: c.markets.navigation("node", limit=0), "limit"),
    Case("navigation limit negative", lambda c: c.markets.navigation("node", limit=-1), "limit"),
    Case("navigation limit 501", lambda c: c.markets.navigation("node", limit=501), "limit"),
    Case("navigation limit float", lambda c: c.markets.navigation("node", limit=2.5), "limit"),
    Case("navigation limit no node", lambda c: c.markets.navigation(limit=5), "limit"),
    Case("navigation empty node", lambda c: c.markets.navigation(""), "nodeId"),
    # -- prices ---------------------------------------------------------------------------
    Case("prices resolution MINUTE_3", lambda c: c.prices.get("GOLD", "MINUTE_3"), "resolution"),
    Case("prices resolution empty", lambda c: c.prices.get("GOLD", ""), "resolution"),
    Case("prices resolution unicode", lambda c: c.prices.get("GOLD", "МINUTE"), "resolution"),
    Case("prices max zero", lambda c: c.prices.get("GOLD", max=0), "max"),
    Case("prices max negative", lambda c: c.prices.get("GOLD", max=-5), "max"),
    Case("prices max 1001", lambda c: c.prices.get("GOLD", max=1001), "max"),
    Case("prices max float", lambda c: c.prices.get("GOLD", max=10.5), "max"),
    Case("prices max NaN", lambda c: c.prices.get("GOLD", max=math.nan), "max"),
    Case("prices start naive", lambda c: c.prices.get("GOLD", start=NAIVE_PAST), "from"),
    Case("prices end naive", lambda c: c.prices.get("GOLD", end=NAIVE_PAST), "to"),
    Case("prices start after end", lambda c: c.prices.get("GOLD", start=FUTURE, end=PAST), "to"),
    Case(
        "prices start string", lambda c: c.prices.get("GOLD", start="2024-01-01T00:00:00"), "from"
    ),
    Case("history start naive", lambda c: c.prices.history("GOLD", "MINUTE", NAIVE_PAST), "from"),
    Case(
        "history bad resolution", lambda c: c.prices.history("GOLD", "SECOND", PAST), "resolution"
    ),
    Case(
        "history end before start", lambda c: c.prices.history("GOLD", "MINUTE", FUTURE, PAST), "to"
    ),
    Case("history start None", lambda c: c.prices.history("GOLD", "MINUTE", None), "from"),
    # -- activity / transactions ----------------------------------------------------------
    Case("activity lastPeriod zero", lambda c: c.history.activity(last_period=0), "lastPeriod"),
    Case(
        "activity lastPeriod negative", lambda c: c.history.activity(last_period=-60), "lastPeriod"
    ),
    Case(
        "activity lastPeriod 86401", lambda c: c.history.activity(last_period=86_401), "lastPeriod"
    ),
    Case("activity lastPeriod float", lambda c: c.history.activity(last_period=60.5), "lastPeriod"),
    Case("activity start naive", lambda c: c.history.activity(start=NAIVE_PAST), "from"),
    Case("activity end naive", lambda c: c.history.activity(end=NAIVE_PAST), "to"),
    Case("activity start after end", lambda c: c.history.activity(start=FUTURE, end=PAST), "to"),
    Case(
        "activity both ranges",
        lambda c: c.history.activity(last_period=60, start=PAST),
        "lastPeriod",
    ),
    Case("activity empty deal", lambda c: c.history.activity(deal_id=""), "dealId"),
    Case(
        "transactions lastPeriod big",
        lambda c: c.history.transactions(last_period=100_000),
        "lastPeriod",
    ),
    Case(
        "transactions lastPeriod zero",
        lambda c: c.history.transactions(last_period=0),
        "lastPeriod",
    ),
    Case("transactions end naive", lambda c: c.history.transactions(end=NAIVE_PAST), "to"),
    Case(
        "transactions start after end",
        lambda c: c.history.transactions(start=FUTURE, end=PAST),
        "to",
    ),
    # -- accounts -------------------------------------------------------------------------
    Case("top up zero", lambda c: c.accounts.top_up(0), "amount"),
    Case("top up too big", lambda c: c.accounts.top_up(400_001), "amount"),
    Case("top up too small", lambda c: c.accounts.top_up(-400_001), "amount"),
    Case("top up NaN", lambda c: c.accounts.top_up(math.nan), "amount"),
    Case("top up inf", lambda c: c.accounts.top_up(math.inf), "amount"),
    Case("top up string", lambda c: c.accounts.top_up("100"), "amount"),
    Case("top up None", lambda c: c.accounts.top_up(None), "amount"),
    Case("top up bool", lambda c: c.accounts.top_up(True), "amount"),
    Case("preferences nothing", lambda c: c.accounts.update_preferences(), "body"),
    Case("preferences empty", lambda c: c.accounts.update_preferences(leverages={}), "leverages"),
    Case(
        "preferences zero",
        lambda c: c.accounts.update_preferences(leverages={"SHARES": 0}),
        "leverages.SHARES",
    ),
    Case(
        "preferences negative",
        lambda c: c.accounts.update_preferences(leverages={"SHARES": -2}),
        "leverages.SHARES",
    ),
    Case(
        "preferences float",
        lambda c: c.accounts.update_preferences(leverages={"SHARES": 2.5}),
        "leverages.SHARES",
    ),
    Case(
        "preferences bool",
        lambda c: c.accounts.update_preferences(leverages={"SHARES": True}),
        "leverages.SHARES",
    ),
    Case(
        "preferences hedging string",
        lambda c: c.accounts.update_preferences(hedging_mode="yes"),
        "hedgingMode",
    ),
    # -- session, sentiment, watchlists -----------------------------------------------------
    Case("switch empty", lambda c: c.session.switch_account(""), "accountId"),
    Case("switch None", lambda c: c.session.switch_account(None), "accountId"),
    Case("sentiment none", lambda c: c.sentiment.list([]), "marketIds"),
    Case("sentiment empty id", lambda c: c.sentiment.list(["GOLD", ""]), "marketIds"),
    Case("sentiment get empty", lambda c: c.sentiment.get(""), "marketId"),
    Case("watchlist name empty", lambda c: c.watchlists.create(""), "name"),
    Case("watchlist name 21", lambda c: c.watchlists.create("x" * 21), "name"),
    Case("watchlist name overlong", lambda c: c.watchlists.create(LONG), "name"),
    Case("watchlist name 21 emoji", lambda c: c.watchlists.create("📈" * 21), "name"),
    Case("watchlist name None", lambda c: c.watchlists.create(None), "name"),
    Case("watchlist empty epic", lambda c: c.watchlists.create("ok", ["GOLD", ""]), "epics"),
    Case("watchlist get empty", lambda c: c.watchlists.get(""), "watchlistId"),
    Case("watchlist add empty epic", lambda c: c.watchlists.add_market("1", ""), "epic"),
    Case("watchlist add empty id", lambda c: c.watchlists.add_market("", "GOLD"), "watchlistId"),
    Case(
        "watchlist remove empty id", lambda c: c.watchlists.remove_market("", "GOLD"), "watchlistId"
    ),
    Case("watchlist remove empty epic", lambda c: c.watchlists.remove_market("1", ""), "epic"),
    Case("watchlist delete empty", lambda c: c.watchlists.delete(""), "watchlistId"),
    # -- numbers beyond any float (10**400 raised OverflowError) or any price -------------
    Case("open size 10**400", _open("GOLD", "BUY", 10**400), "size"),
    Case("open size -10**400", _open("GOLD", "BUY", -(10**400)), "size"),
    Case("open stop level 10**400", _open("GOLD", "BUY", 1, stop_level=10**400), "stopLevel"),
    Case(
        "open stop distance 10**400",
        _open("GOLD", "BUY", 1, stop_distance=10**400),
        "stopDistance",
    ),
    Case(
        "open profit amount 10**400",
        _open("GOLD", "BUY", 1, profit_amount=10**400),
        "profitAmount",
    ),
    Case("open profit level 1e300", _open("GOLD", "BUY", 1, profit_level=1e300), "profitLevel"),
    Case(
        "open stop distance 10**30", _open("GOLD", "BUY", 1, stop_distance=10**30), "stopDistance"
    ),
    Case("order level 10**400", _order("GOLD", "BUY", 1, 10**400, "LIMIT"), "level"),
    Case("order level 1e300", _order("GOLD", "BUY", 1, 1e300, "STOP"), "level"),
    Case("order size 10**400", _order("GOLD", "BUY", 10**400, 10, "LIMIT"), "size"),
    Case(
        "order update level 10**400",
        lambda c: c.orders.update("deal-1", level=10**400),
        "level",
    ),
    Case(
        "position update stop 10**400",
        lambda c: c.positions.update("deal-1", stop_level=10**400),
        "stopLevel",
    ),
    Case("top up 10**400", lambda c: c.accounts.top_up(10**400), "amount"),
    Case("top up -10**400", lambda c: c.accounts.top_up(-(10**400)), "amount"),
    Case("top up -inf", lambda c: c.accounts.top_up(-math.inf), "amount"),
    Case("prices max 10**400", lambda c: c.prices.get("GOLD", max=10**400), "max"),
    Case(
        "activity lastPeriod 10**400",
        lambda c: c.history.activity(last_period=10**400),
        "lastPeriod",
    ),
    Case("navigation limit 10**5000", lambda c: c.markets.navigation("n", limit=10**5000), "limit"),
    # -- watchlist names and list sizes ---------------------------------------------------
    Case("watchlist name NUL", lambda c: c.watchlists.create("a\x00b"), "name"),
    Case("watchlist name newline", lambda c: c.watchlists.create("a\nb"), "name"),
    Case("watchlist name tab", lambda c: c.watchlists.create("a\tb"), "name"),
    Case("watchlist name escape", lambda c: c.watchlists.create("a\x1b[31m"), "name"),
    Case("watchlist name DEL", lambda c: c.watchlists.create("a\x7f"), "name"),
    Case("watchlist name only spaces", lambda c: c.watchlists.create("   "), "name"),
    Case("watchlist name one space", lambda c: c.watchlists.create(" "), "name"),
    Case(
        "watchlist 51 epics",
        lambda c: c.watchlists.create("big", [f"E{i}" for i in range(51)]),
        "epics",
    ),
    Case("sentiment 51 ids", lambda c: c.sentiment.list([f"E{i}" for i in range(51)]), "marketIds"),
    Case("sentiment 5000 ids", lambda c: c.sentiment.list(["GOLD"] * 5000), "marketIds"),
    # -- identifiers a URL library would collapse or that change the path ----------------
    Case("watchlist remove epic dot", lambda c: c.watchlists.remove_market("1", "."), "epic"),
    Case("watchlist remove epic dotdot", lambda c: c.watchlists.remove_market("1", ".."), "epic"),
    Case("watchlist remove epic %2e", lambda c: c.watchlists.remove_market("1", "%2e"), "epic"),
    Case(
        "watchlist remove epic %2E%2e",
        lambda c: c.watchlists.remove_market("1", "%2E%2e"),
        "epic",
    ),
    Case(
        "watchlist remove epic twice encoded",
        lambda c: c.watchlists.remove_market("1", "%252e%252e"),
        "epic",
    ),
    Case("watchlist remove epic slash", lambda c: c.watchlists.remove_market("1", "A/B"), "epic"),
    Case("watchlist remove epic %2f", lambda c: c.watchlists.remove_market("1", "A%2fB"), "epic"),
    Case(
        "watchlist remove epic backslash",
        lambda c: c.watchlists.remove_market("1", "A\\B"),
        "epic",
    ),
    Case(
        "watchlist remove id dotdot",
        lambda c: c.watchlists.remove_market("..", "GOLD"),
        "watchlistId",
    ),
    Case("watchlist add id dot", lambda c: c.watchlists.add_market(".", "GOLD"), "watchlistId"),
    Case("watchlist get id dotdot", lambda c: c.watchlists.get(".."), "watchlistId"),
    Case("watchlist delete id dot", lambda c: c.watchlists.delete("."), "watchlistId"),
    Case("watchlist delete id dot padded", lambda c: c.watchlists.delete(" . "), "watchlistId"),
    Case("position close dotdot", lambda c: c.positions.close(".."), "dealId"),
    Case("position close dot", lambda c: c.positions.close("."), "dealId"),
    Case("position close %2e%2e", lambda c: c.positions.close("%2e%2e"), "dealId"),
    Case("position close slash", lambda c: c.positions.close("a/b"), "dealId"),
    Case("position get dotdot", lambda c: c.positions.get(".."), "dealId"),
    Case("position update dotdot", lambda c: c.positions.update("..", stop_level=5), "dealId"),
    Case("order update dot", lambda c: c.orders.update(".", level=5), "dealId"),
    Case("order delete dotdot", lambda c: c.orders.delete(".."), "dealId"),
    Case("confirm dotdot", lambda c: c.confirms.get(".."), "dealReference"),
    Case("market get dotdot", lambda c: c.markets.get(".."), "epic"),
    Case("market get dot", lambda c: c.markets.get("."), "epic"),
    Case("prices get dotdot", lambda c: c.prices.get(".."), "epic"),
    Case(
        "prices history dot",
        lambda c: c.prices.history("..", "MINUTE", PAST),
        "epic",
    ),
    Case("navigation node dotdot", lambda c: c.markets.navigation(".."), "nodeId"),
    Case("navigation node slash", lambda c: c.markets.navigation("a/../b"), "nodeId"),
    Case("sentiment get dotdot", lambda c: c.sentiment.get(".."), "marketId"),
]

IDS = [case.name for case in CASES]


def test_the_table_is_big_and_names_are_unique() -> None:
    assert len(CASES) >= 100
    assert len(set(IDS)) == len(IDS)


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    server = start_sim(config(2))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sim(server: SimServer) -> SimHandle:
    return handle(server)


@pytest.fixture(scope="module")
def client(sim: SimHandle) -> Iterator[Client]:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        client.session.login()
        yield client


@pytest.fixture
async def async_client(server: SimServer) -> AsyncIterator[AsyncClient]:
    other = handle(server, 1)
    async with AsyncClient(**other.client_kwargs(), rate_limit=False) as client:
        await client.session.login()
        yield client


def _check(caught: pytest.ExceptionInfo[RequestValidationError], field: str) -> None:
    error = caught.value
    assert error.field == field, f"named {error.field!r}, expected {field!r}: {error}"
    message = str(error)
    assert message.startswith(f"{field}: ")
    assert len(message) > len(field) + 5


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sync_client_refuses_before_sending(client: Client, sim: SimHandle, case: Case) -> None:
    before = total_requests(sim)
    with pytest.raises(RequestValidationError) as caught:
        case.call(client)
    assert total_requests(sim) == before, "the bad request reached the simulator"
    _check(caught, case.field)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_async_client_refuses_before_sending(
    async_client: AsyncClient, sim: SimHandle, case: Case
) -> None:
    before = total_requests(sim)
    with pytest.raises(RequestValidationError) as caught:
        await case.call(async_client)
    assert total_requests(sim) == before, "the bad request reached the simulator"
    _check(caught, case.field)


def test_a_valid_call_does_reach_the_simulator(client: Client, sim: SimHandle) -> None:
    """The witness works: a good call is counted (so the tests above can fail)."""
    before = total_requests(sim)
    client.general.ping()
    assert total_requests(sim) == before + 1


STREAM_CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    ("quotes empty epic", lambda s: s.subscribe_quotes([""]), "epics"),
    ("quotes None epic", lambda s: s.subscribe_quotes([None]), "epics"),
    ("quotes no epics", lambda s: s.subscribe_quotes([]), "epics"),
    ("quotes not a list", lambda s: s.subscribe_quotes(42), "epics"),
    ("quotes comma epic", lambda s: s.subscribe_quotes(["GOLD,SILVER"]), "epics"),
    ("quotes overlong epic", lambda s: s.subscribe_quotes([LONG]), "epics"),
    ("quotes control char", lambda s: s.subscribe_quotes(["GO\nLD"]), "epics"),
    ("ohlc bad resolution", lambda s: s.subscribe_ohlc(["GOLD"], "MINUTE_3"), "resolution"),
    ("ohlc bad bar type", lambda s: s.subscribe_ohlc(["GOLD"], "MINUTE", "renko"), "bar_type"),
    ("ohlc empty epic", lambda s: s.subscribe_ohlc([""], "MINUTE"), "epics"),
]


@pytest.mark.parametrize(
    ("call", "field"), [(c, f) for _, c, f in STREAM_CASES], ids=[n for n, _, _ in STREAM_CASES]
)
async def test_stream_subscriptions_refuse_bad_input_before_sending(
    async_client: AsyncClient, server: SimServer, call: Callable[[Any], Any], field: str
) -> None:

    def received() -> int:
        return sum(int(c["messagesReceived"]) for c in server.state.streams.describe())

    async with async_client.stream() as stream:
        await stream.subscribe_quotes(["SILVER"])  # the connection exists: frames are counted
        before = received()
        with pytest.raises(RequestValidationError) as caught:
            await call(stream)
        assert received() == before, "the bad subscription reached the simulator"
    assert caught.value.field == field
