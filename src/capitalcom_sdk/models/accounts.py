"""Models of the /accounts endpoints."""

from __future__ import annotations

from pydantic import Field

from capitalcom_sdk.models._base import ListModel, TableExport, WireModel
from capitalcom_sdk.models._open import OpenAccountStatus, OpenAccountType, OpenLeverageGroup
from capitalcom_sdk.models.session import AccountBalance


class Account(WireModel):
    """A financial account of the client (``GET /accounts``)."""

    account_id: str
    account_name: str
    status: OpenAccountStatus | None = None
    account_type: OpenAccountType | None = None
    preferred: bool = False
    balance: AccountBalance | None = None
    currency: str | None = None
    symbol: str | None = None


class Accounts(ListModel[Account], TableExport):
    """``GET /accounts``; iterates over the accounts."""

    items_field = "accounts"

    accounts: list[Account] = Field(default_factory=list)


class Leverage(WireModel):
    """Current and available leverages of one instrument group."""

    current: int
    available: list[int] = Field(default_factory=list)


class Preferences(WireModel):
    """``GET /accounts/preferences``: hedging mode and leverage per instrument group."""

    hedging_mode: bool
    leverages: dict[OpenLeverageGroup, Leverage] = Field(default_factory=dict)


class TopUpResult(WireModel):
    """``POST /accounts/topUp``."""

    successful: bool
