"""Tool declarations: one per endpoint of the table that an assistant may call, plus a few
higher-level tools. Annotations and the "what it changes" sentence come from the table.
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from pydantic import BaseModel, ConfigDict, create_model

from capitalcom_sdk._endpoints import ENDPOINTS, Endpoint, SessionEffect

Handler = Callable[[BaseModel], Awaitable[Any]]

# Parameters of the SDK methods that make no sense across MCP (callbacks, deprecated spellings).
_SKIPPED_PARAMETERS = frozenset({"self", "progress", "max", "confirm", "confirm_timeout"})


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool: its schema, annotations and the coroutine that serves it."""

    name: str
    description: str
    arguments: type[BaseModel]
    handler: Handler
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool = True
    trading: bool = False  # part of the trading tier (listed only with --trading)

    def to_tool(self) -> types.Tool:
        schema = self.arguments.model_json_schema()
        schema.pop("title", None)
        return types.Tool(
            name=self.name,
            description=self.description,
            input_schema=schema,
            annotations=types.ToolAnnotations(
                title=self.name.replace("_", " "),
                read_only_hint=self.read_only,
                destructive_hint=self.destructive,
                idempotent_hint=self.idempotent,
                open_world_hint=self.open_world,
            ),
        )


def owns_session(endpoint: Endpoint[Any]) -> bool:
    """Whether the table marks the endpoint as logging in or changing the session (account
    switch, logout): never exposed, the server holds the one session of the assistant."""
    return endpoint.login or endpoint.session is not SessionEffect.NONE


def exposed_endpoints(trading: bool) -> list[Endpoint[Any]]:
    """The endpoints served as generated tools.

    Never: order writes (they go through preview and execute), logging in and anything that
    changes the session (the server holds one session for the assistant). Writes that are not
    orders (watchlists, preferences, top-up) only in the trading tier.
    """
    chosen = []
    for endpoint in ENDPOINTS:
        if endpoint.order_write or owns_session(endpoint):
            continue
        if endpoint.method != "GET" and not trading:
            continue
        chosen.append(endpoint)
    return chosen


def annotations_of(endpoint: Endpoint[Any]) -> tuple[bool, bool, bool]:
    """(read-only, destructive, idempotent) as the table says them."""
    read_only = endpoint.method == "GET"
    destructive = not read_only and (endpoint.method in {"PUT", "DELETE"} or endpoint.order_write)
    return read_only, destructive, endpoint.safe


def change_sentence(endpoint: Endpoint[Any]) -> str:
    """The sentence of a description that says what calling the tool changes."""
    where = f"{endpoint.method} {endpoint.full_path}"
    if endpoint.method == "GET":
        return f"Read-only ({where}): changes nothing."
    verb = {"POST": "Creates", "PUT": "Overwrites", "DELETE": "Deletes"}[endpoint.method]
    repeat = "" if endpoint.safe else " Not safe to repeat blindly: each call acts again."
    return f"CHANGES the account ({where}): {verb} on the server.{repeat}"


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def _first_paragraph(doc: str | None) -> str:
    """The docstring's first paragraph as plain text (reST roles and literals unwrapped)."""
    text = " ".join(inspect.cleandoc(doc or "").split("\n\n")[0].split())
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return text.replace("``", "`")


def _docstring(method: Callable[..., Any]) -> str | None:
    """The method's docstring; an async method that only points at its sync twin ("see
    Prices.history") gets the twin's (same parameters, same behaviour)."""
    owner = type(getattr(method, "__self__", None))
    twin_class = getattr(
        sys.modules.get(owner.__module__), owner.__name__.removeprefix("Async"), None
    )
    twin = getattr(twin_class, getattr(method, "__name__", ""), None)
    own = method.__doc__ or ""
    if twin is not None and twin.__doc__ and (not own or re.search(r"\(see\s+:meth:", own)):
        return str(twin.__doc__)
    return own


def _hints(method: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(method)
    except NameError:  # an annotation only importable under TYPE_CHECKING (a callback type)
        namespace = dict(getattr(method, "__globals__", {}))
        hints: dict[str, Any] = {}
        for name, text in getattr(method, "__annotations__", {}).items():
            try:
                hints[name] = eval(text, namespace) if isinstance(text, str) else text  # noqa: S307
            except NameError:
                hints[name] = Any
        return hints


def arguments_model(name: str, method: Callable[..., Any]) -> type[BaseModel]:
    """A pydantic model of a public SDK method's parameters (its JSON schema is the input)."""
    hints = _hints(method)
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(method).parameters.values():
        if parameter.name in _SKIPPED_PARAMETERS or parameter.kind in (
            inspect.Parameter.VAR_KEYWORD,
            inspect.Parameter.VAR_POSITIONAL,
        ):
            continue
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    model: type[BaseModel] = create_model(
        f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def endpoint_tool(endpoint: Endpoint[Any], method: Callable[..., Awaitable[Any]]) -> ToolSpec:
    """The tool of one endpoint, served by the client method of the same ``area.operation``."""
    name = endpoint.name.replace(".", "_")
    model = arguments_model(name, method)
    read_only, destructive, idempotent = annotations_of(endpoint)
    description = f"{_first_paragraph(_docstring(method))} {change_sentence(endpoint)}".strip()

    async def handler(arguments: BaseModel) -> Any:
        return await method(**{k: getattr(arguments, k) for k in arguments.model_fields_set})

    return ToolSpec(
        name=name,
        description=description,
        arguments=model,
        handler=handler,
        read_only=read_only,
        destructive=destructive,
        idempotent=idempotent,
        trading=not read_only,
    )


def generated_tools(client: Any, trading: bool) -> list[ToolSpec]:
    """Tools of :func:`exposed_endpoints`, each calling ``client.<area>.<operation>``.

    An endpoint whose operation has no method of that name is served by another tool (e.g.
    ``markets.navigation_node`` is ``markets_navigation`` with ``node_id``) and is skipped.
    """
    tools = []
    for endpoint in exposed_endpoints(trading):
        area, _, operation = endpoint.name.partition(".")
        method = getattr(getattr(client, area, None), operation, None)
        if method is None or not inspect.iscoroutinefunction(method):
            continue
        tools.append(endpoint_tool(endpoint, method))
    return tools
