"""The errorCode pages say true things: every documented code is on a page, and the exception
class a page names is the one the SDK raises for that code and status."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from capitalcom_sdk import errors
from capitalcom_sdk.errors import error_from_response

REPO = Path(__file__).resolve().parents[2]
PAGES = REPO / "docs" / "errors"
SPEC = REPO.parent / "shared" / "api" / "SPEC.md"
HEADER = "| errorCode | HTTP | raised as |"
CODE = re.compile(r"`(error\.[A-Za-z0-9.\-]+)")


def page_rows() -> list[tuple[str, str, int, str]]:
    """``(page, errorCode, status, class name)`` of every row of the pages' code tables."""
    found = []
    for page in sorted(PAGES.glob("*.md")):
        in_table = False
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith(HEADER):
                in_table = True
                continue
            if not line.startswith("|"):
                in_table = False
            if in_table and not line.startswith("|---"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                code = CODE.match(cells[0])
                assert code, f"{page.name}: {line}"
                found.append((page.name, code[1], int(cells[1]), cells[2].strip("`")))
    return found


def spec_codes() -> dict[str, int]:
    """The errorCodes of the API reference's code table that come with an HTTP status."""
    if not SPEC.exists():
        if os.environ.get("REQUIRE_CONTRACT") == "1":
            pytest.fail(f"{SPEC} is missing and REQUIRE_CONTRACT=1")
        pytest.skip(f"SPEC.md not found at {SPEC}")
    text = SPEC.read_text(encoding="utf-8")
    start = text.index("| errorCode | HTTP | when | endpoint(s) | source | confidence |")
    codes: dict[str, int] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[1].isdigit():
            for code in CODE.findall(cells[0]):
                codes[code] = int(cells[1])
    return codes


def test_every_table_row_names_the_class_the_sdk_raises() -> None:
    rows = page_rows()
    assert len(rows) >= 30
    wrong = []
    for page, code, status, name in rows:
        raised = error_from_response(status, {"errorCode": code})
        if type(raised).__name__ != name or not hasattr(errors, name):
            wrong.append(
                f"{page}: {code} ({status}) raises {type(raised).__name__}, page says {name}"
            )
    assert wrong == []


def test_every_documented_error_code_is_on_a_page_with_its_status() -> None:
    documented = {code: status for _, code, status, _ in page_rows()}
    expected = spec_codes()
    assert len(expected) >= 30
    assert {code: documented.get(code) for code in expected} == expected


def test_every_family_page_is_linked_from_the_index() -> None:
    index = (PAGES / "index.md").read_text(encoding="utf-8")
    pages = {p.name for p in PAGES.glob("*.md")} - {"index.md"}
    assert {p for p in pages if f"]({p})" not in index} == set()
