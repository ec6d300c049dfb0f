"""Pure request builders and flows of the trading endpoints (positions, working orders, confirms).

A trading write answers with a deal reference only; its outcome comes from
``GET /confirms/{dealReference}``. :func:`deal_flow` sends the write, then polls the confirm with
bounded exponential backoff (a 404 ``error.not-found.dealReference`` means "not yet") until it
exists or the timeout passes. Both clients run the same flow. Once the write was sent, every
failure but a REJECTED confirm is :class:`~capitalcom_sdk.errors.OrderOutcomeUnknown`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypedDict

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk._clock import Clock, WallClock
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._flow import Flow, OrderWrite, SentWrite, Sleep
from capitalcom_sdk._intent import DealRegistry
from capitalcom_sdk._transport import DEFAULT_CONFIRM_TIMEOUT
from capitalcom_sdk.errors import (
    CapitalError,
    DealRejectedError,
    NetworkError,
    NotFoundError,
    OrderOutcomeUnknown,
    RequestValidationError,
)
from capitalcom_sdk.models.enums import DealStatus, Direction, OrderType
from capitalcom_sdk.models.general import DealReference
from capitalcom_sdk.models.requests import (
    CreateOrderRequest,
    OpenPositionRequest,
    UpdateOrderRequest,
    UpdatePositionRequest,
)
from capitalcom_sdk.models.trading import Confirm

CONFIRM_FIRST_DELAY = 0.05
CONFIRM_MAX_DELAY = 1.0
CONFIRM_NOT_YET = "error.not-found.dealReference"


class StopOptions(TypedDict, total=False):
    """Stop loss / take profit options of the trading writes (at most one of each family)."""

    stop_level: float
    stop_distance: float
    stop_amount: float
    profit_level: float
    profit_distance: float
    profit_amount: float
    guaranteed_stop: bool
    trailing_stop: bool


def _stops(options: StopOptions) -> dict[str, Any]:
    """The checked stop/profit options by wire name (the request models accept those)."""
    return check.stops_and_profits(**options)


def open_position(
    epic: str, direction: Direction | str, size: float, options: StopOptions
) -> ApiCall[DealReference]:
    """``POST /positions`` after validation."""
    body = OpenPositionRequest(
        epic=check.epic(epic),
        direction=check.direction(direction),
        size=check.size(size),
        **_stops(options),
    )
    return ep.OPEN_POSITION.call(body=body)


def update_position(deal_id: str, options: StopOptions) -> ApiCall[DealReference]:
    """``PUT /positions/{dealId}`` after validation; at least one option is required."""
    deal = check.identifier(deal_id, "dealId")
    stops = _stops(options)
    if not stops:
        raise RequestValidationError("body", "nothing to update: give a stop/profit option")
    return ep.UPDATE_POSITION.call({"dealId": deal}, body=UpdatePositionRequest(**stops))


def close_position(deal_id: str) -> ApiCall[DealReference]:
    """``DELETE /positions/{dealId}``."""
    return ep.CLOSE_POSITION.call({"dealId": check.identifier(deal_id, "dealId")})


def create_order(
    epic: str,
    direction: Direction | str,
    size: float,
    level: float,
    order_type: OrderType | str,
    good_till_date: datetime | None,
    options: StopOptions,
    now: datetime | None = None,
) -> ApiCall[DealReference]:
    """``POST /workingorders`` after validation (``goodTillDate`` aware and in the future)."""
    fields: dict[str, Any] = {
        "epic": check.epic(epic),
        "direction": check.direction(direction),
        "size": check.size(size),
        "level": check.positive(level, "level"),
        "type": check.order_type(order_type),
    }
    if good_till_date is not None:
        fields["goodTillDate"] = check.good_till_date(
            good_till_date, now or datetime.now(UTC)
        )  # the resources pass the client's now
    fields.update(_stops(options))
    check.sides_of_level(fields, fields["direction"], fields["level"])
    return ep.CREATE_ORDER.call(body=CreateOrderRequest(**fields))


def update_order(
    deal_id: str,
    level: float | None,
    good_till_date: datetime | None,
    options: StopOptions,
    now: datetime | None = None,
) -> ApiCall[DealReference]:
    """``PUT /workingorders/{dealId}`` after validation; at least one field is required."""
    deal = check.identifier(deal_id, "dealId")
    fields: dict[str, Any] = {}
    if level is not None:
        fields["level"] = check.positive(level, "level")
    if good_till_date is not None:
        fields["goodTillDate"] = check.good_till_date(
            good_till_date, now or datetime.now(UTC)
        )  # the resources pass the client's now
    fields.update(_stops(options))
    if not fields:
        raise RequestValidationError("body", "nothing to update")
    return ep.UPDATE_ORDER.call({"dealId": deal}, body=UpdateOrderRequest(**fields))


def delete_order(deal_id: str) -> ApiCall[DealReference]:
    """``DELETE /workingorders/{dealId}``."""
    return ep.DELETE_ORDER.call({"dealId": check.identifier(deal_id, "dealId")})


def get_confirm(deal_reference: str) -> ApiCall[Confirm]:
    """``GET /confirms/{dealReference}``."""
    reference = check.identifier(deal_reference, "dealReference")
    return ep.CONFIRM.call({"dealReference": reference})


def confirm_flow(
    deal_reference: str,
    *,
    timeout: float = DEFAULT_CONFIRM_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,  # no client given: the wall clock
) -> Flow[Confirm]:
    """Poll the confirmation of ``deal_reference`` until it exists (``timeout`` seconds on
    ``clock``, the client's ``clock.monotonic``: its waits are ``Sleep`` on the same clock).

    Raises:
        DealRejectedError: the confirm says REJECTED (``.confirm`` holds it).
        ConfirmNotYet: no confirm within ``timeout`` seconds.
    """
    call = get_confirm(deal_reference)
    deadline = clock() + timeout
    delay = CONFIRM_FIRST_DELAY
    while True:
        try:
            confirm: Confirm = yield call
        except NotFoundError as exc:
            if exc.error_code != CONFIRM_NOT_YET:
                raise
            remaining = deadline - clock()
            if remaining <= 0:
                raise ConfirmNotYet(
                    f"no confirmation for {deal_reference} within {timeout:g} s"
                ) from None
            yield Sleep(min(delay, remaining))
            delay = min(delay * 2, CONFIRM_MAX_DELAY)
            continue
        if confirm.deal_status == DealStatus.REJECTED:
            raise DealRejectedError(deal_reference, confirm.rejection_reason, confirm)
        return confirm


class ConfirmNotYet(NetworkError):
    """No confirmation within the confirm timeout (``confirms.wait``; a write makes it
    :class:`~capitalcom_sdk.errors.OrderOutcomeUnknown`)."""


def placed_deal_ids(confirm: Confirm) -> list[str]:
    """The deals a placement's confirmation names: the order id and the opened positions."""
    return [d for d in (confirm.deal_id, *confirm.opened_deal_ids) if d]


def deal_flow(
    call: ApiCall[DealReference],
    *,
    confirm: bool,
    timeout: float,
    registry: DealRegistry | None = None,
    clock: Clock | None = None,
) -> Flow[Confirm | DealReference]:
    """Send a trading write; then, when ``confirm``, wait for and return its confirmation.

    Once the write was answered
    with a deal reference, any failure other than the confirm saying REJECTED (a 5xx, a dropped
    connection, a timeout, a 401/404/400, no confirm in time, a garbled answer) raises
    :class:`~capitalcom_sdk.errors.OrderOutcomeUnknown` carrying the reference: the write is on
    the server's side. A placement's confirmed deals are recorded in ``registry``. The
    confirm timeout and the give-up time are on ``clock``, the client's (default the wall
    clock): simulated seconds in a backtest.
    """
    clock = clock or WallClock()
    sent: SentWrite = yield OrderWrite(call)
    intent = sent.intent.answered(sent.reference.deal_reference)
    if not confirm:
        return sent.reference
    try:
        result = yield from confirm_flow(
            intent.deal_reference or "", timeout=timeout, clock=clock.monotonic
        )
    except DealRejectedError:
        raise
    except CapitalError as exc:
        gave_up = intent.given_up(clock.time())
        if registry is not None:
            registry.unsettled(gave_up)
        raise OrderOutcomeUnknown(gave_up, f"confirmation poll failed: {exc}") from exc
    if registry is not None and intent.placement:
        registry.attribute(placed_deal_ids(result), intent)
    return result
