"""Model conventions: open enums, UTC datetimes, legacy names, extras kept, frozen."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic
import pytest

from capitalcom_sdk.models import (
    Activity,
    Confirm,
    Direction,
    MarketDetails,
    MarketStatus,
    MarketSummary,
    Preferences,
    PriceBar,
    PriceHistory,
    Transaction,
)

SUMMARY = {
    "epic": "SILVER",
    "marketStatus": "TRADEABLE",
    "updateTimeUTC": "2022-04-06T13:17:38.477",
}


def test_documented_enum_value_becomes_the_member() -> None:
    market = MarketSummary.model_validate(SUMMARY)
    assert market.market_status is MarketStatus.TRADEABLE


def test_unknown_enum_value_is_kept_as_a_string() -> None:
    market = MarketSummary.model_validate({**SUMMARY, "marketStatus": "HALTED_FOR_LUNCH"})
    assert market.market_status == "HALTED_FOR_LUNCH"
    assert not isinstance(market.market_status, MarketStatus)
    assert market.model_dump(by_alias=True, mode="json")["marketStatus"] == "HALTED_FOR_LUNCH"


def test_unknown_leverage_group_and_market_mode_do_not_break_parsing() -> None:
    prefs = Preferences.model_validate(
        {"hedgingMode": False, "leverages": {"GOLD": {"current": 5, "available": [1, 5]}}}
    )
    assert prefs.leverages["GOLD"].current == 5
    market = MarketSummary.model_validate({**SUMMARY, "marketModes": ["REGULAR", "NEW_MODE"]})
    assert market.market_modes == ["REGULAR", "NEW_MODE"]


def test_utc_fields_are_aware_and_local_twins_naive() -> None:
    bar = PriceBar.model_validate(
        {
            "snapshotTime": "2022-02-24T01:00:00",
            "snapshotTimeUTC": "2022-02-24T00:00:00",
            "openPrice": {"bid": 1, "ask": 2},
            "closePrice": {"bid": 1, "ask": 2},
            "highPrice": {"bid": 1, "ask": 2},
            "lowPrice": {"bid": 1, "ask": 2},
        }
    )
    assert bar.snapshot_time_utc == datetime(2022, 2, 24, tzinfo=UTC)
    assert bar.snapshot_time is not None
    assert bar.snapshot_time.tzinfo is None
    activity = Activity.model_validate({"dateUTC": "2022-01-03T15:01:48.420", "type": "POSITION"})
    assert activity.date_utc.tzinfo is UTC
    assert activity.date_utc.microsecond == 420_000


def test_transaction_size_string_is_a_float_and_date_utc_spelling_differs() -> None:
    transaction = Transaction.model_validate(
        {"dateUtc": "2022-04-04T16:51:05.648", "size": "-1.05"}
    )
    assert transaction.size == -1.05
    assert transaction.date_utc.tzinfo is UTC


def test_legacy_and_current_names_fill_the_same_attribute() -> None:
    base = {"instrument": {"epic": "SILVER"}, "dealingRules": {}}
    legacy = MarketDetails.model_validate(
        {
            **base,
            "instrument": {"epic": "SILVER", "controlledRiskAllowed": True},
            "dealingRules": {"minNormalStopOrLimitDistance": {"unit": "PERCENTAGE", "value": 0.01}},
        }
    )
    current = MarketDetails.model_validate(
        {
            **base,
            "instrument": {"epic": "SILVER", "guaranteedStopAllowed": True},
            "dealingRules": {"minStopOrProfitDistance": {"unit": "PERCENTAGE", "value": 0.01}},
        }
    )
    for details in (legacy, current):
        assert details.instrument.guaranteed_stop_allowed is True
        assert details.dealing_rules is not None
        rule = details.dealing_rules.min_stop_or_profit_distance
        assert rule is not None
        assert rule.value == 0.01


def test_unknown_fields_are_kept_and_models_are_frozen() -> None:
    market = MarketSummary.model_validate({**SUMMARY, "brandNewField": {"x": 1}})
    assert market.model_extra == {"brandNewField": {"x": 1}}
    with pytest.raises(pydantic.ValidationError):
        market.epic = "GOLD"  # type: ignore[misc]


def test_confirm_helpers() -> None:
    confirm = Confirm.model_validate(
        {
            "dealStatus": "REJECTED",
            "dealReference": "o_1",
            "rejectReason": "INSUFFICIENT_FUNDS",
            "direction": "SELL",
            "affectedDeals": [],
        }
    )
    assert not confirm.accepted
    assert confirm.rejection_reason == "INSUFFICIENT_FUNDS"
    assert confirm.direction is Direction.SELL
    assert confirm.opened_deal_ids == []


def test_price_bars_are_light_records_that_keep_unknown_fields() -> None:
    body = (
        '{"prices": [{"snapshotTimeUTC": "2022-02-24T00:00:00", "newBarField": 1,'
        ' "openPrice": {"bid": 1, "ask": 2, "newSideField": "x"},'
        ' "closePrice": {"bid": 1, "ask": 3}, "highPrice": {"bid": 2, "ask": 4},'
        ' "lowPrice": {"bid": 0.5, "ask": 1}}], "instrumentType": "SHARES"}'
    )
    history = PriceHistory.model_validate_json(body)
    bar = history.prices[0]
    assert bar.open_price.mid == 1.5
    assert bar.model_extra == {"newBarField": 1}
    assert bar.open_price.model_extra == {"newSideField": "x"}
    assert bar.close_price.model_extra == {}
    dumped = history.model_dump(by_alias=True)["prices"][0]
    assert dumped["newBarField"] == 1
    assert dumped["openPrice"] == {"bid": 1.0, "ask": 2.0, "lastTraded": None, "newSideField": "x"}
    assert PriceBar.model_validate(bar.model_dump(by_alias=True)) == bar
    with pytest.raises(AttributeError):
        bar.open_price = bar.close_price  # type: ignore[misc]


def _loaded_after(code: str) -> set[str]:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", f"import sys; {code}; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_models_do_not_import_the_data_package() -> None:
    loaded = _loaded_after(
        "from capitalcom_sdk.models import PriceHistory, Positions; import capitalcom_sdk._client"
    )
    assert "capitalcom_sdk.models.prices" in loaded
    assert not {m for m in loaded if m.startswith("capitalcom_sdk.data")}


def test_the_enums_load_without_the_response_models() -> None:
    loaded = _loaded_after("from capitalcom_sdk.models.enums import Direction, Resolution")
    assert "capitalcom_sdk.models.enums" in loaded
    assert "capitalcom_sdk.models.trading" not in loaded
    assert "capitalcom_sdk.models.prices" not in loaded


def test_response_models_build_their_schema_on_first_use() -> None:
    from capitalcom_sdk.models import WireModel

    assert WireModel.model_config.get("defer_build") is True
