"""Validators never fail with anything but RequestValidationError, whatever they are given."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capitalcom_sdk import RequestValidationError
from capitalcom_sdk import _validation as check
from capitalcom_sdk.resources import _trading as trading

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=3),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _accepts_or_refuses(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except RequestValidationError as error:
        refused = error
    assert refused.field, "the error names a field"
    return None


@settings(max_examples=300, deadline=None)
@given(ANYTHING)
def test_single_value_validators(value: Any) -> None:
    for function, args in (
        (check.size, ()),
        (check.direction, ()),
        (check.order_type, ()),
        (check.resolution, ()),
        (check.epic, ()),
        (check.epic_list, ()),
        (check.watchlist_name, ()),
        (check.top_up_amount, ()),
        (check.leverages, ()),
        (check.max_bars, ()),
        (check.last_period, ()),
        (check.identifier, ("dealId",)),
        (check.aware, ("from",)),
        (check.good_till_date, (NOW,)),
    ):
        result = _accepts_or_refuses(function, value, *args)
        if function is check.size and result is not None:
            assert 0 < result <= check.MAX_SIZE


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            name: ANYTHING
            for name in (
                "stop_level",
                "stop_distance",
                "stop_amount",
                "profit_level",
                "profit_distance",
                "profit_amount",
                "guaranteed_stop",
                "trailing_stop",
            )
        },
    ),
    ANYTHING,
    ANYTHING,
)
def test_trading_builders(options: dict[str, Any], size: Any, level: Any) -> None:
    call = _accepts_or_refuses(trading.open_position, "GOLD", "BUY", size, options)
    if call is not None:
        body = call.body
        assert body is not None
        assert sum(key in body for key in check.STOP_FIELDS) <= 1
        assert sum(key in body for key in check.PROFIT_FIELDS) <= 1
        if body.get("trailingStop"):
            assert "stopDistance" in body
            assert not body.get("guaranteedStop")
    _accepts_or_refuses(trading.create_order, "GOLD", "SELL", 1, level, "STOP", None, options)
