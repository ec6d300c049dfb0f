"""All 36 endpoints are declared, callable from both clients, and the docs table is current."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk._endpoints import BY_NAME, ENDPOINTS
from tools.endpoint_coverage import DEFAULT_TSV, START, client_method, replace_table, rows, table

REPO = Path(__file__).resolve().parents[3]
TSV = REPO.parent / "shared" / "api" / "endpoints.tsv"
DOC = REPO / "docs" / "client.md"


@pytest.fixture
def tsv() -> Path:
    if not TSV.exists():
        if os.environ.get("REQUIRE_CONTRACT") == "1":
            pytest.fail(f"{TSV} is missing and REQUIRE_CONTRACT=1")
        pytest.skip(f"endpoints.tsv not found at {TSV}")
    return TSV


def test_every_documented_endpoint_is_declared_once(tsv: Path) -> None:
    found = rows(tsv)
    assert len(found) == 36
    assert [r for r in found if r.endpoint is None] == []
    assert len(ENDPOINTS) == len(BY_NAME) == 36
    assert {(e.method, e.full_path) for e in ENDPOINTS} == {(r.method, r.path) for r in found}


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_every_declaration_has_a_client_method(client_class: type) -> None:
    client = client_class(base_url="http://127.0.0.1:9")
    for endpoint in ENDPOINTS:
        namespace, method = client_method(endpoint)
        assert callable(getattr(getattr(client, namespace), method)), endpoint.name


def test_position_and_order_writes_are_never_repeated() -> None:
    writes = {e.name for e in ENDPOINTS if e.order_write}
    assert writes == {
        "positions.open",
        "positions.update",
        "positions.close",
        "orders.create",
        "orders.update",
        "orders.delete",
    }
    assert all(not e.safe for e in ENDPOINTS if e.order_write)
    # A login may be repeated (it only creates a new session); every other write may not.
    assert all(not e.safe for e in ENDPOINTS if e.method != "GET" and e.name != "session.login")
    assert all(e.safe for e in ENDPOINTS if e.method == "GET")


def test_docs_table_is_up_to_date(tsv: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert START in text
    assert replace_table(text, table(tsv)) == text, (
        "run: python -m tools.endpoint_coverage --write docs/client.md"
    )
    assert "**36/36**" in text


def test_default_tsv_location_is_the_shared_api_folder() -> None:
    assert DEFAULT_TSV == TSV


def test_the_installed_packages_never_read_the_shared_folder() -> None:
    # The coverage tool reads ../shared/api; it lives in tools/, outside the wheel's packages.
    src = REPO / "src"
    readers = [
        path.relative_to(src).as_posix()
        for path in src.rglob("*.py")
        if '"shared"' in path.read_text(encoding="utf-8")
    ]
    assert readers == []
