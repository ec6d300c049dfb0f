"""The column schemas of every tabular export, and rows built from API results (no pandas here).

A row is read from the wire form of an item (``model_dump(by_alias=True)`` of a model, or the JSON
object itself), so it depends only on the field names the API documents. Keys are matched
ignoring case and underscores: ``dateUTC``, ``dateUtc`` and ``date_utc`` are the same field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal[
    "prices", "positions", "working_orders", "activities", "transactions", "markets", "accounts"
]
Dtype = Literal["datetime", "float", "int", "string", "bool"]
Row = dict[str, Any]

KINDS: tuple[Kind, ...] = (
    "prices",
    "positions",
    "working_orders",
    "activities",
    "transactions",
    "markets",
    "accounts",
)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name, its dtype, where it comes from in the wire item and what it means."""

    name: str
    dtype: Dtype
    source: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class Schema:
    """The columns of one kind of export; ``index`` names the index column, if any."""

    kind: Kind
    container: str
    columns: tuple[Column, ...]
    index: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, dtype: Dtype, source: str, description: str) -> Column:
    return Column(name, dtype, tuple(source.split(".")) if source else (), description)


_MID = "mid of the bid and ask values (computed)"

PRICES = Schema(
    "prices",
    "prices",
    (
        _c("time", "datetime", "snapshotTimeUTC", "bar start, UTC (the index of the frame)"),
        _c("open_bid", "float", "openPrice.bid", "open, bid side"),
        _c("high_bid", "float", "highPrice.bid", "high, bid side"),
        _c("low_bid", "float", "lowPrice.bid", "low, bid side"),
        _c("close_bid", "float", "closePrice.bid", "close, bid side"),
        _c("open_ask", "float", "openPrice.ask", "open, ask side"),
        _c("high_ask", "float", "highPrice.ask", "high, ask side"),
        _c("low_ask", "float", "lowPrice.ask", "low, ask side"),
        _c("close_ask", "float", "closePrice.ask", "close, ask side"),
        _c("volume", "int", "lastTradedVolume", "lastTradedVolume (missing: empty / <NA>)"),
        _c("open_mid", "float", "", _MID),
        _c("high_mid", "float", "", _MID),
        _c("low_mid", "float", "", _MID),
        _c("close_mid", "float", "", _MID),
    ),
    index="time",
)

_MARKET_FIELDS: tuple[tuple[str, Dtype, str, str], ...] = (
    ("instrument_name", "string", "instrumentName", "instrument name"),
    ("instrument_type", "string", "instrumentType", "COMMODITIES, CURRENCIES, INDICES, ..."),
    ("market_status", "string", "marketStatus", "TRADEABLE, CLOSED, ..."),
    ("bid", "float", "bid", "current bid"),
    ("offer", "float", "offer", "current offer"),
)

POSITIONS = Schema(
    "positions",
    "positions",
    (
        _c("deal_id", "string", "position.dealId", "position id"),
        _c("deal_reference", "string", "position.dealReference", "p_ + dealId"),
        _c("working_order_id", "string", "position.workingOrderId", "id of the opening order"),
        _c("epic", "string", "market.epic", "instrument"),
        _c("direction", "string", "position.direction", "BUY or SELL"),
        _c("size", "float", "position.size", "deal size"),
        _c("level", "float", "position.level", "open price"),
        _c("stop_level", "float", "position.stopLevel", "stop-loss level (NaN: none)"),
        _c("profit_level", "float", "position.profitLevel", "take-profit level (NaN: none)"),
        _c("upl", "float", "position.upl", "unrealised P&L, account currency"),
        _c("currency", "string", "position.currency", "currency of the position"),
        _c("leverage", "float", "position.leverage", "leverage"),
        _c("contract_size", "float", "position.contractSize", "contract size"),
        _c("guaranteed_stop", "bool", "position.guaranteedStop", "guaranteed stop"),
        _c("created", "datetime", "position.createdDateUTC", "opening time, UTC"),
        *(_c(n, t, "market." + s, d) for n, t, s, d in _MARKET_FIELDS),
    ),
)

