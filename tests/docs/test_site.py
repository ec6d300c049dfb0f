"""The documentation site: strict build, complete API reference, landing page in a real browser."""

from __future__ import annotations

import importlib
import inspect
import io
import os
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.docs._browser import chromium_path, open_page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "build" / "docs-check"
_OURS = ("capitalcom_sdk", "capitalcom_sim")

PUBLIC_MODULES = (
    "capitalcom_sdk",
    "capitalcom_sdk.errors",
    "capitalcom_sdk.models",
    "capitalcom_sdk.streaming",
    "capitalcom_sdk.data",
    "capitalcom_sdk.backtest",
    "capitalcom_sim",
)
RESOURCE_MODULES = (
    "general",
    "session",
    "accounts",
    "positions",
    "orders",
    "confirms",
    "markets",
    "prices",
    "history",
    "sentiment",
    "watchlists",
)


def inventory(site: Path) -> set[str]:
    """The object names mkdocstrings documented (``objects.inv``, Sphinx inventory v2)."""
    raw = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = raw.index(b"\n", header_end) + 1
    body = zlib.decompress(raw[header_end:]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if line}


def public_objects() -> dict[str, object]:
    """Every public name users import, and the resource namespace classes of the clients."""
    found: dict[str, object] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if not name.startswith("_") and not inspect.ismodule(value):  # models, report
                found[f"{module_name}.{name}"] = value
    for area in RESOURCE_MODULES:
        module = importlib.import_module(f"capitalcom_sdk.resources.{area}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_api_reference_documents_every_public_class_method_and_function(site: Path) -> None:
    documented = inventory(site)
    by_name: dict[str, set[str]] = {}
    for path in documented:
        by_name.setdefault(path.rsplit(".", 1)[-1], set()).add(path)
    missing: list[str] = []
    for dotted, value in public_objects().items():
        name = dotted.rsplit(".", 1)[-1]
        homes = {p for p in by_name.get(name, set()) if p.startswith(_OURS)}
        if not homes:
            missing.append(dotted)
            continue
        if inspect.isclass(value) and value.__module__.startswith(_OURS):
            for member, attr in vars(value).items():
                if member.startswith("_") or not callable(attr):
                    continue
                if not any(f"{home}.{member}" in documented for home in homes):
                    missing.append(f"{dotted}.{member}")
    assert missing == []


def test_client_reference_lists_every_namespace_and_method(site: Path) -> None:
    from capitalcom_sdk import AsyncClient, Client
    from capitalcom_sdk.resources._base import AsyncResource, SyncResource

    resources = (SyncResource, AsyncResource)

    documented = inventory(site)
    for client_class in (Client, AsyncClient):
        client = client_class(base_url="http://127.0.0.1:9")
        # Methods and namespaces (plain data attributes such as ``env`` are set outside
        # ``__init__``, where the reference cannot see them).
        public = [
            n
            for n in dir(client)
            if not n.startswith("_")
            and (callable(getattr(client, n)) or isinstance(getattr(client, n), resources))
        ]
        home = f"capitalcom_sdk._client.{client_class.__name__}"
        assert [n for n in public if f"{home}.{n}" not in documented] == []


def _chromium_or_skip() -> None:
    if chromium_path() is not None:
        return
    if os.environ.get("CI") or os.environ.get("REQUIRE_CONTRACT") == "1":
        pytest.fail("chromium is not installed (.ci/run installs it)")
    pytest.skip("chromium is not installed: apt-get install chromium")


async def test_landing_page_renders_without_console_errors_and_search_finds_pages(
    site_url: str, tmp_path: Path
) -> None:
    _chromium_or_skip()
    async with open_page() as page:
        await page.goto(site_url)
        title = await page.evaluate("document.title")
        heading = await page.evaluate("document.querySelector('article h1').textContent")
        nav = await page.evaluate(
            "[...document.querySelectorAll('.md-nav__link')].map(a => a.textContent.trim())"
        )
        png = await page.screenshot()
        # The search: typing a word shows results from the index (built by a web worker).
        await page.evaluate("document.querySelector('label[for=__search]').click()")
        await page.type_into("input.md-search__input", "reconcile")
        count = await page.wait_for(
            "document.querySelectorAll('.md-search-result__item').length", seconds=20
        )
        first = await page.evaluate(
            "document.querySelector('.md-search-result__item a').getAttribute('href')"
        )
        errors = list(page.errors)
    for folder in (tmp_path, ARTIFACTS):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "landing.png").write_bytes(png)
    assert errors == []
    assert "capitalcom-sdk" in title
    assert heading.strip().startswith("capitalcom-sdk")
    assert {"Recipes", "API reference", "Error codes"} <= set(nav)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (1280, 900)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None
        assert len(colours) > 50  # text, header and navigation drawn, not a blank page
    assert count >= 1
    assert first
