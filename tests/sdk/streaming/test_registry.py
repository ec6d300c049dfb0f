"""The subscription registry without sockets: slots, assignment, release, refusals."""

from __future__ import annotations

from capitalcom_sdk.streaming._registry import OhlcKey, QuoteKey, Registry, group_ohlc


def test_epics_fill_a_slot_up_to_the_limit_then_open_the_next() -> None:
    registry = Registry(max_instruments=2)
    groups = registry.assign(["A", "B", "C"])
    first, second = registry.slots
    assert groups == {first: ["A", "B"], second: ["C"]}
    assert (first.index, second.index) == (0, 1)
    assert registry.slot_of("C") is second


def test_an_epic_already_placed_stays_on_its_slot_and_is_reserved_once() -> None:
    registry = Registry(max_instruments=2)
    registry.assign(["A"])
    [slot] = registry.slots
    slot.want(quotes=["A"])
    groups = registry.assign(["A", "B"])  # bars of A go where its quotes are
    assert groups == {slot: ["A", "B"]}
    assert slot.epics == {"A", "B"}
    assert len(registry.slots) == 1


def test_release_frees_an_epic_only_when_nothing_of_it_is_wanted() -> None:
    registry = Registry(max_instruments=40)
    registry.assign(["A"])
    [slot] = registry.slots
    bars = OhlcKey("A", "MINUTE", "classic")
    slot.want(quotes=["A"], ohlc=[bars])
    slot.drop(quotes=["A"])
    registry.release(slot, ["A"])
    assert registry.slot_of("A") is slot  # its bars are still wanted
    slot.drop(ohlc=[bars])
    registry.release(slot, ["A"])
    assert registry.slot_of("A") is None
    assert slot.epics == set()
    assert slot.empty


def test_a_freed_place_is_reused_before_a_new_slot_opens() -> None:
    registry = Registry(max_instruments=1)
    registry.assign(["A"])
    [slot] = registry.slots
    registry.release(slot, ["A"])
    assert registry.assign(["B"]) == {slot: ["B"]}


def test_refusals_are_keyed_by_subscription_and_taken_once() -> None:
    registry = Registry(max_instruments=40)
    registry.assign(["A", "B"])
    [slot] = registry.slots
    minute, hour = OhlcKey("A", "MINUTE", "classic"), OhlcKey("A", "HOUR", "classic")
    slot.want(quotes=["A", "B"], ohlc=[minute, hour])
    slot.refuse(QuoteKey("A"), "error.invalid.epic")
    slot.refuse(minute, "error.invalid.epic")
    assert slot.quotes == {"B"}
    assert slot.ohlc == {hour}
    # the quotes of A and the bars of A are distinct keys, as are two resolutions
    assert slot.take_refused(ohlc=[hour]) == {}
    assert slot.take_refused(quotes=["A", "B"], ohlc=[minute]) == {
        QuoteKey("A"): "error.invalid.epic",
        minute: "error.invalid.epic",
    }
    assert slot.take_refused(quotes=["A"], ohlc=[minute]) == {}


def test_wanting_a_key_again_forgets_its_old_refusal() -> None:
    registry = Registry(max_instruments=40)
    registry.assign(["A"])
    [slot] = registry.slots
    slot.want(quotes=["A"])
    slot.refuse(QuoteKey("A"), "error.x")
    slot.want(quotes=["A"])
    assert slot.take_refused(quotes=["A"]) == {}
    assert slot.quotes == {"A"}


def test_lookups_by_slot_filter_by_resolution_and_type() -> None:
    registry = Registry(max_instruments=1)
    registry.assign(["A", "B"])
    a, b = registry.slots
    keys = [OhlcKey("A", r, t) for r in ("MINUTE", "HOUR") for t in ("classic", "heikin-ashi")]
    a.want(quotes=["A"], ohlc=keys)
    b.want(ohlc=[OhlcKey("B", "MINUTE", "classic")])
    assert registry.quotes_by_slot(["A", "B", "Z"]) == {a: ["A"]}
    found = registry.ohlc_by_slot(["A", "B"], resolutions=["HOUR"], bar_types=["classic"])
    assert found == {a: [OhlcKey("A", "HOUR", "classic")]}
    assert registry.ohlc_by_slot(["B"], bar_types=["heikin-ashi"]) == {}
    assert registry.quotes() == {"A"}
    assert registry.ohlc() == {*keys, OhlcKey("B", "MINUTE", "classic")}


def test_bar_subscriptions_group_into_one_request_per_resolution_and_type() -> None:
    keys = [
        OhlcKey("B", "MINUTE", "classic"),
        OhlcKey("A", "MINUTE", "classic"),
        OhlcKey("A", "HOUR", "heikin-ashi"),
    ]
    assert group_ohlc(keys) == {
        ("HOUR", "heikin-ashi"): ["A"],
        ("MINUTE", "classic"): ["A", "B"],
    }
