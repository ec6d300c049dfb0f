"""The MCP server: tool registry, the call handler (journal, errors, secrets) and transports."""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets as _secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from pydantic import BaseModel, ValidationError

from capitalcom_sdk import AsyncClient
from capitalcom_sdk.errors import CapitalError
from capitalcom_sdk.mcp import _highlevel as hl
from capitalcom_sdk.mcp._journal import Journal, scrub
from capitalcom_sdk.mcp._policy import BuiltinPolicy, OrderPolicy, PolicyRefusal, _refusal
from capitalcom_sdk.mcp._tokens import DEFAULT_TTL, PreviewTokens, TokenRefused
from capitalcom_sdk.mcp._tools import ToolSpec, generated_tools
from capitalcom_sdk.trading import PolicyViolation

log = logging.getLogger("capitalcom_sdk.mcp")

MAX_RESULT_CHARS = 200_000


@dataclass
class ServerOptions:
    """How the server behaves.

    Attributes:
        trading: list the trading tier (preview/execute, watchlist and account writes).
        policy: the checks every order passes (default: :class:`BuiltinPolicy` defaults).
        preview_ttl: seconds a preview token stays valid.
        journal: the JSON-lines decision journal (None: none).
        live: the client talks to the live server (real money).
        mode: ``practice`` (embedded simulator) or ``connected`` (a configured server), shown to
            the assistant.
        late_apply_window: seconds after an unanswered order during which the server may still
            apply it (reconcile's ``late_apply_window``; None: the SDK's default).
    """

    trading: bool = False
    policy: OrderPolicy = field(default_factory=BuiltinPolicy)
    preview_ttl: float = DEFAULT_TTL
    journal: Path | None = None
    live: bool = False
    mode: str = "practice"
    late_apply_window: float | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class CapitalMcp:
    """The tools of one client, served over MCP (see docs/mcp.md)."""

    def __init__(self, client: AsyncClient, options: ServerOptions | None = None) -> None:
        self.client = client
        self.options = options or ServerOptions()
        self.journal = Journal(self.options.journal)
        self.tokens = PreviewTokens(self.options.preview_ttl)
        self.trader = hl.Trader(
            client,
            self.options.policy,
            self.tokens,
            live=self.options.live,
            late_apply_window=self.options.late_apply_window,
        )
        self.tools: dict[str, ToolSpec] = {}
        for spec in self._tool_specs():
            if spec.trading and not self.options.trading:
                continue
            self.tools[spec.name] = spec

    def __repr__(self) -> str:
        return f"CapitalMcp(mode={self.options.mode!r}, trading={self.options.trading})"

    def _tool_specs(self) -> list[ToolSpec]:
        c = self.client

        def bind(fn: Callable[[AsyncClient, Any], Awaitable[Any]]) -> Any:
            async def handler(args: BaseModel) -> Any:
                return await fn(c, args)

            return handler

        t = self.trader
        read = {"read_only": True, "destructive": False, "idempotent": True}
        preview = {"read_only": True, "destructive": False, "idempotent": False, "trading": True}
        write = {"read_only": False, "destructive": True, "idempotent": False, "trading": True}
        return [
            ToolSpec(
                "quote",
                "Bid, offer, spread, day range and status of one market. Read-only: changes "
                "nothing.",
                hl.QuoteArgs,
                bind(hl.quote),
                **read,
            ),
            ToolSpec(
                "history_summary",
                "OHLC statistics of a market over a time range (open, high, low, close, change, "
                "mean, volatility, up/down bars) from mid prices, instead of raw bars. Read-only: "
                "changes nothing.",
                hl.HistoryArgs,
                bind(hl.history_summary),
                **read,
            ),
            ToolSpec(
                "account_overview",
                "Accounts with balance, available funds and P&L; counts of open positions and "
                "working orders. Read-only: changes nothing.",
                hl.NoArgs,
                bind(hl.account_overview),
                **read,
            ),
            ToolSpec(
                "positions",
                "Open positions with open level, current level and profit/loss, and the total. "
                "Read-only: changes nothing.",
                hl.NoArgs,
                bind(hl.positions_with_pnl),
                **read,
            ),
            ToolSpec(
                "preview_open_position",
                "Step 1 of opening a position at market: checks the trading policy, prices the "
                "order and returns a single-use token (valid for a short time) bound to exactly "
                "these arguments. Sends nothing; changes nothing on the account.",
                hl.OpenArgs,
                t.preview_open,  # type: ignore[arg-type]
                **preview,
            ),
            ToolSpec(
                "execute_open_position",
                "Step 2: OPENS A POSITION (real exposure; real money on a live account) with the "
                "token of preview_open_position and the same arguments. Never re-sent: an "
                "unanswered order is reconciled and the verdict is placed, not_placed or unknown.",
                hl.ExecuteOpenArgs,
                t.execute_open,  # type: ignore[arg-type]
                **write,
            ),
            ToolSpec(
                "preview_close_position",
                "Step 1 of closing a whole position: shows its P&L and returns a single-use "
                "token for it. Sends nothing; changes nothing on the account.",
                hl.CloseArgs,
                t.preview_close,  # type: ignore[arg-type]
                **preview,
            ),
            ToolSpec(
                "execute_close_position",
                "Step 2: CLOSES THE POSITION at market with the token of preview_close_position "
                "(realises its P&L). Never re-sent: an unanswered close is reconciled.",
                hl.ExecuteCloseArgs,
                t.execute_close,  # type: ignore[arg-type]
                **write,
            ),
            ToolSpec(
                "settle_order",
                "Reconciles again an order an execute tool reported as unknown (its pending_id):"
                " placed / not_placed / still unknown. Reads only; never sends the order again.",
                hl.SettleArgs,
                t.settle,  # type: ignore[arg-type]
                read_only=True,
                destructive=False,
                idempotent=True,
                trading=True,
            ),
            *generated_tools(c, trading=self.options.trading),
        ]

    def list_tools(self) -> list[types.Tool]:
        """Every tool of the enabled tiers, with annotations."""
        return [spec.to_tool() for spec in self.tools.values()]

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """Run one tool; every outcome is journaled and comes back as JSON (secrets removed)."""
        arguments = dict(arguments or {})
        spec = self.tools.get(name)
        if spec is None:
            self.journal.write(name, arguments, "refused", reason="unknown tool")
            hint = "" if self.options.trading else " (trading tools need --trading)"
            return _result({"error": "unknown_tool", "message": f"no tool {name}{hint}"}, True)
        try:
            parsed = spec.arguments.model_validate(arguments)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                for e in exc.errors()
            ]
            self.journal.write(name, arguments, "refused", reason="bad arguments")
            return _result({"error": "bad_arguments", "problems": problems}, True)
        try:
            value = _plain(await spec.handler(parsed))
        except PolicyRefusal as exc:
            self.journal.write(name, arguments, "refused", rule=exc.rule, reason=exc.detail)
            return _result({"verdict": "refused", "rule": exc.rule, "reason": exc.detail}, True)
        except PolicyViolation as exc:  # the client's own safety layer, when the order was sent
            refusal = _refusal(exc)
            self.journal.write(name, arguments, "refused", rule=refusal.rule, reason=refusal.detail)
            return _result(
                {"verdict": "refused", "rule": refusal.rule, "reason": refusal.detail}, True
            )
        except TokenRefused as exc:
            self.journal.write(name, arguments, "refused", reason=str(exc))
            return _result({"verdict": "refused", "reason": str(exc)}, True)
        except (CapitalError, ValueError) as exc:
            self.journal.write(name, arguments, "error", error=type(exc).__name__, message=str(exc))
            return _result({"error": type(exc).__name__, "message": str(exc)}, True)
        except Exception as exc:
            log.exception("tool %s failed", name)
            self.journal.write(name, arguments, "error", error=type(exc).__name__)
            return _result({"error": type(exc).__name__, "message": "internal error"}, True)
        verdict = value.get("verdict", "ok") if isinstance(value, dict) else "ok"
        detail = {}
        if isinstance(value, dict):
            kept = ("deal_id", "deal_reference", "order", "reconciled", "cause", "reason")
            detail = {k: value[k] for k in kept if k in value}
        self.journal.write(name, arguments, str(verdict), **detail)
        return _result(value, verdict == "unknown")

    def server(self) -> Server[Any]:
        """The MCP server object (tools only: no resources, no prompts)."""

        async def on_list_tools(
            ctx: Any, params: types.PaginatedRequestParams | None
        ) -> types.ListToolsResult:
            return types.ListToolsResult(tools=self.list_tools())

        async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> Any:
            return await self.call(params.name, params.arguments)

        mode = self.options.mode
        tier = "trading enabled (inside the policy)" if self.options.trading else "read-only"
        instructions = (
            f"Capital.com via capitalcom-sdk; {mode} mode, {tier}. Orders are two steps: "
            "preview_* returns a token, execute_* spends it. Report an execute verdict exactly "
            "as returned (placed / not_placed / unknown); never retry an unknown one."
        )
        server: Server[Any] = Server(
            "capitalcom",
            instructions=instructions,
            on_list_tools=on_list_tools,
            on_call_tool=on_call_tool,
        )
        return server


