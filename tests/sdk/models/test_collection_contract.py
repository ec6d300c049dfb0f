"""Every example response of the official Postman collection parses without loss.

Success bodies go through the endpoint's declared response model; ``model_dump(by_alias=True)``
(extras included) must reproduce every key and value of the example. The only accepted renames are
the documented legacy names (SPEC 11-Q5), listed below. Error bodies map to the right error class.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from capitalcom_sdk import errors
from capitalcom_sdk._endpoints import ENDPOINTS, Endpoint

REPO = Path(__file__).resolve().parents[3]
COLLECTION = REPO.parent / "shared" / "api" / "capital.collection.json"

LEGACY_NAMES = {
    "controlledRiskAllowed": "guaranteedStopAllowed",
    "minControlledRiskStopDistance": "minGuaranteedStopDistance",
    "minNormalStopOrLimitDistance": "minStopOrProfitDistance",
    "maxStopOrLimitDistance": "maxStopOrProfitDistance",
}


def _collection() -> dict[str, Any]:
    if not COLLECTION.exists():
        if os.environ.get("REQUIRE_CONTRACT") == "1":
            pytest.fail(f"{COLLECTION} is missing and REQUIRE_CONTRACT=1")
        pytest.skip(f"Postman collection not found at {COLLECTION}")
    data: dict[str, Any] = json.loads(COLLECTION.read_text(encoding="utf-8"))
    return data


def _requests(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item


def _template(raw_url: str) -> str:
    path = raw_url.replace("{{url}}", "").split("?", 1)[0].rstrip("/")
    return re.sub(r":(\w+)", r"{\1}", path)


def _segments(path: str) -> list[str]:
    return ["*" if part.startswith("{") else part for part in path.strip("/").split("/")]


def endpoint_for(method: str, raw_url: str) -> Endpoint[Any]:
    wanted = _segments(_template(raw_url))
    matches = [e for e in ENDPOINTS if e.method == method and _segments(e.path) == wanted]
    assert len(matches) == 1, f"{method} {raw_url}: {matches}"
    return matches[0]


def _examples() -> list[tuple[str, Endpoint[Any], int, str]]:
    if not COLLECTION.exists():
        return []
    data = json.loads(COLLECTION.read_text(encoding="utf-8"))
    out = []
    for request in _requests(data["item"]):
        method = request["request"]["method"]
        url = request["request"]["url"]
        raw = url["raw"] if isinstance(url, dict) else url
        endpoint = endpoint_for(method, raw)
        for response in request.get("response", []):
            out.append((response["name"], endpoint, int(response["code"]), response["body"]))
    return out


EXAMPLES = _examples()


def _same_scalar(expected: Any, actual: Any) -> bool:
    if isinstance(actual, datetime) and isinstance(expected, str):
        parsed = datetime.fromisoformat(expected)
        if actual.tzinfo is not None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed == actual
    if isinstance(actual, Enum):
        actual = actual.value
    if isinstance(actual, float) and isinstance(expected, str):
        return float(expected) == actual  # transactions' size: a string on the wire
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    return bool(type(expected) is type(actual) and expected == actual)


def assert_reproduced(expected: Any, actual: Any, where: str = "$") -> None:
    """Every key/value of ``expected`` is in ``actual`` (legacy names under their current name)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            name = key if key in actual else LEGACY_NAMES.get(key, key)
            assert name in actual, f"{where}.{key}: dropped (dump has {sorted(actual)})"
            assert_reproduced(value, actual[name], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(expected) == len(actual), f"{where}: {len(expected)} vs {len(actual)} items"
        for index, (item, got) in enumerate(zip(expected, actual, strict=True)):
            assert_reproduced(item, got, f"{where}[{index}]")
    else:
        assert _same_scalar(expected, actual), f"{where}: {expected!r} became {actual!r}"


def test_collection_has_all_examples() -> None:
    data = _collection()
    requests = list(_requests(data["item"]))
    responses = sum(len(r.get("response", [])) for r in requests)
    assert (len(requests), responses) == (35, 74)
    assert len({e.name for _, e, _, _ in EXAMPLES}) == 35


@pytest.mark.parametrize(
    ("name", "endpoint", "status", "body"),
    [e for e in EXAMPLES if e[2] < 400],
    ids=lambda v: v.name if isinstance(v, Endpoint) else None,
)
def test_success_example_parses_without_loss(
    name: str, endpoint: Endpoint[Any], status: int, body: str
) -> None:
    assert endpoint.response is not None
    model: Any = endpoint.response
    parsed = model.model_validate_json(body)
    assert isinstance(parsed, BaseModel)
    assert_reproduced(json.loads(body), parsed.model_dump(by_alias=True), name)


@pytest.mark.parametrize(
    ("name", "endpoint", "status", "body"),
    [e for e in EXAMPLES if e[2] >= 400],
    ids=lambda v: v.name if isinstance(v, Endpoint) else None,
)
def test_error_example_maps_to_error(
    name: str, endpoint: Endpoint[Any], status: int, body: str
) -> None:
    payload = json.loads(body)
    error = errors.error_from_response(status, payload, method=endpoint.method, path=endpoint.path)
    assert error.status == status
    assert error.raw_error_code == payload["errorCode"]
    expected: type[errors.APIError] = {
        400: errors.InvalidRequestError,
        401: errors.AuthenticationError,
        404: errors.NotFoundError,
        429: errors.RateLimitError,
    }[status]
    if payload["errorCode"] == "error.null.api.key":
        expected = errors.AuthenticationError
    assert isinstance(error, expected), f"{name}: {type(error).__name__}"


def test_no_loss_check_catches_a_dropped_field() -> None:
    with pytest.raises(AssertionError, match="dropped"):
        assert_reproduced({"a": 1, "b": 2}, {"a": 1})
    with pytest.raises(AssertionError, match="became"):
        assert_reproduced({"size": "1.5"}, {"size": 1.25})
