"""The backfill client in its own process, so its peak RSS is its own.

``python -m bench._backfill_client BASE_URL EPIC DAYS`` prints one JSON line: wall time of
``prices.history`` (and how much of it was spent waiting for answers, how much on the client's
CPU), bars, peak RSS after it, then pandas import and ``to_pandas()`` times and
the peak RSS after those.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import timedelta

import httpx

from bench._common import API_KEY, CLIENT_CPUS, IDENTIFIER, PASSWORD, pin


class _TimedTransport(httpx.HTTPTransport):
    """Adds up the time from sending a request to having read its body, and the CPU time this
    process spent meanwhile (sending, reading and parsing HTTP): the difference is the time
    spent waiting for the server and the network."""

    waiting = 0.0
    cpu = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started, cpu = time.perf_counter(), time.process_time()
        response = super().handle_request(request)
        response.read()
        type(self).waiting += time.perf_counter() - started
        type(self).cpu += time.process_time() - cpu
        return response


class _Sleeps:
    """Adds up the client's sleeps (limiter waits, retry back-off) by wrapping time.sleep."""

    total = 0.0
    _sleep = staticmethod(time.sleep)

    @classmethod
    def sleep(cls, seconds: float) -> None:
        cls.total += seconds
        cls._sleep(seconds)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main() -> int:
    base_url, epic, days = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pin(CLIENT_CPUS)
    time.sleep = _Sleeps.sleep  # this process only: the benchmark's own client
    from capitalcom_sdk import Client
    from capitalcom_sdk._settings import DEFAULT_LIMITS

    transport = _TimedTransport(limits=DEFAULT_LIMITS)
    with Client(API_KEY, IDENTIFIER, PASSWORD, base_url=base_url, transport=transport) as client:
        client.session.login()
        end = client.general.server_time().datetime
        start = end - timedelta(days=days)
        _TimedTransport.waiting = _TimedTransport.cpu = _Sleeps.total = 0.0
        rss_before = _peak_rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        history = client.prices.history(epic, "MINUTE", start, end)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    rss_history = _peak_rss_mb()
    started = time.perf_counter()
    import pandas  # noqa: F401  (timed apart from the conversion)

    import_pandas = time.perf_counter() - started
    started = time.perf_counter()
    frame = history.to_pandas()
    to_pandas = time.perf_counter() - started
    result = {
        "wall": wall,
        "cpu": cpu,
        "server": _TimedTransport.waiting - _TimedTransport.cpu,
        "slept": _Sleeps.total,
        "bars": len(history.prices),
        "rows": len(frame),
        "first": history.prices[0].snapshot_time_utc.isoformat() if history.prices else None,
        "last": history.prices[-1].snapshot_time_utc.isoformat() if history.prices else None,
        "rss_before_mb": rss_before,
        "rss_history_mb": rss_history,
        "import_pandas": import_pandas,
        "to_pandas": to_pandas,
        "rss_total_mb": _peak_rss_mb(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
