"""Helpers shared by the command modules: file exports and rendering of confirmations."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capitalcom_sdk.cli._output import jsonable, key_values
from capitalcom_sdk.cli._state import CliState
from capitalcom_sdk.errors import CapitalError, NetworkError, OrderOutcomeUnknown


def export(
    state: CliState, result: Any, kind: Any, csv: Path | None, parquet: Path | None
) -> dict[str, str]:
    """Write the rows of ``result`` to the requested files; returns {format: path}."""
    from capitalcom_sdk import data

    written: dict[str, str] = {}
    if csv is not None:
        count = data.write_csv(result, csv, kind=kind)
        written["csv"] = str(csv)
        state.output.note(f"wrote {count} rows to [bold]{csv}[/]")
    if parquet is not None:
        count = data.write_parquet(result, parquet, kind=kind)
        written["parquet"] = str(parquet)
        state.output.note(f"wrote {count} rows to [bold]{parquet}[/]")
    return written


def render_deal(console: Any, title: str, result: Any) -> None:
    """A confirmation (or a bare deal reference with ``--no-wait``) for people."""
    if not hasattr(result, "deal_status"):
        console.print(f"{title}: sent, deal reference [bold]{result.deal_reference}[/]")
        return
    status = str(getattr(result.deal_status, "value", result.deal_status))
    colour = "green" if status == "ACCEPTED" else "red"
    console.print(f"{title}: [{colour}]{status}[/]")
    rows = [
        ("deal reference", result.deal_reference),
        ("deal id", result.deal_id),
        ("epic", result.epic),
        ("direction", result.direction),
        ("size", result.size),
        ("level", result.level),
        ("stop level", result.stop_level),
        ("profit level", result.profit_level),
        ("status", result.status),
        ("reason", result.reason),
    ]
    opened = getattr(result, "opened_deal_ids", [])
    if opened:
        rows.append(("position", ", ".join(opened)))
    console.print(key_values(None, [(k, v) for k, v in rows if v is not None]))


def untyped(method: Callable[..., Any]) -> Callable[..., Any]:
    """A trading method called with runtime values (``confirm`` as a bool, options as a dict)
    that its Literal-typed overloads cannot express statically."""
    return method


LATE_APPLY_WINDOW_ENV = "CAPITAL_LATE_APPLY_WINDOW"


def _late_apply_window() -> float:
    """Seconds a lost write may still be applied (``CAPITAL_LATE_APPLY_WINDOW``, default 30)."""
    from capitalcom_sdk._settings import DEFAULT_LATE_APPLY_WINDOW
    from capitalcom_sdk.errors import ConfigurationError

    raw = os.environ.get(LATE_APPLY_WINDOW_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_LATE_APPLY_WINDOW
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 3600.0:
        raise ConfigurationError(f"{LATE_APPLY_WINDOW_ENV}: expected seconds between 0 and 3600")
    return value


def send_trade(state: CliState, client: Any, title: str, send: Callable[[], Any]) -> None:
    """Run a trading write and show its confirmation; after a lost answer, what reconcile says."""
    try:
        result = send()
    except OrderOutcomeUnknown as exc:
        settled = settle_unknown(state, client, exc)
        state.output.result(settled, lambda console: render_settled(console, settled))
        return
    state.output.result(result, lambda console: render_deal(console, title, result))


def settle_unknown(state: CliState, client: Any, exc: OrderOutcomeUnknown) -> dict[str, Any]:
    """After an order write whose answer was lost, ask the SDK whether it was applied.

    Waits out the window in which the write could still be applied late. Returns the
    reconciled deal when it was applied; raises :class:`NetworkError` (exit 7) when it was not
    (sending again is safe) and re-raises ``exc`` (exit 8) when that cannot be told.
    """
    intent = exc.intent
    placement = intent.placement
    what = "the order" if placement else f"the {intent.endpoint.name.replace('.', ' ')}"
    try:
        window = _late_apply_window()
    except CapitalError as bad:
        raise type(bad)(f"{bad}; {what} was sent and its outcome is unknown: check") from exc
    state.output.note(
        f"[yellow]{what} was sent but its answer was lost; checking whether it was applied"
        f" (a write may still be applied up to {window:g} s after the client gave up)[/]"
    )
    try:
        found = client.reconcile(exc, late_apply_window=window, wait=True)
    except CapitalError:
        raise exc from None
    status = str(getattr(found.status, "value", found.status))
    if status == "NOT_PLACED":
        outcome = "not placed" if placement else "not applied"
        raise NetworkError(
            f"{what} was {outcome} (its answer was lost); sending it again is safe"
        ) from exc
    if status != "FOUND":
        if found.candidates:
            state.output.note(f"{len(found.candidates)} deals match what was sent: check them")
        raise exc
    return {
        "reconciled": {
            "status": status,
            "dealId": found.deal_id,
            "position": jsonable(found.position),
            "workingOrder": jsonable(found.working_order),
            "activity": jsonable(found.activity),
        }
    }


def render_settled(console: Any, data: dict[str, Any]) -> None:
    """A reconciled order for people."""
    console.print(
        f"[green]applied[/]: deal [bold]{data['reconciled']['dealId']}[/] "
        "(found after the answer was lost)"
    )
