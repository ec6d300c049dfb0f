"""OpenAPI 3.1 description of the real-API routes (``/api/v1/...``), written from SPEC.md as data.

Served at ``GET /_sim/openapi.json``; used by the fuzz tests (schemathesis) and by humans.
Response schemas list the documented fields with their types; they allow extra fields, as the
real servers add fields over time.

It is longer than the house's ~500 lines because it is data, one block per documented route and
model (the same table SPEC.md has); splitting it by API area would scatter the shared schemas.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

Schema = dict[str, Any]

_STR: Schema = {"type": "string"}
_NUM: Schema = {"type": "number"}
_INT: Schema = {"type": "integer"}
_BOOL: Schema = {"type": "boolean"}
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"
_DATE: Schema = {"type": "string", "pattern": _DATE_PATTERN, "example": "2022-02-24T00:00:00"}
RESOLUTIONS = ["MINUTE", "MINUTE_5", "MINUTE_15", "MINUTE_30", "HOUR", "HOUR_4", "DAY", "WEEK"]
DIRECTIONS = ["BUY", "SELL"]
LEVERAGE_GROUPS = ["SHARES", "CURRENCIES", "INDICES", "CRYPTOCURRENCIES", "COMMODITIES"]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _rule() -> Schema:
    return _ref("DealingRule")


_STOPS: dict[str, Schema] = {
    "guaranteedStop": _BOOL,
    "trailingStop": _BOOL,
    "stopLevel": _NUM,
    "stopDistance": _NUM,
    "stopAmount": _NUM,
    "profitLevel": _NUM,
    "profitDistance": _NUM,
    "profitAmount": _NUM,
}

SCHEMAS: dict[str, Schema] = {
    "Error": _obj({"errorCode": _STR}, ("errorCode",)),
    "Status": _obj({"status": _STR}, ("status",)),
    "DealReference": _obj({"dealReference": _STR}, ("dealReference",)),
    "Balance": _obj(
        {"balance": _NUM, "deposit": _NUM, "profitLoss": _NUM, "available": _NUM},
        ("balance", "deposit", "profitLoss", "available"),
    ),
    "SessionAccount": _obj(
        {
            "accountId": _STR,
            "accountName": _STR,
            "preferred": _BOOL,
            "accountType": _STR,
            "currency": _STR,
            "symbol": _STR,
            "balance": _ref("Balance"),
        },
        ("accountId", "accountName", "preferred", "accountType"),
    ),
    "Account": _obj(
        {
            "accountId": _STR,
            "accountName": _STR,
            "status": _STR,
            "accountType": _STR,
            "preferred": _BOOL,
            "balance": _ref("Balance"),
            "currency": _STR,
            "symbol": _STR,
        },
        ("accountId", "accountName", "balance"),
    ),
    "MarketSummary": _obj(
        {
            "epic": _STR,
            "symbol": _STR,
            "instrumentName": _STR,
            "instrumentType": _STR,
            "expiry": _STR,
            "marketStatus": _STR,
            "marketModes": _array(_STR),
            "lotSize": _NUM,
            "high": _NUM,
            "low": _NUM,
            "percentageChange": _NUM,
            "netChange": _NUM,
            "bid": _NUM,
            "offer": _NUM,
            "updateTime": _STR,
            "updateTimeUTC": _STR,
            "delayTime": _NUM,
            "streamingPricesAvailable": _BOOL,
            "scalingFactor": _NUM,
            "pipPosition": _NUM,
            "tickSize": _NUM,
        },
        ("epic", "instrumentName", "marketStatus"),
    ),
    "DealingRule": _obj(
        {"unit": {"type": "string", "enum": ["POINTS", "PERCENTAGE"]}, "value": _NUM}
    ),
    "MarketDetails": _obj(
        {
            "instrument": _obj(
                {
                    "epic": _STR,
                    "symbol": _STR,
                    "expiry": _STR,
                    "name": _STR,
                    "lotSize": _NUM,
                    "type": _STR,
                    "guaranteedStopAllowed": _BOOL,
                    "streamingPricesAvailable": _BOOL,
                    "currency": _STR,
                    "marginFactor": _NUM,
                    "marginFactorUnit": _STR,
                    "openingHours": {"type": ["object", "null"]},
                    "overnightFee": _obj(
                        {
                            "longRate": _NUM,
                            "shortRate": _NUM,
                            "swapChargeTimestamp": _INT,
                            "swapChargeInterval": _INT,
                        }
                    ),
                    "country": _STR,
                },
                ("epic",),
            ),
            "dealingRules": _obj(
                {
                    "minStepDistance": _rule(),
                    "minDealSize": _rule(),
                    "maxDealSize": _rule(),
                    "minSizeIncrement": _rule(),
                    "minGuaranteedStopDistance": _rule(),
                    "minStopOrProfitDistance": _rule(),
                    "maxStopOrProfitDistance": _rule(),
                    "marketOrderPreference": _STR,
                    "trailingStopsPreference": _STR,
                }
            ),
            "snapshot": _obj(
                {
                    "marketStatus": _STR,
                    "netChange": _NUM,
                    "percentageChange": _NUM,
                    "updateTime": _STR,
                    "delayTime": _NUM,
                    "bid": _NUM,
                    "offer": _NUM,
                    "high": _NUM,
                    "low": _NUM,
                    "decimalPlacesFactor": _NUM,
                    "scalingFactor": _NUM,
                    "marketModes": _array(_STR),
                }
            ),
        },
        ("instrument", "dealingRules", "snapshot"),
    ),
    "Position": _obj(
        {
            "position": _obj(
                {
                    "contractSize": _NUM,
                    "createdDate": _STR,
                    "createdDateUTC": _STR,
                    "dealId": _STR,
                    "dealReference": _STR,
                    "workingOrderId": _STR,
                    "size": _NUM,
                    "leverage": _NUM,
                    "upl": _NUM,
                    "direction": {"type": "string", "enum": DIRECTIONS},
                    "level": _NUM,
                    "currency": _STR,
                    "guaranteedStop": _BOOL,
                    "stopLevel": _NUM,
                    "profitLevel": _NUM,
                },
                ("dealId", "direction", "size", "level"),
            ),
            "market": _ref("MarketSummary"),
        },
        ("position", "market"),
    ),
    "WorkingOrder": _obj(
        {
            "workingOrderData": _obj(
                {
                    "dealId": _STR,
                    "direction": {"type": "string", "enum": DIRECTIONS},
                    "epic": _STR,
                    "orderSize": _NUM,
                    "leverage": _NUM,
                    "orderLevel": _NUM,
                    "timeInForce": _STR,
                    "goodTillDate": _STR,
                    "goodTillDateUTC": _STR,
                    "createdDate": _STR,
                    "createdDateUTC": _STR,
                    "guaranteedStop": _BOOL,
                    "orderType": {"type": "string", "enum": ["LIMIT", "STOP"]},
                    "stopDistance": _NUM,
                    "profitDistance": _NUM,
                    "trailingStop": _BOOL,
                    "currencyCode": _STR,
                },
                ("dealId", "direction", "epic", "orderSize", "orderLevel"),
            ),
            "marketData": _ref("MarketSummary"),
        },
        ("workingOrderData", "marketData"),
    ),
    "Confirm": _obj(
        {
            "date": _STR,
            "status": _STR,
            "reason": _STR,
            "dealStatus": {"type": "string", "enum": ["ACCEPTED", "REJECTED"]},
            "epic": _STR,
            "dealReference": _STR,
            "dealId": _STR,
            "affectedDeals": _array(_obj({"dealId": _STR, "status": _STR})),
            "level": _NUM,
            "size": _NUM,
            "direction": _STR,
            "guaranteedStop": _BOOL,
            "trailingStop": _BOOL,
        },
        ("dealStatus", "dealReference"),
    ),
    "PricePoint": _obj({"bid": _NUM, "ask": _NUM}),
    "PriceBar": _obj(
        {
            "snapshotTime": _STR,
            "snapshotTimeUTC": _STR,
            "openPrice": _ref("PricePoint"),
            "closePrice": _ref("PricePoint"),
            "highPrice": _ref("PricePoint"),
            "lowPrice": _ref("PricePoint"),
            "lastTradedVolume": _NUM,
        },
        ("snapshotTimeUTC", "openPrice", "closePrice", "highPrice", "lowPrice"),
    ),
    "Activity": _obj(
        {
            "date": _STR,
            "dateUTC": _STR,
            "epic": _STR,
            "dealId": _STR,
            "source": _STR,
            "type": _STR,
            "status": _STR,
            "details": {"type": "object"},
        },
        ("dateUTC", "type", "status"),
    ),
    "Transaction": _obj(
        {
            "date": _STR,
            "dateUtc": _STR,
            "instrumentName": _STR,
            "transactionType": _STR,
            "note": _STR,
            "reference": _STR,
            "size": _STR,
            "currency": _STR,
            "status": _STR,
        },
        ("dateUtc", "transactionType", "size"),
    ),
    "Sentiment": _obj(
        {"marketId": _STR, "longPositionPercentage": _NUM, "shortPositionPercentage": _NUM},
        ("marketId", "longPositionPercentage", "shortPositionPercentage"),
    ),
    "Watchlist": _obj(
        {
            "id": _STR,
            "name": _STR,
            "editable": _BOOL,
            "deleteable": _BOOL,
            "defaultSystemWatchlist": _BOOL,
        },
        ("id", "name"),
    ),
}

_SESSION_SECURITY: list[dict[str, list[str]]] = [{"CST": [], "SecurityToken": []}]
_KEY_SECURITY: list[dict[str, list[str]]] = [{"ApiKey": []}]


def _param(name: str, where: str, schema: Schema, required: bool = False) -> Schema:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


def _query(name: str, schema: Schema) -> Schema:
    return _param(name, "query", schema)


def _path(name: str, schema: Schema | None = None) -> Schema:
    return _param(name, "path", schema or {"type": "string", "minLength": 1})


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


_TOKEN_HEADERS = {
    "CST": {"schema": _STR, "description": "client token"},
    "X-SECURITY-TOKEN": {"schema": _STR, "description": "account token"},
}


def _op(
    op_id: str,
    summary: str,
    ok: Schema,
    errors: tuple[int, ...] = (),
    params: tuple[Schema, ...] = (),
    body: Schema | None = None,
    body_required: bool = True,
    security: list[dict[str, list[str]]] | None = _SESSION_SECURITY,
    ok_headers: bool = True,
) -> Schema:
    authenticated = security is _SESSION_SECURITY
    response: Schema = {"description": "success", **_json(ok)}
    if ok_headers and security is not None:
        response["headers"] = _TOKEN_HEADERS
    responses: dict[str, Schema] = {"200": response}
    statuses = set(errors) | ({400, 401, 429} if security is not None else set())
    for status in sorted(statuses):
        responses[str(status)] = {"description": "error", **_json(_ref("Error"))}
    operation: Schema = {
        "operationId": op_id,
        "summary": summary,
        "responses": responses,
        "security": security if security is not None else [],
    }
    if params:
        operation["parameters"] = list(params)
    if body is not None:
        operation["requestBody"] = {"required": body_required, **_json(body)}
    if not authenticated:
        operation["x-auth"] = "api-key" if security else "none"
    return operation


_EPIC = _path("epic", {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]{1,30}$"})
_DEAL_ID = _path("dealId")
_WATCHLIST_ID = _path("watchlistId")

PATHS: dict[str, dict[str, Schema]] = {
    "/api/v1/time": {
        "get": _op("general.time", "Server time", _obj({"serverTime": _INT}), security=None)
    },
    "/api/v1/ping": {"get": _op("general.ping", "Keep the session alive", _ref("Status"))},
    "/api/v1/session/encryptionKey": {
        "get": _op(
            "session.encryption_key",
            "RSA key for encrypted login",
            _obj({"encryptionKey": _STR, "timeStamp": _INT}, ("encryptionKey", "timeStamp")),
            errors=(400, 401),
            security=_KEY_SECURITY,
            ok_headers=False,
        )
    },
    "/api/v1/session": {
        "get": _op(
            "session.details",
            "Session details",
            _obj(
                {
                    "clientId": _STR,
                    "accountId": _STR,
                    "timezoneOffset": _INT,
                    "locale": _STR,
                    "currency": _STR,
                    "streamEndpoint": _STR,
                },
                ("clientId", "accountId"),
            ),
        ),
        "post": _op(
            "session.create",
            "Log in (plain or RSA-encrypted password)",
            _obj(
                {
                    "accountType": _STR,
                    "accountInfo": _ref("Balance"),
                    "currencyIsoCode": _STR,
                    "currencySymbol": _STR,
                    "currentAccountId": _STR,
                    "streamingHost": _STR,
                    "accounts": _array(_ref("SessionAccount")),
                    "clientId": _STR,
                    "timezoneOffset": _INT,
                    "hasActiveDemoAccounts": _BOOL,
                    "hasActiveLiveAccounts": _BOOL,
                    "trailingStopsEnabled": _BOOL,
                },
                ("currentAccountId", "accounts", "clientId"),
            ),
            errors=(400, 401, 429),
            body=_obj(
                {
                    "identifier": _STR,
                    "password": _STR,
                    "encryptedPassword": {"type": ["boolean", "string", "null"]},
                },
                ("identifier", "password"),
            ),
            security=_KEY_SECURITY,
        ),
        "put": _op(
            "session.switch_account",
            "Switch the active account (rotates X-SECURITY-TOKEN)",
            _obj(
                {
                    "trailingStopsEnabled": _BOOL,
                    "dealingEnabled": _BOOL,
                    "hasActiveDemoAccounts": _BOOL,
                    "hasActiveLiveAccounts": _BOOL,
                }
            ),
            errors=(400,),
            body=_obj({"accountId": _STR}, ("accountId",)),
        ),
        "delete": _op("session.logout", "Log out", _ref("Status"), ok_headers=False),
    },
    "/api/v1/accounts": {
        "get": _op("accounts.list", "All accounts", _obj({"accounts": _array(_ref("Account"))}))
    },
    "/api/v1/accounts/preferences": {
        "get": _op(
            "accounts.preferences",
            "Leverages and hedging mode",
            _obj(
                {
                    "hedgingMode": _BOOL,
                    "leverages": {
                        "type": "object",
                        "additionalProperties": _obj({"current": _NUM, "available": _array(_NUM)}),
                    },
                }
            ),
        ),
        "put": _op(
            "accounts.update_preferences",
            "Change leverages / hedging mode",
            _ref("Status"),
            errors=(400,),
            body=_obj(
                {
                    "leverages": _obj({g: _INT for g in LEVERAGE_GROUPS}),
                    "hedgingMode": _BOOL,
                }
            ),
        ),
    },
    "/api/v1/accounts/topUp": {
        "post": _op(
            "accounts.top_up",
            "Adjust the demo balance",
            _obj({"successful": _BOOL}),
            errors=(400,),
            body=_obj({"amount": {"type": "number"}}, ("amount",)),
        )
    },
    "/api/v1/history/activity": {
        "get": _op(
            "history.activity",
            "Account activity",
            _obj({"activities": _array(_ref("Activity"))}),
            errors=(400,),
            params=(
                _query("from", _DATE),
                _query("to", _DATE),
                _query("lastPeriod", {"type": "integer", "minimum": 0, "maximum": 86400}),
                _query("detailed", _BOOL),
                _query("dealId", _STR),
                _query("filter", _STR),
            ),
        )
    },
    "/api/v1/history/transactions": {
        "get": _op(
            "history.transactions",
            "Transactions",
            _obj({"transactions": _array(_ref("Transaction"))}),
            errors=(400,),
            params=(
                _query("from", _DATE),
                _query("to", _DATE),
                _query("lastPeriod", {"type": "integer", "minimum": 0, "maximum": 86400}),
                _query("type", _STR),
            ),
        )
    },
    "/api/v1/confirms/{dealReference}": {
        "get": _op(
            "trading.confirm",
            "Deal confirmation",
            _ref("Confirm"),
            errors=(404,),
            params=(_path("dealReference"),),
        )
    },
    "/api/v1/positions": {
        "get": _op(
            "positions.list", "Open positions", _obj({"positions": _array(_ref("Position"))})
        ),
        "post": _op(
            "positions.open",
            "Open a position",
            _ref("DealReference"),
            errors=(400, 404),
            body=_obj(
                {
                    "direction": {"type": "string", "enum": DIRECTIONS},
                    "epic": _STR,
                    "size": {"type": "number", "exclusiveMinimum": 0},
                    **_STOPS,
                },
                ("direction", "epic", "size"),
            ),
        ),
    },
    "/api/v1/positions/{dealId}": {
        "get": _op(
            "positions.get", "One position", _ref("Position"), errors=(404,), params=(_DEAL_ID,)
        ),
        "put": _op(
            "positions.update",
            "Amend stops/limits",
            _ref("DealReference"),
            errors=(400, 404),
            params=(_DEAL_ID,),
            body=_obj(dict(_STOPS)),
        ),
        "delete": _op(
            "positions.close",
            "Close a position",
            _ref("DealReference"),
            errors=(404,),
            params=(_DEAL_ID,),
        ),
    },
    "/api/v1/workingorders": {
        "get": _op(
            "orders.list",
            "Working orders",
            _obj({"workingOrders": _array(_ref("WorkingOrder"))}),
        ),
        "post": _op(
            "orders.create",
            "Create a LIMIT or STOP order",
            _ref("DealReference"),
            errors=(400, 404),
            body=_obj(
                {
                    "direction": {"type": "string", "enum": DIRECTIONS},
                    "epic": _STR,
                    "size": {"type": "number", "exclusiveMinimum": 0},
                    "level": {"type": "number", "exclusiveMinimum": 0},
                    "type": {"type": "string", "enum": ["LIMIT", "STOP"]},
                    "goodTillDate": _DATE,
                    **_STOPS,
                },
                ("direction", "epic", "size", "level", "type"),
            ),
        ),
    },
    "/api/v1/workingorders/{dealId}": {
        "put": _op(
            "orders.update",
            "Amend an order",
            _ref("DealReference"),
            errors=(400, 404),
            params=(_DEAL_ID,),
            body=_obj({"level": _NUM, "goodTillDate": _DATE, **_STOPS}),
        ),
        "delete": _op(
            "orders.cancel",
            "Cancel an order",
            _ref("DealReference"),
            errors=(404,),
            params=(_DEAL_ID,),
        ),
    },
    "/api/v1/marketnavigation": {
        "get": _op(
            "markets.navigation",
            "Top-level nodes",
            _obj({"nodes": _array(_obj({"id": _STR, "name": _STR}))}),
        )
    },
    "/api/v1/marketnavigation/{nodeId}": {
        "get": _op(
            "markets.navigation_node",
            "Children of a node",
            _obj(
                {
                    "nodes": _array(_obj({"id": _STR, "name": _STR})),
                    "markets": _array(_ref("MarketSummary")),
                }
            ),
            errors=(400, 404),
            params=(_path("nodeId"), _query("limit", {"type": "integer"})),
        )
    },
    "/api/v1/markets": {
        "get": _op(
            "markets.search",
            "All markets, search, or details by epics",
            _obj(
                {
                    "markets": _array(_ref("MarketSummary")),
                    "marketDetails": _array(_ref("MarketDetails")),
                }
            ),
            errors=(400, 404),
            params=(_query("searchTerm", _STR), _query("epics", _STR)),
        )
    },
    "/api/v1/markets/{epic}": {
        "get": _op("markets.get", "One market in detail", _ref("MarketDetails"), (404,), (_EPIC,))
    },
    "/api/v1/prices/{epic}": {
        "get": _op(
            "prices.history",
            "Historical bars",
            _obj({"prices": _array(_ref("PriceBar")), "instrumentType": _STR}),
            errors=(400, 404),
            params=(
                _EPIC,
                _query("resolution", {"type": "string", "enum": RESOLUTIONS}),
                _query("max", {"type": "integer", "minimum": 1, "maximum": 1000}),
                _query("from", _DATE),
                _query("to", _DATE),
            ),
        )
    },
    "/api/v1/clientsentiment": {
        "get": _op(
            "sentiment.list",
            "Sentiment of several markets",
            _obj({"clientSentiments": _array(_ref("Sentiment"))}),
            errors=(400, 404),
            params=(_param("marketIds", "query", _STR, required=True),),
        )
    },
    "/api/v1/clientsentiment/{marketId}": {
        "get": _op(
            "sentiment.get",
            "Sentiment of one market",
            _ref("Sentiment"),
            errors=(404,),
            params=(_path("marketId"),),
        )
    },
    "/api/v1/watchlists": {
        "get": _op(
            "watchlists.list", "Watchlists", _obj({"watchlists": _array(_ref("Watchlist"))})
        ),
        "post": _op(
            "watchlists.create",
            "Create a watchlist",
            _obj({"watchlistId": _STR, "status": _STR}, ("watchlistId", "status")),
            errors=(400,),
            body=_obj(
                {
                    "name": {"type": "string", "minLength": 1, "maxLength": 20},
                    "epics": _array(_STR),
                },
                ("name",),
            ),
        ),
    },
    "/api/v1/watchlists/{watchlistId}": {
        "get": _op(
            "watchlists.get",
            "Markets of a watchlist",
            _obj({"markets": _array(_ref("MarketSummary"))}),
            errors=(404,),
            params=(_WATCHLIST_ID,),
        ),
        "put": _op(
            "watchlists.add_market",
            "Add a market",
            _ref("Status"),
            errors=(400, 404),
            params=(_WATCHLIST_ID,),
            body=_obj({"epic": _STR}, ("epic",)),
        ),
        "delete": _op(
            "watchlists.delete",
            "Delete a watchlist",
            _ref("Status"),
            errors=(404,),
            params=(_WATCHLIST_ID,),
        ),
    },
    "/api/v1/watchlists/{watchlistId}/{epic}": {
        "delete": _op(
            "watchlists.remove_market",
            "Remove a market",
            _ref("Status"),
            errors=(404,),
            params=(_WATCHLIST_ID, _EPIC),
        )
    },
}


@cache
def _document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Capital.com public API v1 (as simulated by capitalcom_sim)",
            "version": "1.0.0",
            "description": "Real-API routes only; the simulator's /_sim/ control plane is not "
            "described here. Written from SPEC.md.",
        },
        "servers": [{"url": "/"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-CAP-API-KEY"},
                "CST": {"type": "apiKey", "in": "header", "name": "CST"},
                "SecurityToken": {"type": "apiKey", "in": "header", "name": "X-SECURITY-TOKEN"},
            },
        },
    }


def openapi_document() -> Schema:
    """A fresh copy of the OpenAPI document (callers may modify it)."""
    return copy.deepcopy(_document())


def endpoint_count() -> int:
    """How many (method, path) operations the document describes."""
    return sum(len(ops) for ops in PATHS.values())
