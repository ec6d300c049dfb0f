"""``client.session``: log in (plain or encrypted), session details, account switch, logout."""

from __future__ import annotations

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk.models.general import StatusResponse
from capitalcom_sdk.models.requests import SwitchAccountRequest
from capitalcom_sdk.models.session import (
    EncryptionKey,
    LoginResponse,
    SessionDetails,
    SwitchAccountResponse,
)
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


def switch_account_call(account_id: str) -> ApiCall[SwitchAccountResponse]:
    """``PUT /session`` after validation."""
    body = SwitchAccountRequest(account_id=check.identifier(account_id, "accountId"))
    return ep.SWITCH_ACCOUNT.call(body=body)


class Session(SyncResource):
    def encryption_key(self) -> EncryptionKey:
        """The RSA public key and timestamp for an encrypted-password login."""
        return self._call(ep.ENCRYPTION_KEY.call())

    def details(self) -> SessionDetails:
        """The active session: client, active account, locale, streaming endpoint."""
        return self._call(ep.SESSION_DETAILS.call())

    def login(self, encrypted: bool | None = None) -> LoginResponse:
        """Log in now (the client also logs in lazily on the first call that needs it)."""
        if encrypted is not None:
            self._transport.core.encrypted = encrypted
        return self._transport.login()

    def switch_account(self, account_id: str) -> SwitchAccountResponse:
        """Make ``account_id`` the active account (stops streaming subscriptions)."""
        return self._call(switch_account_call(account_id))

    def logout(self) -> StatusResponse:
        """End the session; the tokens are dropped (a later call logs in again)."""
        return self._call(ep.LOGOUT.call())


class AsyncSession(AsyncResource):
    async def encryption_key(self) -> EncryptionKey:
        """The RSA public key and timestamp for an encrypted-password login."""
        return await self._call(ep.ENCRYPTION_KEY.call())

    async def details(self) -> SessionDetails:
        """The active session: client, active account, locale, streaming endpoint."""
        return await self._call(ep.SESSION_DETAILS.call())

    async def login(self, encrypted: bool | None = None) -> LoginResponse:
        """Log in now (the client also logs in lazily on the first call that needs it)."""
        if encrypted is not None:
            self._transport.core.encrypted = encrypted
        return await self._transport.login()

    async def switch_account(self, account_id: str) -> SwitchAccountResponse:
        """Make ``account_id`` the active account (stops streaming subscriptions)."""
        return await self._call(switch_account_call(account_id))

    async def logout(self) -> StatusResponse:
        """End the session; the tokens are dropped (a later call logs in again)."""
        return await self._call(ep.LOGOUT.call())
