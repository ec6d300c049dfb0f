"""Market navigation tree, search, client sentiment and watchlists (data + small rules)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.pricetree import mix
from capitalcom_sim.engine.types import NavigationNode, Sentiment, Watchlist
from capitalcom_sim.errors import ApiError

MAX_WATCHLIST_NAME = 20


@dataclass(frozen=True)
class _Node:
    id: str
    name: str
    children: tuple[str, ...] = ()
    # leaves: a fixed epic list, or a rule picking markets (None for groups)
    epics: tuple[str, ...] | None = None
    rule: str | None = None


def _leaf(node_id: str, name: str, epics: Sequence[str] = (), rule: str | None = None) -> _Node:
    return _Node(node_id, name, (), tuple(epics), rule)


def _group(node_id: str, children: Sequence[str]) -> _Node:
    return _Node(node_id, node_id.removeprefix("hierarchy_v1."), tuple(children))


_H = "hierarchy_v1."
NAVIGATION: tuple[_Node, ...] = (
    _group(
        _H + "commons_group",
        [
            _H + "commons.most_traded",
            _H + "commons.recently_traded",
            _H + "commons.new",
            _H + "commons.top_gainers",
            _H + "commons.top_losers",
            _H + "commons.most_volatile",
            _H + "commons.weekend_trading",
        ],
    ),
    _group(
        _H + "commodities_group",
        [_H + "commodities", _H + "commodities.metals", _H + "commodities.energy"],
    ),
    _group(_H + "oil_markets_group", [_H + "oil_markets"]),
    _group(_H + "currencies_group", [_H + "currencies.majors", _H + "currencies.crosses"]),
    _group(
        _H + "indices_group",
        [_H + "indices.americas", _H + "indices.europe", _H + "indices.asia_pacific"],
    ),
    _group(_H + "shares_group", [_H + "shares.us", _H + "shares.europe", _H + "shares.asia"]),
    _group(_H + "cryptocurrencies_group", [_H + "cryptocurrencies"]),
)
LEAVES: tuple[_Node, ...] = (
    _leaf(
        _H + "commons.most_traded",
        "Most Traded",
        ["US500", "GOLD", "OIL_CRUDE", "BTCUSD", "EURUSD", "AAPL", "TSLA", "SILVER", "NATURALGAS"],
    ),
    _leaf(_H + "commons.recently_traded", "Recently Traded", rule="recently_traded"),
    _leaf(_H + "commons.new", "New", ["SOLUSD", "NVDA", "META", "COCOA"]),
    _leaf(_H + "commons.top_gainers", "Top Risers", rule="top_gainers"),
    _leaf(_H + "commons.top_losers", "Top Fallers", rule="top_losers"),
    _leaf(_H + "commons.most_volatile", "Most Volatile", rule="most_volatile"),
    _leaf(_H + "commons.weekend_trading", "Weekend Trading", rule="type:CRYPTOCURRENCIES"),
    # the documented example: limit=2 on commodities gives NATURALGAS, SILVER
    _leaf(_H + "commodities", "Commodities", rule="type:COMMODITIES"),
    _leaf(
        _H + "commodities.metals", "Metals", ["GOLD", "SILVER", "COPPER", "PLATINUM", "PALLADIUM"]
    ),
    _leaf(_H + "commodities.energy", "Energy", ["OIL_CRUDE", "OIL_BRENT", "NATURALGAS"]),
    _leaf(_H + "oil_markets", "Oil markets", ["OIL_CRUDE", "OIL_BRENT"]),
    _leaf(
        _H + "currencies.majors",
        "Majors",
        ["EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "USDCAD", "NZDUSD"],
    ),
    _leaf(
        _H + "currencies.crosses",
        "Crosses",
        ["EURGBP", "EURJPY", "GBPJPY", "EURCHF", "AUDJPY", "USDSGD"],
    ),
    _leaf(_H + "indices.americas", "Americas", ["US500", "US100", "US30"]),
    _leaf(_H + "indices.europe", "Europe", ["DE40", "UK100", "FR40", "EU50", "CH20"]),
    _leaf(_H + "indices.asia_pacific", "Asia Pacific", ["J225", "AU200"]),
    _leaf(_H + "shares.us", "US shares", rule="shares:USD"),
    _leaf(_H + "shares.europe", "European shares", ["BMW", "SAP", "SIE", "HSBA", "BP", "NESN"]),
    _leaf(_H + "shares.asia", "Asian shares", ["5CPSG"]),
    _leaf(_H + "cryptocurrencies", "Cryptocurrencies", rule="type:CRYPTOCURRENCIES"),
)


class Catalog:
    """Navigation, search, sentiment and watchlists. Not thread-safe (the Engine locks)."""

    def __init__(self, instruments: InstrumentTable, seed: int) -> None:
        self.instruments = instruments
        self.seed = seed
        self._nodes = {n.id: n for n in (*NAVIGATION, *LEAVES)}
        self._watchlists: dict[str, dict[str, Watchlist]] = {}
        self._next_watchlist_id = 123456

    # ---- navigation --------------------------------------------------------------------------
    def navigation(
        self,
        node_id: str | None,
        limit: int,
        change: Callable[[Instrument], tuple[float, float]],
        recent: Sequence[str],
    ) -> tuple[list[NavigationNode], list[Instrument] | None]:
        """Sub-nodes of a node (root when None) and, for leaves, up to ``limit`` markets.

        ``change(instrument)`` gives (percentage change, relative range) for the dynamic
        leaves; ``recent`` the epics the caller traded, newest first.
        """
        if node_id is None:
            return [NavigationNode(n.id, n.name) for n in NAVIGATION], None
        node = self._nodes.get(node_id)
        if node is None:
            raise ApiError(404, "error.not-found.nodeId")
        if node.epics is None:
            children = [self._nodes[c] for c in node.children]
            return [NavigationNode(c.id, c.name) for c in children], None
        markets = self._leaf_markets(node, change, recent)
        return [], markets[:limit]

    def _leaf_markets(
        self,
        node: _Node,
        change: Callable[[Instrument], tuple[float, float]],
        recent: Sequence[str],
    ) -> list[Instrument]:
        table = self.instruments
        rule = node.rule or ""
        if rule.startswith("type:"):
            wanted = rule.removeprefix("type:")
            return [i for i in table if i.type == wanted]
        if rule.startswith("shares:"):
            currency = rule.removeprefix("shares:")
            return [i for i in table if i.type == "SHARES" and i.currency == currency]
        if rule == "recently_traded":
            return [table.require(e) for e in dict.fromkeys(recent) if e in table]
        if rule in ("top_gainers", "top_losers", "most_volatile"):
            scored = [(change(i), i) for i in table]
            if rule == "top_gainers":
                picked = sorted(scored, key=lambda x: -x[0][0])
            elif rule == "top_losers":
                picked = sorted(scored, key=lambda x: x[0][0])
            else:
                picked = sorted(scored, key=lambda x: -x[0][1])
            return [i for _, i in picked[:10]]
        return [table.require(e) for e in (node.epics or ())]

    # ---- search ------------------------------------------------------------------------------
    def search(self, term: str) -> list[Instrument]:
        needle = term.casefold()
        return [
            i
            for i in self.instruments
            if needle in i.name.casefold()
            or needle in i.epic.casefold()
            or needle in i.symbol.casefold()
        ]

    # ---- sentiment ---------------------------------------------------------------------------
    def sentiment(self, epic: str, now_ms: int) -> Sentiment:
        """Long/short split in hundredths, changing every hour; sums to exactly 100."""
        self.instruments.require(epic)
        hour = now_ms // 3_600_000
        h = mix((self.seed << 40) ^ (zlib.crc32(epic.encode()) << 20) ^ hour)
        long_hundredths = 1500 + h % 7001  # 15.00 .. 85.00 %
        return Sentiment(epic, long_hundredths / 100, (10_000 - long_hundredths) / 100)

    # ---- watchlists (per client) -------------------------------------------------------------
    def watchlists(self, client_id: str) -> list[Watchlist]:
        return list(self._watchlists.get(client_id, {}).values())

    def watchlist(self, client_id: str, watchlist_id: str) -> Watchlist:
        found = self._watchlists.get(client_id, {}).get(watchlist_id)
        if found is None:
            raise ApiError(404, "error.invalid.watchlist")
        return found

    def _owned(self, client_id: str, watchlist_id: str) -> Watchlist:
        found = self._watchlists.get(client_id, {}).get(watchlist_id)
        if found is None:
            raise ApiError(404, "error.not-found.watchlist")
        return found

    def create_watchlist(self, client_id: str, name: str, epics: Sequence[str]) -> tuple[str, bool]:
        if not 1 <= len(name) <= MAX_WATCHLIST_NAME:
            raise ApiError(400, "error.size.createwatchlistrequest.name")
        valid = [e for e in dict.fromkeys(epics) if e in self.instruments]
        watchlist_id = str(self._next_watchlist_id)
        self._next_watchlist_id += 1
        self._watchlists.setdefault(client_id, {})[watchlist_id] = Watchlist(
            watchlist_id, name, valid
        )
        return watchlist_id, len(valid) == len(set(epics))

    def add_to_watchlist(self, client_id: str, watchlist_id: str, epic: str) -> None:
        watchlist = self._owned(client_id, watchlist_id)
        self.instruments.require(epic)
        if epic not in watchlist.epics:
            watchlist.epics.append(epic)

    def delete_watchlist(self, client_id: str, watchlist_id: str) -> None:
        self._owned(client_id, watchlist_id)
        del self._watchlists[client_id][watchlist_id]

    def remove_from_watchlist(self, client_id: str, watchlist_id: str, epic: str) -> None:
        watchlist = self._owned(client_id, watchlist_id)
        if epic not in watchlist.epics:
            raise ApiError(404, "error.not-found.epic")
        watchlist.epics.remove(epic)
