"""to_decimal: the exact number the API sent, from the float a model holds."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitalcom_sdk import to_decimal
from capitalcom_sdk.models.trading import Position

# Decimal numbers of up to 15 significant digits, as the API writes prices, sizes and amounts.
wire_numbers = st.builds(
    lambda digits, exponent, negative: Decimal((int(negative), digits, exponent)),
    st.tuples(*[st.integers(0, 9)] * 15).map(lambda t: tuple(t[: 1 + sum(t) % 15])),
    st.integers(-10, 6),
    st.booleans(),
)


@given(wire_numbers)
def test_the_number_sent_comes_back_exactly_from_the_float(sent: Decimal) -> None:
    text = f"{sent:f}"
    parsed = json.loads(text)  # what pydantic gives a float field
    assert to_decimal(float(parsed)) == sent


def test_a_models_float_fields_give_the_wire_decimals() -> None:
    body = (
        b'{"dealId": "d", "size": 0.1, "direction": "BUY", "level": 1.08123,'
        b' "stopLevel": 2411.37, "profitLevel": 64999.99}'
    )
    position = Position.model_validate_json(body)
    assert Decimal(position.level) != Decimal("1.08123")  # the float itself is not exact
    assert to_decimal(position.level) == Decimal("1.08123")
    assert to_decimal(position.stop_level) == Decimal("2411.37")
    assert to_decimal(position.profit_level) == Decimal("64999.99")
    assert to_decimal(position.size) == Decimal("0.1")


def test_missing_values_stay_missing_and_non_numbers_are_refused() -> None:
    assert to_decimal(None) is None
    assert to_decimal(math.nan) is None
    assert to_decimal("1.50") == Decimal("1.50")
    assert to_decimal(3) == Decimal(3)
    with pytest.raises(ValueError, match="finite"):
        to_decimal(math.inf)
    with pytest.raises(ValueError, match="not a number"):
        to_decimal("abc")