WORKING_ORDERS = Schema(
    "working_orders",
    "workingOrders",
    (
        _c("deal_id", "string", "workingOrderData.dealId", "order id"),
        _c("epic", "string", "workingOrderData.epic", "instrument"),
        _c("direction", "string", "workingOrderData.direction", "BUY or SELL"),
        _c("order_type", "string", "workingOrderData.orderType", "LIMIT or STOP"),
        _c("size", "float", "workingOrderData.orderSize", "order size"),
        _c("level", "float", "workingOrderData.orderLevel", "order price"),
        _c("time_in_force", "string", "workingOrderData.timeInForce", "GOOD_TILL_..."),
        _c("good_till", "datetime", "workingOrderData.goodTillDateUTC", "expiry, UTC (NaT: none)"),
        _c("stop_distance", "float", "workingOrderData.stopDistance", "signed, from the level"),
        _c("profit_distance", "float", "workingOrderData.profitDistance", "signed, from the level"),
        _c("guaranteed_stop", "bool", "workingOrderData.guaranteedStop", "guaranteed stop"),
        _c("trailing_stop", "bool", "workingOrderData.trailingStop", "trailing stop"),
        _c("currency", "string", "workingOrderData.currencyCode", "currency"),
        _c("created", "datetime", "workingOrderData.createdDateUTC", "creation time, UTC"),
        *(_c(n, t, "marketData." + s, d) for n, t, s, d in _MARKET_FIELDS),
    ),
)

ACTIVITIES = Schema(
    "activities",
    "activities",
    (
        _c("date", "datetime", "dateUTC", "time of the activity, UTC"),
        _c("epic", "string", "epic", "instrument"),
        _c("deal_id", "string", "dealId", "deal id"),
        _c("source", "string", "source", "USER, SL, TP, CLOSE_OUT, DEALER, SYSTEM"),
        _c("type", "string", "type", "POSITION, WORKING_ORDER, EDIT_STOP_AND_LIMIT, ..."),
        _c("status", "string", "status", "ACCEPTED, EXECUTED, REJECTED, ..."),
        _c("deal_reference", "string", "details.dealReference", "detailed=true only"),
        _c("market_name", "string", "details.marketName", "detailed=true only"),
        _c("direction", "string", "details.direction", "detailed=true only"),
        _c("size", "float", "details.size", "detailed=true only"),
        _c("level", "float", "details.level", "detailed=true only"),
        _c("currency", "string", "details.currency", "detailed=true only"),
    ),
)

TRANSACTIONS = Schema(
    "transactions",
    "transactions",
    (
        _c("date", "datetime", "dateUtc", "time of the transaction, UTC"),
        _c("transaction_type", "string", "transactionType", "TRADE, DEPOSIT, SWAP, ..."),
        _c("instrument_name", "string", "instrumentName", "instrument (none for deposits)"),
        _c("note", "string", "note", "e.g. Trade closed"),
        _c("reference", "string", "reference", "reference"),
        _c("amount", "float", "size", "signed amount (the API's string size as a number)"),
        _c("currency", "string", "currency", "currency"),
        _c("status", "string", "status", "PROCESSED"),
    ),
)

MARKETS = Schema(
    "markets",
    "markets",
    (
        _c("epic", "string", "epic", "instrument"),
        _c("symbol", "string", "symbol", "display ticker"),
        *(_c(n, t, s, d) for n, t, s, d in _MARKET_FIELDS),
        _c("high", "float", "high", "day high"),
        _c("low", "float", "low", "day low"),
        _c("net_change", "float", "netChange", "day change"),
        _c("percentage_change", "float", "percentageChange", "day change, percent"),
        _c("updated", "datetime", "updateTimeUTC", "last update, UTC"),
    ),
)

ACCOUNTS = Schema(
    "accounts",
    "accounts",
    (
        _c("account_id", "string", "accountId", "account id"),
        _c("account_name", "string", "accountName", "name"),
        _c("account_type", "string", "accountType", "CFD, SPREADBET, PHYSICAL"),
        _c("status", "string", "status", "ENABLED, ..."),
        _c("preferred", "bool", "preferred", "the preferred account"),
        _c("currency", "string", "currency", "currency"),
        _c("balance", "float", "balance.balance", "balance"),
        _c("deposit", "float", "balance.deposit", "deposit"),
        _c("profit_loss", "float", "balance.profitLoss", "profit and loss"),
        _c("available", "float", "balance.available", "available to trade"),
    ),
)

