"""``client.session``: log in (plain or encrypted), session details."""

from __future__ import annotations

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk.models.session import EncryptionKey, LoginResponse, SessionDetails
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


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
