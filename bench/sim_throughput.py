"""Simulator throughput: GET /api/v1/markets/{epic} on one uvicorn worker, rate limits off.

The simulator runs as ``python -m capitalcom_sim --no-rate-limits`` in a subprocess; the load
comes from another process: a small asyncio client keeping N HTTP/1.1 keep-alive connections
busy (raw sockets, so that the client is not the bottleneck). Target: >= 1,500 requests/s.

Run: ``python -m bench.sim_throughput [--seconds 5] [--connections 16] [--path ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import subprocess
import sys
import time
from typing import Any

import httpx

TARGET_RPS = 1500.0
DEFAULT_PATH = "/api/v1/markets/SILVER"


def _login(base_url: str) -> dict[str, str]:
    response = httpx.post(
        f"{base_url}/api/v1/session",
        json={"identifier": "bench@example.com", "password": "bench-pass"},
        headers={"X-CAP-API-KEY": "bench-key"},
        timeout=10,
    )
    response.raise_for_status()
    headers = response.headers
    return {"CST": headers["CST"], "X-SECURITY-TOKEN": headers["X-SECURITY-TOKEN"]}


async def _worker(
    host: str, port: int, request: bytes, stop_at: float, counts: dict[str, int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            counts["ok" if status == 200 else "errors"] += 1
    finally:
        writer.close()


def _load(
    host: str, port: int, request: bytes, seconds: float, connections: int, queue: Any
) -> None:
    """Child process: hammer the server and report counts."""
    counts = {"ok": 0, "errors": 0}

    async def main() -> None:
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(_worker(host, port, request, stop_at, counts) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(main())
    queue.put({**counts, "elapsed": time.perf_counter() - started})


def run(
    seconds: float = 5.0,
    connections: int = 16,
    path: str = DEFAULT_PATH,
    warmup: float = 1.0,
    quick: bool = False,
) -> dict[str, Any]:
    """Start the simulator, measure requests/s on ``path``; returns the figures as a dict.

    ``quick`` (smoke runs of the benchmark suite): 1 s of load after 0.2 s of warm-up.
    """
    if quick:
        seconds, warmup = min(seconds, 1.0), min(warmup, 0.2)
    args = [sys.executable, "-m", "capitalcom_sim", "--host", "127.0.0.1", "--port", "0"]
    args += ["--no-rate-limits", "--api-key", "bench-key", "--identifier", "bench@example.com"]
    args += ["--password", "bench-pass", "--log-level", "error"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        host, port = base_url.removeprefix("http://").rsplit(":", 1)
        deadline = time.monotonic() + 15
        while True:
            try:
                tokens = _login(base_url)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCST: {tokens['CST']}\r\n"
            f"X-SECURITY-TOKEN: {tokens['X-SECURITY-TOKEN']}\r\n\r\n"
        ).encode()
        context = multiprocessing.get_context("spawn")
        results = []
        for duration in (warmup, seconds):
            queue = context.Queue()
            child = context.Process(
                target=_load, args=(host, int(port), request, duration, connections, queue)
            )
            child.start()
            results.append(queue.get(timeout=duration + 60))
            child.join()
        measured = results[-1]
        rps = measured["ok"] / measured["elapsed"]
        return {
            "name": "sim_throughput",
            "path": path,
            "connections": connections,
            "seconds": round(measured["elapsed"], 2),
            "requests_ok": measured["ok"],
            "errors": measured["errors"],
            "requests_per_second": round(rps, 1),
            "target_rps": TARGET_RPS,
            "meets_target": rps >= TARGET_RPS and measured["errors"] == 0,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--path", default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    result = run(args.seconds, args.connections, args.path)
    print(json.dumps(result, indent=2))
    print(
        f"simulator: {result['requests_per_second']:.0f} requests/s on {result['path']}"
        f" ({'meets' if result['meets_target'] else 'MISSES'} the {TARGET_RPS:.0f}/s target)"
    )
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
