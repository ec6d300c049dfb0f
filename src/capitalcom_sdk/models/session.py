"""Models of the /session endpoints."""

from __future__ import annotations

from pydantic import Field

from capitalcom_sdk.models._base import WireModel
from capitalcom_sdk.models._open import OpenAccountType


class AccountBalance(WireModel):
    """Balance block of an account."""

    balance: float
    deposit: float
    profit_loss: float
    available: float


class SessionAccount(WireModel):
    """An account as listed in the login response (2022 examples carry only the first four)."""

    account_id: str
    account_name: str
    preferred: bool
    account_type: OpenAccountType
    currency: str | None = None
    symbol: str | None = None
    balance: AccountBalance | None = None


class LoginResponse(WireModel):
    """``POST /session``: the logged-in client, its accounts and the streaming host."""

    account_type: OpenAccountType
    account_info: AccountBalance
    currency_iso_code: str
    currency_symbol: str
    current_account_id: str
    streaming_host: str
    accounts: list[SessionAccount] = Field(default_factory=list)
    client_id: str
    timezone_offset: int
    has_active_demo_accounts: bool
    has_active_live_accounts: bool
    trailing_stops_enabled: bool


class SessionDetails(WireModel):
    """``GET /session``."""

    client_id: str
    account_id: str
    timezone_offset: int
    locale: str
    currency: str
    stream_endpoint: str


class EncryptionKey(WireModel):
    """``GET /session/encryptionKey``: base64 DER RSA public key and the timestamp to sign."""

    encryption_key: str
    time_stamp: int


class SwitchAccountResponse(WireModel):
    """``PUT /session``: flags of the account switched to."""

    trailing_stops_enabled: bool | None = None
    dealing_enabled: bool | None = None
    has_active_demo_accounts: bool | None = None
    has_active_live_accounts: bool | None = None
