"""A persistent journal of order writes: SQLite (standard library), WAL, one file per account.

Each write is a row, recorded before anything is sent and updated as the write progresses:

``intent``   recorded; may or may not have been sent (the process died before the answer)
``sent``     the server answered with a deal reference; the confirmation is not in yet
``unknown``  sent, outcome unknown (:class:`~capitalcom_sdk.errors.OrderOutcomeUnknown`)
``confirmed`` / ``rejected``  the confirmation says so
``refused``  the server refused the request (4xx), nothing was done
``dry_run``  checked, never sent
``reconciled``  settled after the fact; ``verdict`` is FOUND / NOT_PLACED / AMBIGUOUS

``intent``, ``sent`` and ``unknown`` are *pending*: ``client.reconcile_pending()`` settles them.
Rows are committed before the next step of the write (WAL, ``synchronous=NORMAL``: a killed
process loses nothing that was committed).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PENDING", "JournalEntry", "OrderJournal"]

PENDING = ("intent", "sent", "unknown")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS writes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    epic TEXT,
    created_at REAL NOT NULL,
    deal_reference TEXT,
    status TEXT NOT NULL,
    verdict TEXT,
    reason TEXT,
    deal_ids TEXT NOT NULL DEFAULT '[]',
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS writes_status ON writes (status);
CREATE INDEX IF NOT EXISTS writes_created ON writes (created_at);
"""


@dataclass(frozen=True)
class JournalEntry:
    """One order write as the journal holds it."""

    id: int
    account: str
    endpoint: str
    method: str
    path: str
    body: dict[str, Any]
    epic: str | None
    created_at: float
    deal_reference: str | None
    status: str
    verdict: str | None
    reason: str | None
    deal_ids: tuple[str, ...]
    updated_at: float

    @property
    def pending(self) -> bool:
        """Whether its outcome is still to be settled."""
        return self.status in PENDING


