"""History backfill: 60 days of MINUTE bars through ``prices.history`` with limits on.

The pager splits the range into 1000-bar requests; with the documented 10 requests/s the least
possible wall time is requests / 10 s. The client runs in its own process
(bench/_backfill_client.py) so its peak RSS is measured alone.
"""

from __future__ import annotations

from bench._common import PYTHON, Figure, Section, SimProcess, run_json

BACKFILL_EPIC = "BTCUSD"  # trades around the clock: every minute of the range has a bar
ALLOWED_RATE = 10.0
RSS_TARGET_MB = 150.0


def run(days: float = 60.0, epic: str = BACKFILL_EPIC) -> Section:
    """Wall time, requests, peak RSS of the backfill, then ``to_pandas()`` time."""
    section = Section("3. History backfill")
    with SimProcess(rate_limits=True) as sim:
        before = sim.stats()
        result = run_json(
            [PYTHON, "-m", "bench._backfill_client", sim.base_url, epic, str(days)],
            timeout=30 + 3 * days * 1440 / 999 / ALLOWED_RATE,  # 3x the ideal, never hangs
        )
        after = sim.stats()
    key = "GET /api/v1/prices/{epic}"
    requests = after["requests"].get(key, 0) - before["requests"].get(key, 0)
    rejected = int(after["status"].get("429", 0)) - int(before["status"].get("429", 0))
    least = requests / ALLOWED_RATE
    allowed = 1.1 * least + 1.0
    wall = result["wall"]
    held = (result["rss_history_mb"] - result["rss_before_mb"]) * 2**20
    per_bar = held / max(result["bars"], 1)
    section.figures.append(
        Figure(
            section.title,
            f"{days:g} days of MINUTE bars ({result['bars']} bars, {requests} requests): wall time",
            wall,
            "s",
            baseline=least,
            baseline_name="requests / 10 per s",
            ratio=wall / least if least else None,
            target=f"<= 1.1 x {least:.1f} + 1 = {allowed:.1f} s",
            met=wall <= allowed and rejected == 0,
            note=f"{rejected} x 429" if rejected else "",
        )
    )
    section.figures.append(
        Figure(
            section.title,
            "peak RSS of the client process after the backfill",
            result["rss_history_mb"],
            "MB",
            target=f"<= {RSS_TARGET_MB:.0f} MB",
            met=result["rss_history_mb"] <= RSS_TARGET_MB,
            note=f"{result['rss_before_mb']:.0f} MB before the backfill (interpreter, SDK, "
            f"httpx): ~{per_bar:,.0f} bytes per bar held",
        )
    )
    section.figures.append(
        Figure(
            section.title,
            f"to_pandas() of the {result['rows']} bars",
            result["to_pandas"] * 1000.0,
            "ms",
            note=f"pandas import itself {result['import_pandas'] * 1000:.0f} ms (not included); "
            f"peak RSS afterwards {result['rss_total_mb']:.0f} MB",
        )
    )
    section.notes.append(
        f"Epic {epic}, bars from {result['first']} to {result['last']}; simulator limits on "
        f"(its own process), client limiter on, sync Client in a separate process; peak RSS = "
        "ru_maxrss of that process (interpreter, SDK, httpx and the bars included). "
        f"429 answers during the backfill: {rejected}."
    )
    per = max(requests, 1)
    server, cpu, slept = result["server"], result["cpu"], result["slept"]
    rest = max(0.0, wall - server - cpu - slept)
    section.notes.append(
        "Where the wall time went (the pager sends one request after the other): waiting for "
        f"the simulator and the network {server:.2f} s ({server / per * 1000:.0f} ms per request "
        f"of {result['bars'] / per:.0f} bars), client CPU {cpu:.2f} s ({cpu / per * 1000:.0f} ms "
        f"per request: HTTP, parsing into models, paging), sleeping {slept:.2f} s (limiter "
        f"waits, retry back-off), the rest {rest:.2f} s (the client process waiting for a core "
        "while other processes ran). The allowed rate leaves "
        f"{1000 / ALLOWED_RATE:.0f} ms per request; a sequential pager only reaches it when "
        "answer + parse take less."
    )
    return section