SCHEMAS: Mapping[Kind, Schema] = {
    s.kind: s
    for s in (PRICES, POSITIONS, WORKING_ORDERS, ACTIVITIES, TRANSACTIONS, MARKETS, ACCOUNTS)
}


def _norm(key: str) -> str:
    return key.replace("_", "").lower()


def wire(item: Any) -> Mapping[str, Any]:
    """The wire form of one item: a mapping as is, a pydantic model dumped by alias."""
    if isinstance(item, Mapping):
        return item
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        result = dump(by_alias=True)
        if isinstance(result, Mapping):
            return result
    raise TypeError(f"cannot read {type(item).__name__} as an API item")


def _lookup(record: Any, path: Sequence[str]) -> Any:
    value: Any = record
    for key in path:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            value = wire(value)
        if key in value:
            value = value[key]
            continue
        wanted = _norm(key)
        value = next((v for k, v in value.items() if _norm(str(k)) == wanted), None)
    return value


def to_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from a datetime, an ISO string (no zone = UTC) or epoch ms."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000.0, tz=UTC)
    else:
        parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _convert(value: Any, dtype: Dtype) -> Any:
    if value is None:
        return None
    if dtype == "datetime":
        return to_datetime(value)
    if dtype == "float":
        number = float(value)
        return None if math.isnan(number) else number
    if dtype == "int":
        return int(value)
    if dtype == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)


def _mid(row: Row, name: str) -> float | None:
    bid, ask = row.get(f"{name}_bid"), row.get(f"{name}_ask")
    return None if bid is None or ask is None else (bid + ask) / 2.0


def items_of(result: Any, schema: Schema) -> list[Any]:
    """The items of a list result (``PriceHistory.prices``, ...), or the sequence itself."""
    if isinstance(result, Mapping):
        found = _lookup(result, (schema.container,))
        return list(found or [])
    if isinstance(result, list | tuple):
        return list(result)
    for name in (schema.container, schema.kind):
        if hasattr(result, name):
            return list(getattr(result, name) or [])
    if hasattr(result, "model_dump"):
        found = _lookup(wire(result), (schema.container,))
        return list(found or [])
    if isinstance(result, Iterable):
        return list(result)
    raise TypeError(f"{type(result).__name__} holds no {schema.kind}")


def rows(result: Any, kind: Kind) -> list[Row]:
    """Rows (column name -> Python value) of a list result, in the schema's column order."""
    schema = SCHEMAS[kind]
    out: list[Row] = []
    for item in items_of(result, schema):
        record = wire(item)
        row: Row = {}
        for column in schema.columns:
            if column.source:
                row[column.name] = _convert(_lookup(record, column.source), column.dtype)
            else:
                row[column.name] = _mid(row, column.name.removesuffix("_mid"))
        out.append(row)
    return out


_ITEM_MARKERS: tuple[tuple[str, Kind], ...] = (
    ("snapshottimeutc", "prices"),
    ("workingorderdata", "working_orders"),
    ("position", "positions"),
    ("transactiontype", "transactions"),
    ("source", "activities"),
    ("accountid", "accounts"),
    ("epic", "markets"),
)


def infer_kind(result: Any) -> Kind:
    """Which kind of list a result is: from its container field, else from its first item."""
    for schema in SCHEMAS.values():
        if not isinstance(result, list | tuple) and _has(result, schema.container):
            return schema.kind
    items = list(result) if isinstance(result, list | tuple) else []
    if items:
        keys = {_norm(str(k)) for k in wire(items[0])}
        for marker, kind in _ITEM_MARKERS:
            if marker in keys:
                return kind
    raise TypeError(f"cannot tell which kind of list {type(result).__name__} is; pass kind=")


def _has(result: Any, container: str) -> bool:
    if isinstance(result, Mapping):
        return _norm(container) in {_norm(str(k)) for k in result}
    fields = getattr(type(result), "model_fields", None)
    if isinstance(fields, Mapping):
        names = {_norm(str(k)) for k in fields}
        return _norm(container) in names
    return hasattr(result, container)
