"""``client.accounts``: accounts, preferences (leverage, hedging), demo top-up."""

from __future__ import annotations

from collections.abc import Mapping

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk.errors import RequestValidationError
from capitalcom_sdk.models import accounts as models
from capitalcom_sdk.models.accounts import Preferences, TopUpResult
from capitalcom_sdk.models.general import StatusResponse
from capitalcom_sdk.models.requests import TopUpRequest, UpdatePreferencesRequest
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


def update_preferences_call(
    leverages: Mapping[str, int] | None, hedging_mode: bool | None
) -> ApiCall[StatusResponse]:
    """``PUT /accounts/preferences`` after validation; at least one argument is required."""
    checked: dict[str, int] | None = None
    if leverages is not None:
        checked = check.leverages(leverages)
    if hedging_mode is not None and not isinstance(hedging_mode, bool):
        raise RequestValidationError("hedgingMode", f"must be a bool, got {hedging_mode!r}")
    if checked is None and hedging_mode is None:
        raise RequestValidationError("body", "give leverages and/or hedging_mode")
    body = UpdatePreferencesRequest(leverages=checked, hedging_mode=hedging_mode)
    return ep.UPDATE_PREFERENCES.call(body=body)


def top_up_call(amount: float) -> ApiCall[TopUpResult]:
    """``POST /accounts/topUp`` after validation."""
    return ep.TOP_UP.call(body=TopUpRequest(amount=check.top_up_amount(amount)))


class Accounts(SyncResource):
    def list(self) -> models.Accounts:
        """The client's financial accounts with balances."""
        return self._call(ep.ACCOUNTS.call())

    def preferences(self) -> Preferences:
        """Hedging mode and leverage (current and available) per instrument group."""
        return self._call(ep.PREFERENCES.call())

    def update_preferences(
        self, *, leverages: Mapping[str, int] | None = None, hedging_mode: bool | None = None
    ) -> StatusResponse:
        """Change leverages (group -> one of its available values) and/or hedging mode."""
        return self._call(update_preferences_call(leverages, hedging_mode))

    def top_up(self, amount: float) -> TopUpResult:
        """Add to (or, negative, subtract from) the active demo account's balance."""
        return self._call(top_up_call(amount))


class AsyncAccounts(AsyncResource):
    async def list(self) -> models.Accounts:
        """The client's financial accounts with balances."""
        return await self._call(ep.ACCOUNTS.call())

    async def preferences(self) -> Preferences:
        """Hedging mode and leverage (current and available) per instrument group."""
        return await self._call(ep.PREFERENCES.call())

    async def update_preferences(
        self, *, leverages: Mapping[str, int] | None = None, hedging_mode: bool | None = None
    ) -> StatusResponse:
        """Change leverages (group -> one of its available values) and/or hedging mode."""
        return await self._call(update_preferences_call(leverages, hedging_mode))

    async def top_up(self, amount: float) -> TopUpResult:
        """Add to (or, negative, subtract from) the active demo account's balance."""
        return await self._call(top_up_call(amount))