def _result(value: Any, is_error: bool) -> types.CallToolResult:
    clean = scrub(value, tokens=False)
    text = json.dumps(clean, default=str, indent=1)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + "\n... (truncated: narrow the query)"
        clean = None
    structured = clean if isinstance(clean, dict) else None
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=structured,
        is_error=is_error,
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_http_bind(host: str, token: str | None) -> None:
    """Refuse to serve HTTP beyond loopback without a bearer token."""
    if not is_loopback(host) and not token:
        raise ValueError(
            f"--host {host} is reachable from other machines: set a bearer token "
            "(--http-token or CAPITAL_MCP_TOKEN) or bind to 127.0.0.1"
        )


class BearerGuard:
    """ASGI middleware: every request needs ``Authorization: Bearer <token>`` (constant time)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            scheme, _, given = header.partition(b" ")
            if scheme.lower() != b"bearer" or not _secrets.compare_digest(given, self._token):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error":"unauthorized"}'})
                return
        await self.app(scope, receive, send)


async def serve_stdio(app: CapitalMcp) -> None:
    """Serve over stdin/stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    server = app.server()
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http(app: CapitalMcp, host: str, port: int, token: str | None) -> None:
    """Serve streamable HTTP at ``/mcp``; beyond loopback only with a bearer token."""
    import uvicorn

    check_http_bind(host, token)
    asgi: Any = app.server().streamable_http_app(host=host)
    if token:
        asgi = BearerGuard(asgi, token)
    config = uvicorn.Config(asgi, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
