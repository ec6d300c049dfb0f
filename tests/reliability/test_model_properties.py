"""Every wire document that matches a response model's JSON schema parses, and round-trips.

Strategies are derived from each model's own JSON schema (``model_json_schema(by_alias=True)``):
objects with their required and optional properties, ``$ref``, ``anyOf`` (nullable, open enums),
arrays, enums, numbers of any magnitude, unicode strings, and date-times in the API's zone-less
formats. Each generated document also gets unknown extra keys (the server may add fields): they
must be kept, never break parsing. A parsed model dumped back by alias must parse to an equal
model. All 25 response models of the declared endpoints are covered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from capitalcom_sdk import _endpoints as ep

MODELS: list[type[BaseModel]] = sorted(
    {e.response for e in ep.ENDPOINTS if isinstance(e.response, type)},
    key=lambda m: m.__name__,
)

api_datetimes = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.none()
).flatmap(
    lambda moment: st.sampled_from(
        [
            moment.strftime("%Y-%m-%dT%H:%M:%S"),  # price bars
            moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}",  # events
            moment.replace(tzinfo=UTC).isoformat(),  # a zone, should the server ever add one
        ]
    )
)
numbers = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
)
extra_keys = st.dictionaries(
    st.text(min_size=1, max_size=12).map(lambda k: "x_" + k),
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=10)),
    max_size=2,
)


def strategy(
    schema: dict[str, Any], defs: dict[str, Any], depth: int = 0
) -> st.SearchStrategy[Any]:
    """A strategy of JSON values matching ``schema`` (the subset pydantic emits)."""
    if "$ref" in schema:
        return strategy(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, depth)
    if "anyOf" in schema:
        return st.one_of([strategy(s, defs, depth) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=-(2**53), max_value=2**53)
    if kind == "number":
        return numbers
    if kind == "string":
        if schema.get("format") == "date-time":
            return api_datetimes
        return st.text(max_size=20)
    if kind == "array":
        items = schema.get("items", {})
        return st.lists(strategy(items, defs, depth + 1), max_size=3 if depth < 3 else 0)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        mandatory = {
            k: strategy(v, defs, depth + 1) for k, v in properties.items() if k in required
        }
        optional = {
            k: strategy(v, defs, depth + 1) for k, v in properties.items() if k not in required
        }
        additional = schema.get("additionalProperties")
        document = st.fixed_dictionaries(mandatory, optional=optional)
        if isinstance(additional, dict) and not properties:
            document = st.dictionaries(
                st.text(max_size=12), strategy(additional, defs, depth + 1), max_size=3
            )
        elif additional is not False:
            document = st.tuples(document, extra_keys).map(lambda pair: {**pair[1], **pair[0]})
        return document
    # An unconstrained schema ({}): any JSON scalar.
    return st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=10))


def documents(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    return strategy(schema, schema.get("$defs", {}))


def test_every_response_model_is_covered() -> None:
    assert len(MODELS) >= 25


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_documents_matching_the_schema_parse_and_round_trip(model: type[BaseModel]) -> None:
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(documents(model))
    def check(document: dict[str, Any]) -> None:
        wire = json.dumps(document).encode()
        parsed = model.model_validate_json(wire)
        for key in document:
            if key.startswith("x_"):
                assert parsed.model_extra is not None
                assert key in parsed.model_extra
        again = model.model_validate_json(parsed.model_dump_json(by_alias=True))
        assert again == parsed

    check()