class OrderJournal:
    """The journal of one directory: a SQLite file per account (``<account>.sqlite3``).

    Thread-safe (one connection per account file, guarded by a lock); the async client calls it
    inline (each step is one short local transaction).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._connections: dict[str, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OrderJournal({str(self.directory)!r})"

    def path_for(self, account: str) -> Path:
        """The file of ``account``."""
        return self.directory / f"{_SAFE_NAME.sub('_', account)}.sqlite3"

    def _db(self, account: str) -> sqlite3.Connection:
        db = self._connections.get(account)
        if db is None:
            db = sqlite3.connect(
                self.path_for(account), check_same_thread=False, isolation_level=None
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._connections[account] = db
        return db

    def close(self) -> None:
        """Close every file."""
        with self._lock:
            for db in self._connections.values():
                db.close()
            self._connections.clear()

    # -- the steps of a write ----------------------------------------------------------------
    def record_intent(
        self,
        account: str,
        endpoint: str,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        status: str = "intent",
        created_at: float | None = None,
    ) -> int:
        """Record a write about to be sent; returns its id. ``created_at``: epoch seconds on
        the client's clock (the guard passes it: simulated in a backtest), default now."""
        now = time.time() if created_at is None else created_at
        epic = (body or {}).get("epic")
        with self._lock:
            cursor = self._db(account).execute(
                "INSERT INTO writes (account, endpoint, method, path, body, epic, created_at,"
                " status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account, endpoint, method, path, json.dumps(body or {}), epic, now, status, now),
            )
            return int(cursor.lastrowid or 0)

    def record_sent(
        self, account: str, entry_id: int, deal_reference: str, *, at: float | None = None
    ) -> None:
        """The server answered with ``deal_reference`` (``at``: when, default now)."""
        self._update(account, entry_id, at, status="sent", deal_reference=deal_reference)

    def record_outcome(
        self,
        account: str,
        entry_id: int,
        status: str,
        *,
        verdict: str | None = None,
        reason: str | None = None,
        deal_ids: Iterable[str] = (),
        deal_reference: str | None = None,
        at: float | None = None,
    ) -> None:
        """The write ended (confirmed, rejected, refused, unknown, reconciled, dry_run);
        ``at``: when (epoch seconds on the client's clock), default now."""
        self._update(
            account,
            entry_id,
            at,
            status=status,
            verdict=verdict,
            reason=reason,
            deal_ids=json.dumps(sorted(set(deal_ids))),
            deal_reference=deal_reference,
        )

    def _update(self, account: str, entry_id: int, at: float | None, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        values["updated_at"] = time.time() if at is None else at
        columns = ", ".join(f"{name} = ?" for name in values)
        with self._lock:
            self._db(account).execute(
                f"UPDATE writes SET {columns} WHERE id = ?",  # noqa: S608  (column names are ours)
                (*values.values(), entry_id),
            )

    # -- reading -----------------------------------------------------------------------------
    def entries(self, account: str, *, status: Iterable[str] | None = None) -> list[JournalEntry]:
        """Every write of ``account`` in order (only those with one of ``status`` if given)."""
        query = "SELECT * FROM writes"
        args: tuple[Any, ...] = ()
        if status is not None:
            wanted = tuple(status)
            query += f" WHERE status IN ({', '.join('?' for _ in wanted)})"
            args = wanted
        with self._lock:
            db = self._db(account)
            db.row_factory = sqlite3.Row
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [_entry(row) for row in rows]

    def pending(self, account: str) -> list[JournalEntry]:
        """Writes whose outcome is not settled (intent, sent, unknown)."""
        return self.entries(account, status=PENDING)

    def count_placements(self, account: str, since: float) -> int:
        """Placements (opens and order creations) sent or pending since ``since`` (epoch s)."""
        with self._lock:
            row = (
                self._db(account)
                .execute(
                    "SELECT COUNT(*) FROM writes WHERE created_at >= ? AND endpoint IN"
                    " ('positions.open', 'orders.create') AND status NOT IN ('refused', 'dry_run')",
                    (since,),
                )
                .fetchone()
            )
        return int(row[0])

    def owned_deal_ids(self, account: str, *, epic: str | None = None) -> frozenset[str]:
        """Deal ids of the positions and working orders this journal's writes opened (on
        ``epic`` only, when given), whether still open or not."""
        owned: set[str] = set()
        for entry in self.entries(account, status=("confirmed", "reconciled")):
            if epic is not None and entry.epic != epic:
                continue
            if entry.endpoint in ("positions.open", "orders.create") and entry.verdict in (
                "ACCEPTED",
                "FOUND",
            ):
                owned.update(entry.deal_ids)
        return frozenset(owned)

    def closed_deal_ids(self, account: str) -> frozenset[str]:
        """Deal ids this journal's writes closed or cancelled (confirmed or reconciled FOUND)."""
        return frozenset(
            entry.path.rstrip("/").rsplit("/", 1)[-1]
            for entry in self.entries(account, status=("confirmed", "reconciled"))
            if entry.endpoint in ("positions.close", "orders.delete")
            and entry.verdict in ("ACCEPTED", "FOUND")
        )

    def owns(self, account: str, deal_id: str, working_order_id: str | None = None) -> bool:
        """Whether a position (or order) was opened by this journal's writes (a filled order's
        position is owned when the order was)."""
        owned = self.owned_deal_ids(account)
        return deal_id in owned or (working_order_id is not None and working_order_id in owned)


def _entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        id=row["id"],
        account=row["account"],
        endpoint=row["endpoint"],
        method=row["method"],
        path=row["path"],
        body=json.loads(row["body"]),
        epic=row["epic"],
        created_at=row["created_at"],
        deal_reference=row["deal_reference"],
        status=row["status"],
        verdict=row["verdict"],
        reason=row["reason"],
        deal_ids=tuple(json.loads(row["deal_ids"])),
        updated_at=row["updated_at"],
    )
