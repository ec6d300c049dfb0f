"""An MCP server over the SDK: ``capitalcom mcp`` (extra ``capitalcom-sdk[mcp]``).

Read-only by default; trading tools only with ``trading=True``, inside an order policy and a
preview/execute step with single-use tokens; practice against the embedded simulator unless a
server is configured. See docs/mcp.md.
"""

from __future__ import annotations

try:
    import mcp as _mcp  # noqa: F401 - only checking that the optional dependency is there
except ImportError as exc:  # pragma: no cover - exercised by the CLI test in a clean env
    raise ImportError(
        "the MCP server needs the official mcp package: pip install 'capitalcom-sdk[mcp]'"
    ) from exc

from capitalcom_sdk.mcp._policy import BuiltinPolicy, OrderPolicy, PolicyRefusal, ProposedOrder
from capitalcom_sdk.mcp._run import McpConfig, build, run
from capitalcom_sdk.mcp._server import CapitalMcp, ServerOptions
from capitalcom_sdk.mcp._tokens import PreviewTokens, TokenRefused

__all__ = [
    "BuiltinPolicy",
    "CapitalMcp",
    "McpConfig",
    "OrderPolicy",
    "PolicyRefusal",
    "PreviewTokens",
    "ProposedOrder",
    "ServerOptions",
    "TokenRefused",
    "build",
    "run",
]
