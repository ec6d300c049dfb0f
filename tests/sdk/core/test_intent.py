"""The typed order intent and the per-client deal registry (pure, no sockets)."""

from __future__ import annotations

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._intent import DealRegistry, OrderIntent
from capitalcom_sdk.errors import OrderOutcomeUnknown


def intent(endpoint: ep.Endpoint[object] = ep.OPEN_POSITION, **body: object) -> OrderIntent:
    return OrderIntent(endpoint, endpoint.full_path, body, "A1", 100.0)


def test_what_a_write_does_comes_from_the_endpoint_object_not_its_name() -> None:
    assert intent(ep.OPEN_POSITION).placement
    assert intent(ep.CREATE_ORDER).placement
    assert not intent(ep.CREATE_ORDER).on_position
    assert intent(ep.CLOSE_POSITION).removal
    assert intent(ep.DELETE_ORDER).removal
    assert not intent(ep.UPDATE_ORDER).removal
    assert intent(ep.UPDATE_POSITION).on_position


def test_the_target_deal_id_is_kept_unquoted_by_the_call() -> None:
    call = ep.CLOSE_POSITION.call({"dealId": "a b:c"})
    assert call.path.endswith("/positions/a%20b%3Ac")
    assert call.path_params == {"dealId": "a b:c"}


def test_the_exception_exposes_the_intent() -> None:
    sent = intent(epic="EURUSD").answered("o_1").given_up(101.0)
    exc = OrderOutcomeUnknown(sent, "reset")
    assert (exc.endpoint, exc.method, exc.path) == ("positions.open", "POST", "/api/v1/positions")
    assert (exc.account_id, exc.deal_reference, exc.sent_at) == ("A1", "o_1", 100.0)
    assert exc.intent.gave_up_at == 101.0
    assert exc.request["body"] == {"epic": "EURUSD"}
    assert sent.key != intent().key  # unique per intent


def test_a_deal_attributed_to_one_write_is_taken_for_every_other() -> None:
    registry = DealRegistry()
    first, second = intent(size=1), intent(size=1)
    registry.attribute(["D1", None], first)
    assert not registry.taken_by_other("D1", first)
    assert registry.taken_by_other("D1", second)
    assert not registry.taken_by_other("D2", second)
    assert not registry.taken_by_other(None, second)


def test_twins_are_unsettled_identical_placements_that_could_still_apply() -> None:
    registry = DealRegistry()
    lost = intent(size=1).given_up(100.0)
    other_size = intent(size=2).given_up(100.0)
    old = intent(size=1).given_up(10.0)
    for unknown in (lost, other_size, old):
        registry.unsettled(unknown)
    asking = intent(size=1)
    assert registry.twins(asking, still_possible_after=50.0) == [lost]
    registry.settled(lost)
    assert registry.twins(asking, still_possible_after=50.0) == []
    registry.unsettled(intent(ep.CLOSE_POSITION))  # only placements can be twins
    assert registry.twins(intent(ep.CLOSE_POSITION), still_possible_after=0.0) == []
