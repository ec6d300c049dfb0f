"""Request bodies of the REST endpoints, one model per body, declared in the endpoint table.

The resource functions validate the user's arguments first (``_validation``: errors name the
field the user gave), then build one of these models from the checked values; the endpoint
serialises it with :meth:`~capitalcom_sdk.models._base.RequestModel.to_wire`. Field order is
the order of the keys on the wire (the contract tests compare the bytes), ``None`` fields are
left out.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from capitalcom_sdk.models._base import RequestModel

__all__ = [
    "AddToWatchlistRequest",
    "CreateOrderRequest",
    "CreateWatchlistRequest",
    "LoginRequest",
    "OpenPositionRequest",
    "StopsAndProfits",
    "SwitchAccountRequest",
    "TopUpRequest",
    "UpdateOrderRequest",
    "UpdatePositionRequest",
    "UpdatePreferencesRequest",
]


class LoginRequest(RequestModel):
    """``POST /session``: the password (plain or encrypted) never shows in the repr."""

    identifier: str
    password: str = Field(repr=False)
    encrypted_password: bool


class SwitchAccountRequest(RequestModel):
    """``PUT /session``."""

    account_id: str


class UpdatePreferencesRequest(RequestModel):
    """``PUT /accounts/preferences``."""

    leverages: dict[str, int] | None = None
    hedging_mode: bool | None = None


class TopUpRequest(RequestModel):
    """``POST /accounts/topUp`` (demo accounts)."""

    amount: float


class StopsAndProfits(RequestModel):
    """The stop loss / take profit part shared by the trading writes (at most one of each
    family; checked by ``_validation.stops_and_profits``)."""

    stop_level: float | None = None
    stop_distance: float | None = None
    stop_amount: float | None = None
    profit_level: float | None = None
    profit_distance: float | None = None
    profit_amount: float | None = None
    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        """The body, with the stop/profit keys after the subclass's own (as the API shows)."""
        data = super().to_wire()
        for key in _STOP_KEYS:
            if key in data:
                data[key] = data.pop(key)
        return data


_STOP_KEYS = tuple(info.alias or name for name, info in StopsAndProfits.model_fields.items())


class OpenPositionRequest(StopsAndProfits):
    """``POST /positions``."""

    epic: str
    direction: str
    size: float


class UpdatePositionRequest(StopsAndProfits):
    """``PUT /positions/{dealId}``."""


class CreateOrderRequest(StopsAndProfits):
    """``POST /workingorders``."""

    epic: str
    direction: str
    size: float
    level: float
    type: str
    good_till_date: str | None = None


class UpdateOrderRequest(StopsAndProfits):
    """``PUT /workingorders/{dealId}``."""

    level: float | None = None
    good_till_date: str | None = None


class CreateWatchlistRequest(RequestModel):
    """``POST /watchlists``."""

    name: str
    epics: list[str] | None = None


class AddToWatchlistRequest(RequestModel):
    """``PUT /watchlists/{watchlistId}``."""

    epic: str
