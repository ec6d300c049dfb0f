"""What an order write's declared call says: its body, the deal it names, the deals confirmed.

Pure helpers shared by the guard's checks, policy, journal and recovery.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk.models.trading import Confirm


def body_of(call: ApiCall[Any]) -> dict[str, Any]:
    """The call's JSON body as a dict (wire names; empty without a body)."""
    body: Any = call.body
    if body is None:
        return {}
    if hasattr(body, "model_dump"):
        return dict(body.model_dump(by_alias=True, exclude_none=True))
    return dict(body)


def deal_id_of_path(path: str) -> str:
    """The deal id a ``/positions/{dealId}`` or ``/workingorders/{dealId}`` path names."""
    return unquote(path.rstrip("/").rsplit("/", 1)[-1])


def deal_id_of(call: ApiCall[Any]) -> str:
    """The deal id the call's path names."""
    return deal_id_of_path(call.path)


def with_body(call: ApiCall[Any], body: dict[str, Any]) -> ApiCall[Any]:
    """The placement ``call`` with another body (rebuilt, so its request model matches)."""
    try:
        return call.endpoint.call(body=body)
    except TypeError:  # an endpoint without a body model: keep the call's shape
        return replace(call, body=body)


def confirm_deal_ids(confirm: Confirm) -> list[str]:
    """The deals a confirmation names: the affected ones (a position's), else its own id (a
    working order's; for a market order it is the order's, not the position's)."""
    ids = [d.deal_id for d in confirm.affected_deals if d.deal_id]
    if not ids and confirm.deal_id:
        ids.append(confirm.deal_id)
    return ids
