"""Fuzz the simulator's real-API routes from its own OpenAPI document: no input may cause a 5xx.

Valid (positive) requests must moreover get a status the document declares and a body matching
its response schema, which keeps the document and the routes honest with each other.

Schemathesis generates valid (positive) and invalid (negative) requests for every operation of
``GET /_sim/openapi.json``; each one is sent over loopback to a live simulator with a fresh valid
session, so the handlers behind authentication are exercised too. Bounded: a fixed number of
examples per operation and mode; deeper runs (40 per operation and mode with the conformance
checks, 100 with the 5xx check alone) found no failure either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from capitalcom_sim.config import SimConfig, single_user
from capitalcom_sim.openapi import openapi_document
from capitalcom_sim.server import SimServer

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# 20 per operation and mode: ~15 s of CPU (about 30 s wall); SIM_FUZZ_EXAMPLES=100 for more.
CONFORMANCE = [response_schema_conformance, status_code_conformance]
EXAMPLES_PER_MODE = int(os.environ.get("SIM_FUZZ_EXAMPLES", "20"))


def _has_inputs(operation: Any) -> bool:
    """Negative cases exist only for operations with parameters or a body."""
    return any(len(part) for part in (operation.path_parameters, operation.query, operation.body))


CASES = [
    pytest.param(operation, mode, id=f"{operation.label}-{mode.value}")
    for operation in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _has_inputs(operation)
]


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    config = SimConfig(users=(single_user(),), rate_limits=False, seed=5)
    with SimServer(config) as server:
        yield server


def _fresh_headers(server: SimServer) -> dict[str, str]:
    """A new valid session each call (a fuzzed logout or account switch must not starve others)."""
    state = server.state
    user = state.config.users[0]
    session = state.sessions.create(user, user.preferred_account.account_id)
    return {
        "CST": session.cst,
        "X-SECURITY-TOKEN": session.security_token,
        "X-CAP-API-KEY": user.api_key,
    }


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_generated_requests_never_cause_a_server_error(
    server: SimServer, operation: Any, mode: GenerationMode
) -> None:
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(generation_mode=mode))
        try:
            headers = _fresh_headers(server)
            response = case.call(base_url=server.base_url, headers=headers, timeout=10)
        except Exception as exc:  # a transport failure is a server failure too
            failures.append(f"{case.method} {case.formatted_path}: {type(exc).__name__}: {exc}")
            return
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
                f" -> {response.status_code} {response.text[:200]}"
            )
        elif mode is GenerationMode.POSITIVE:
            # Valid requests must also get a documented status and a body of the documented shape.
            try:
                case.validate_response(response, checks=CONFORMANCE)
            except BaseException as exc:  # schemathesis raises an exception group
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:400]}")

    run()
    assert failures == []


def test_the_document_served_is_the_one_fuzzed(server: SimServer) -> None:
    served = httpx.get(f"{server.base_url}/_sim/openapi.json").json()
    assert served == openapi_document()
    assert len(OPERATIONS) == 36
