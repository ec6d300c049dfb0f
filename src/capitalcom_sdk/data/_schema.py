"""The column schemas of every tabular export, and rows built from API results (no pandas here).

Columns are named by the wire names the API documents. Keys are matched ignoring case and
underscores: ``dateUTC``, ``dateUtc`` and ``date_utc`` are the same field. Tables are built a
column at a time: from models, a column whose wire path runs through declared fields is read by
attribute access in one pass over the items (86,400 price bars in ~0.3 s); anything else (JSON
objects, fields only in a model's extras) is read from the wire form (the JSON object itself, or
``model_dump(by_alias=True)`` made once per item).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal, get_args

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


def _declared_fields(cls: type) -> dict[str, Any] | None:
    """Field name -> field info of a pydantic model or dataclass class, else None."""
    fields = getattr(cls, "__pydantic_fields__", None)
    if isinstance(fields, dict):
        return fields
    return None


def _field_class(annotation: Any) -> type | None:
    """The model class of a field's type (``X`` or ``X | None``), if it is one."""
    if isinstance(annotation, type):
        return annotation if _declared_fields(annotation) is not None else None
    classes = [c for c in get_args(annotation) if c is not type(None)]
    return _field_class(classes[0]) if len(classes) == 1 else None


def _attribute_path(cls: type, path: Sequence[str]) -> tuple[str, ...] | None:
    """The attribute names reaching a wire path through declared fields, None if some step is not
    a declared field (an extra, a dict) and must be read from the wire form instead."""
    names: list[str] = []
    current: type | None = cls
    for key in path:
        fields = _declared_fields(current) if current is not None else None
        if fields is None:
            return None
        wanted = _norm(key)
        for name, info in fields.items():
            alias = getattr(info, "alias", None)
            if _norm(name) == wanted or (isinstance(alias, str) and _norm(alias) == wanted):
                names.append(name)
                current = _field_class(getattr(info, "annotation", None))
                break
        else:
            return None
    return tuple(names)


def _get_path(item: Any, names: tuple[str, ...]) -> Any:
    value = item
    for name in names:
        if value is None:
            return None
        value = getattr(value, name)
    return value


class _Items:
    """Reads columns of a list of items: declared fields by attribute access, one pass per
    column; anything else from the wire form (dumped once per item, only when needed)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        kinds = {type(item) for item in items}
        only = kinds.pop() if len(kinds) == 1 else None
        self.model = only if only is not None and _declared_fields(only) is not None else None
        self._wire: list[Mapping[str, Any]] | None = None

    def values(self, path: Sequence[str]) -> list[Any]:
        names = _attribute_path(self.model, path) if self.model is not None else None
        if names is not None:
            getter = attrgetter(".".join(names))
            try:
                return [getter(item) for item in self.items]
            except AttributeError:  # a None on the way: step by step
                return [_get_path(item, names) for item in self.items]
        if self._wire is None:
            self._wire = [wire(item) for item in self.items]
        return [_lookup(record, path) for record in self._wire]


def _convert_all(values: list[Any], dtype: Dtype) -> list[Any]:
    if dtype == "float":  # floats that are numbers pass as they are, one pass
        return [v if type(v) is float and v == v else _convert(v, dtype) for v in values]
    if dtype == "datetime":
        return [v if type(v) is datetime and v.tzinfo is UTC else to_datetime(v) for v in values]
    return [_convert(v, dtype) for v in values]


def _mid_places(bids: list[Any], asks: list[Any]) -> int:
    """Decimal places that keep every digit of a mid and drop the float noise of the sum.

    The exact half-sum of two prices with ``d`` decimals has at most ``d + 1``; a float holds
    about 15 significant digits, so rounding to ``14 - (integer digits)`` places keeps all of
    them and removes the error of ``(bid + ask) / 2`` (``2375.4700000000003`` -> ``2375.47``).
    """
    largest = max((abs(v) for v in (*bids, *asks) if v is not None), default=0.0)
    integer_digits = len(str(int(largest))) if largest >= 1 else 0
    return max(0, 14 - integer_digits)


def _mids(bids: list[Any], asks: list[Any]) -> list[float | None]:
    places = _mid_places(bids, asks)
    return [
        None if bid is None or ask is None else round((bid + ask) / 2.0, places)
        for bid, ask in zip(bids, asks, strict=True)
    ]


def columns(result: Any, kind: Kind) -> dict[str, list[Any]]:
    """Columns (column name -> Python values) of a list result, in the schema's column order."""
    schema = SCHEMAS[kind]
    items = _Items(items_of(result, schema))
    out: dict[str, list[Any]] = {}
    for column in schema.columns:
        if column.source:
            out[column.name] = _convert_all(items.values(column.source), column.dtype)
        else:
            side = column.name.removesuffix("_mid")
            out[column.name] = _mids(out[f"{side}_bid"], out[f"{side}_ask"])
    return out


def rows(result: Any, kind: Kind) -> list[Row]:
    """Rows (column name -> Python value) of a list result, in the schema's column order."""
    data = columns(result, kind)
    names = list(data)
    return [dict(zip(names, values, strict=True)) for values in zip(*data.values(), strict=True)]


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
