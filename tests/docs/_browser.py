"""Headless Chromium driven over the Chrome DevTools Protocol (websockets; no browser package).

Just enough for the docs site check: open a page, collect console errors and uncaught
exceptions, type into an element, evaluate JavaScript, take a screenshot. The network is closed
here, so Chromium starts with everything that phones home switched off and a fresh profile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--remote-debugging-port=0",
)


def chromium_path() -> str | None:
    """The Chromium executable, or None when none is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One tab, attached through a flat CDP session."""

    def __init__(self, ws: ClientConnection, session_id: str) -> None:
        self._ws = ws
        self._session = session_id
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.errors: list[str] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._ws:
            message = json.loads(raw)
            if "id" in message and message["id"] in self._pending:
                self._pending.pop(message["id"]).set_result(message)
            elif message.get("sessionId") == self._session:
                self._event(message.get("method", ""), message.get("params", {}))

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            texts = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
            self.errors.append("console: " + " ".join(texts))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            described = details.get("exception", {}).get("description") or details.get("text")
            self.errors.append(f"exception: {described}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one CDP command to the tab; its result, or RuntimeError on a CDP error."""
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        payload = {"id": message_id, "method": method, "params": params, "sessionId": self._session}
        await self._ws.send(json.dumps(payload))
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def goto(self, url: str, seconds: float = 20.0) -> None:
        """Load ``url`` and wait until the document and its resources are loaded."""
        await self.send("Page.navigate", url=url)
        await self.wait_for(
            "document.readyState === 'complete' && location.href !== 'about:blank'", seconds
        )

    async def wait_for(self, expression: str, seconds: float = 10.0) -> Any:
        """Poll a JavaScript expression until it is truthy; its value (TimeoutError if never)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                raise TimeoutError(f"never true: {expression}")
            await asyncio.sleep(0.05)

    async def type_into(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` as keyboard input (input events fire)."""
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        for char in text:
            await self.send("Input.dispatchKeyEvent", type="keyDown", text=char, key=char)
            await self.send("Input.dispatchKeyEvent", type="keyUp", key=char)

    async def screenshot(self) -> bytes:
        """A PNG of the viewport."""
        result = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(result["data"])


@contextlib.asynccontextmanager
async def open_page(width: int = 1280, height: int = 900) -> AsyncIterator[Page]:
    """Start headless Chromium with a fresh profile and yield one tab; stop it afterwards."""
    executable = chromium_path()
    if executable is None:
        raise FileNotFoundError("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="docs-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            executable,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "HOME": profile},
        )
        drain: asyncio.Task[None] | None = None
        try:
            assert process.stderr is not None
            url = await asyncio.wait_for(_devtools_url(process.stderr), 30)
            drain = asyncio.get_running_loop().create_task(_drain(process.stderr))
            async with connect(url, max_size=64 * 2**20) as ws:
                yield await _attach(ws, width, height)
        finally:
            if process.returncode is None:
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
            if drain is not None:
                drain.cancel()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


async def _devtools_url(stderr: asyncio.StreamReader) -> str:
    seen: list[str] = []
    while line := (await stderr.readline()).decode(errors="replace"):
        if line.startswith("DevTools listening on "):
            return line.removeprefix("DevTools listening on ").strip()
        seen.append(line)
    raise RuntimeError("chromium exited before it listened: " + "".join(seen[-20:]))


async def _attach(ws: ClientConnection, width: int, height: int) -> Page:
    async def browser_call(message_id: int, method: str, **params: Any) -> dict[str, Any]:
        await ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            answer = json.loads(await ws.recv())
            if answer.get("id") == message_id:
                result: dict[str, Any] = answer["result"]
                return result

    target = await browser_call(1, "Target.createTarget", url="about:blank")
    attached = await browser_call(
        2, "Target.attachToTarget", targetId=target["targetId"], flatten=True
    )
    page = Page(ws, attached["sessionId"])
    for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
        await page.send(domain)
    await page.send(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )
    return page
