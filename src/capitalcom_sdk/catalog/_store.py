"""The catalog's files on a local path or any fsspec URL; every write is atomic.

A file is written to ``_staging/`` under the root (outside ``prices/``, so no reader of the
layout ever lists it), flushed and fsynced, then renamed into place; on a local disk the
directory is fsynced too, so a rename that returned survives a power cut. On object stores a
rename is a server-side copy of a complete object, so a half-written file is never visible
there either. Leftovers in ``_staging/`` (a run killed mid-write) are removed by the next run.
"""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

from capitalcom_sdk.catalog._format import (
    MANIFEST,
    METADATA_KEY,
    PRICES_DIR,
    STAGING,
    PartInfo,
)
from capitalcom_sdk.data._optional import require

if TYPE_CHECKING:
    import pyarrow as pa

logger = logging.getLogger("capitalcom_sdk.catalog")


class Store:
    """Paths relative to the root; ``fs`` is the fsspec filesystem of the root."""

    def __init__(self, root: str | os.PathLike[str], storage_options: dict[str, Any] | None):
        fsspec: Any = require("fsspec", "the catalog")
        self.url = os.fspath(root)
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        self.root = str(self.root).rstrip("/")
        self.local = type(self.fs).__name__ == "LocalFileSystem"

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def relative(self, path: str) -> str:
        path = str(path)
        prefix = self.root.rstrip("/") + "/"
        return path[len(prefix) :] if path.startswith(prefix) else path.lstrip("/")

    # -- atomic writes -----------------------------------------------------------------------
    def write_atomic(self, relative: str, data: bytes) -> None:
        """Put ``data`` at ``relative`` so that readers see the old state or all of it."""
        final = self.path(relative)
        staging = self.path(f"{STAGING}/{uuid.uuid4().hex}.tmp")
        if self.local:
            os.makedirs(os.path.dirname(staging), exist_ok=True)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            with open(staging, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(staging, final)
            _fsync_dir(os.path.dirname(final))
            return
        self.fs.makedirs(self.path(STAGING), exist_ok=True)
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        self.fs.pipe_file(staging, data)
        self.fs.mv(staging, final)

    def remove(self, relative: str) -> None:
        path = self.path(relative)
        if self.fs.exists(path):
            self.fs.rm(path)

    def clean_staging(self) -> int:
        """Delete what a killed run left in ``_staging/``; returns how many files."""
        staging = self.path(STAGING)
        if not self.fs.exists(staging):
            return 0
        leftovers = [p for p in self.fs.ls(staging, detail=False) if str(p).endswith(".tmp")]
        for leftover in leftovers:
            self.fs.rm(leftover)
        if leftovers:
            logger.info("removed %d unfinished file(s) of an earlier run", len(leftovers))
        return len(leftovers)

    # -- manifest ----------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        path = self.path(MANIFEST)
        if not self.fs.exists(path):
            return None
        try:
            with self.fs.open(path, "rb") as handle:
                document: dict[str, Any] = json.loads(handle.read())
        except ValueError:
            logger.warning("manifest %s is unreadable; rebuilding it from the data files", path)
            return None
        return document

    def write_manifest(self, document: dict[str, Any]) -> None:
        text = json.dumps(document, indent=1, sort_keys=True)
        self.write_atomic(MANIFEST, text.encode())

    # -- part files --------------------------------------------------------------------------
    def part_files(self, under: str = PRICES_DIR) -> list[str]:
        """Every ``.parquet`` below ``under`` (relative paths, sorted)."""
        base = self.path(under)
        if not self.fs.exists(base):
            return []
        found = self.fs.find(base)
        return sorted(self.relative(p) for p in found if str(p).endswith(".parquet"))

    def write_part(self, relative: str, table: pa.Table, info: PartInfo) -> None:
        pq: Any = require("pyarrow.parquet", "the catalog")
        metadata = dict(table.schema.metadata or {})
        metadata[METADATA_KEY] = info.encode()
        buffer = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(metadata), buffer, compression="zstd")
        self.write_atomic(relative, buffer.getvalue())

    def read_info(self, relative: str) -> PartInfo | None:
        """The :class:`PartInfo` in a part file's footer (None: not a catalog file)."""
        pq: Any = require("pyarrow.parquet", "the catalog")
        try:
            with self.fs.open(self.path(relative), "rb") as handle:
                metadata = pq.read_metadata(handle).metadata or {}
            raw = metadata.get(METADATA_KEY)
            return PartInfo.from_json(json.loads(raw)) if raw else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("skipping %s: not a readable catalog file (%s)", relative, exc)
            return None

    def read_part(self, relative: str, columns: list[str] | None = None) -> pa.Table:
        pq: Any = require("pyarrow.parquet", "the catalog")
        # a local file is read by Arrow's own (native, multi-threaded) file system
        filesystem = None if self.local else self.fs
        table: pa.Table = pq.read_table(
            self.path(relative), filesystem=filesystem, columns=columns, partitioning=None
        )
        return table


def _fsync_dir(path: str) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory descriptors
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
