"""Trading writes wait for their confirmation: polling on 404, REJECTED raises, timeout."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from capitalcom_sdk import (
    AsyncClient,
    Client,
    Confirm,
    DealReference,
    DealRejectedError,
    OrderOutcomeUnknown,
)
from tests.sdk.surface.conftest import CREDENTIALS
from tests.sdk.surface.test_pagination_units import _login

REFERENCE = "o_98c0de50-9cd5-4481-8d81-890c525eeb49"


def _confirm(status: str = "ACCEPTED", **extra: Any) -> dict[str, Any]:
    return {
        "date": "2022-04-06T07:32:19.193",
        "status": "OPEN",
        "dealStatus": status,
        "epic": "SILVER",
        "dealReference": REFERENCE,
        "dealId": "006011e7-0001-54c4-0000-000080560043",
        "affectedDeals": [{"dealId": "006011e7-0001-54c4-0000-000080560045", "status": "OPENED"}],
        "level": 24.285,
        "size": 1,
        "direction": "BUY",
        **extra,
    }


class FakeDealer:
    """POST /positions answers a reference; the confirm appears after ``pending`` polls."""

    def __init__(self, pending: int, confirm: dict[str, Any] | None) -> None:
        self.pending = pending
        self.confirm = confirm
        self.paths: list[str] = []
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        early = _login(request)
        if early is not None:
            return early
        self.paths.append(f"{request.method} {request.url.path}")
        if request.method != "GET":
            self.bodies.append(json.loads(request.content or b"{}"))
            return httpx.Response(200, json={"dealReference": REFERENCE})
        if self.pending > 0 or self.confirm is None:
            self.pending -= 1
            return httpx.Response(404, json={"errorCode": "error.not-found.dealReference"})
        return httpx.Response(200, json=self.confirm)


def _sync(dealer: FakeDealer, **options: Any) -> Client:
    return Client(
        **CREDENTIALS,
        base_url="http://sdk.test",
        transport=httpx.MockTransport(dealer),
        rate_limit=False,
        **options,
    )


def _async(dealer: FakeDealer, **options: Any) -> AsyncClient:
    return AsyncClient(
        **CREDENTIALS,
        base_url="http://sdk.test",
        transport=httpx.MockTransport(dealer),
        rate_limit=False,
        **options,
    )


def test_open_polls_until_the_confirm_exists() -> None:
    dealer = FakeDealer(pending=3, confirm=_confirm())
    with _sync(dealer) as client:
        confirm = client.positions.open("SILVER", "buy", 1, stop_distance=2)
    assert isinstance(confirm, Confirm)
    assert confirm.opened_deal_ids == ["006011e7-0001-54c4-0000-000080560045"]
    assert dealer.paths.count("POST /api/v1/positions") == 1
    assert dealer.paths.count(f"GET /api/v1/confirms/{REFERENCE}") == 4
    assert dealer.bodies == [
        {"epic": "SILVER", "direction": "BUY", "size": 1.0, "stopDistance": 2.0}
    ]


async def test_async_open_polls_until_the_confirm_exists() -> None:
    dealer = FakeDealer(pending=2, confirm=_confirm())
    async with _async(dealer) as client:
        confirm = await client.positions.open("SILVER", "BUY", 1)
    assert confirm.accepted
    assert dealer.paths.count(f"GET /api/v1/confirms/{REFERENCE}") == 3


def test_rejected_deal_raises_with_reason_and_confirm() -> None:
    dealer = FakeDealer(pending=0, confirm=_confirm("REJECTED", rejectReason="INSUFFICIENT_FUNDS"))
    with _sync(dealer) as client, pytest.raises(DealRejectedError) as caught:
        client.orders.create("SILVER", "BUY", 1, 20, "LIMIT")
    assert caught.value.reason == "INSUFFICIENT_FUNDS"
    assert isinstance(caught.value.confirm, Confirm)
    assert caught.value.deal_reference == REFERENCE


async def test_async_rejected_deal_uses_legacy_reason_field() -> None:
    dealer = FakeDealer(pending=0, confirm=_confirm("REJECTED", reason="MARKET_CLOSED"))
    async with _async(dealer) as client:
        with pytest.raises(DealRejectedError, match="MARKET_CLOSED"):
            await client.positions.open("SILVER", "SELL", 1)


def test_missing_confirm_times_out_as_outcome_unknown_without_resending() -> None:
    dealer = FakeDealer(pending=10**6, confirm=None)
    before = time.time()
    with _sync(dealer) as client, pytest.raises(OrderOutcomeUnknown) as caught:
        client.positions.open("SILVER", "BUY", 1, confirm_timeout=0.3)
    # reconcile() searches from sent_at: it must be the moment of sending, not of giving up
    assert before <= caught.value.sent_at <= before + 0.25
    assert caught.value.endpoint == "positions.open"
    assert caught.value.method == "POST"
    assert dealer.paths.count("POST /api/v1/positions") == 1
    assert REFERENCE in str(caught.value)
    assert caught.value.body == {"epic": "SILVER", "direction": "BUY", "size": 1.0}


def test_confirm_timeout_comes_from_the_client_option() -> None:
    dealer = FakeDealer(pending=10**6, confirm=None)
    with _sync(dealer, confirm_timeout=0.2) as client, pytest.raises(OrderOutcomeUnknown):
        client.positions.close("006011e7-0001-54c4-0000-000080560045")
    polls = dealer.paths.count(f"GET /api/v1/confirms/{REFERENCE}")
    assert 2 <= polls <= 6  # backoff 50, 100, 200 ms ... bounded by 0.2 s


def test_confirm_false_returns_the_reference_only() -> None:
    dealer = FakeDealer(pending=0, confirm=_confirm())
    with _sync(dealer) as client:
        reference = client.positions.open("SILVER", "BUY", 1, confirm=False)
    assert isinstance(reference, DealReference)
    assert reference.deal_reference == REFERENCE
    assert dealer.paths == ["POST /api/v1/positions"]


def test_other_404_of_the_confirm_poll_is_an_unknown_outcome_with_the_reference() -> None:
    """The write was answered: a failing poll says nothing about the deal (issue 12 item 1)."""

    def handler(request: httpx.Request) -> httpx.Response:
        early = _login(request)
        if early is not None:
            return early
        if request.method == "DELETE":
            return httpx.Response(200, json={"dealReference": "p_1"})
        return httpx.Response(404, json={"errorCode": "error.not-found.dealId"})

    with (
        Client(
            **CREDENTIALS, base_url="http://sdk.test", transport=httpx.MockTransport(handler)
        ) as client,
        pytest.raises(OrderOutcomeUnknown, match=r"error\.not-found\.dealId") as caught,
    ):
        client.positions.close("1")
    assert caught.value.deal_reference == "p_1"
    assert caught.value.intent.deal_id == "1"
