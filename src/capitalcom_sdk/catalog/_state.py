"""What the catalog holds: part files and covered ranges, from the manifest checked against the
files. The data files are the truth: a file the manifest does not list (a run killed between
renaming it into place and writing the manifest) is adopted from its own metadata, a listed file
that is gone is forgotten, and files replaced by a compacted one are dropped."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from capitalcom_sdk.catalog._format import SCHEMA_VERSION, PartInfo
from capitalcom_sdk.catalog._intervals import Span, union
from capitalcom_sdk.catalog._store import Store

logger = logging.getLogger("capitalcom_sdk.catalog")
FORMAT = "capitalcom-sdk price catalog"
SeriesKey = tuple[str, str]  # (epic, resolution)


def series_name(key: SeriesKey) -> str:
    return f"{key[0]}/{key[1]}"


@dataclass
class SeriesMeta:
    """Per (epic, resolution): instrument facts and covered ranges that hold no bars."""

    decimal_places: int | None = None
    instrument_type: str | None = None
    empty: list[Span] = field(default_factory=list)


class CatalogState:
    """Part files and series of a catalog (in memory; :meth:`save` writes the manifest)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.files: dict[str, PartInfo] = {}
        self.series: dict[SeriesKey, SeriesMeta] = defaultdict(SeriesMeta)
        self.decimals: dict[str, int] = {}
        self.superseded: list[str] = []  # replaced by a compacted file but still on disk

    @classmethod
    def load(cls, store: Store) -> CatalogState:
        """The manifest, corrected by the files actually present."""
        state = cls(store)
        document = store.read_manifest() or {}
        listed: dict[str, Any] = document.get("files", {})
        for name, meta in document.get("series", {}).items():
            epic, resolution = name.split("/", 1)
            state.series[(epic, resolution)] = SeriesMeta(
                decimal_places=meta.get("decimal_places"),
                instrument_type=meta.get("instrument_type"),
                empty=[(int(a), int(b)) for a, b in meta.get("empty", [])],
            )
        state.decimals = {str(k): int(v) for k, v in document.get("decimals", {}).items()}
        present = store.part_files()
        for relative in present:
            if relative in listed:
                state.files[relative] = PartInfo.from_json(listed[relative])
                continue
            info = store.read_info(relative)
            if info is not None:
                logger.info("adopting %s (written by a run that did not finish)", relative)
                state.files[relative] = info
        forgotten = set(listed) - set(present)
        if forgotten:
            logger.warning(
                "%d file(s) in the manifest are gone; their ranges are refetched", len(forgotten)
            )
        for relative, info in list(state.files.items()):
            folder = relative.rsplit("/", 1)[0]
            for name in info.replaces:
                old = f"{folder}/{name}"
                if old != relative and old in state.files:
                    del state.files[old]
                    state.superseded.append(old)
        return state

    def save(self) -> None:
        document = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "decimals": dict(sorted(self.decimals.items())),
            "series": {
                series_name(key): {
                    "decimal_places": meta.decimal_places,
                    "instrument_type": meta.instrument_type,
                    "empty": [list(span) for span in union(meta.empty)],
                }
                for key, meta in sorted(self.series.items())
            },
            "files": {name: info.to_json() for name, info in sorted(self.files.items())},
        }
        self.store.write_manifest(document)

    # -- queries -----------------------------------------------------------------------------
    def series_keys(self) -> list[SeriesKey]:
        found = {(i.epic, i.resolution) for i in self.files.values()} | set(self.series)
        return sorted(found)

    def files_of(self, key: SeriesKey, year: int | None = None) -> list[tuple[str, PartInfo]]:
        """The series' part files, ordered by the first instant they cover."""
        chosen = [
            (name, info)
            for name, info in self.files.items()
            if (info.epic, info.resolution) == key and (year is None or info.year == year)
        ]
        return sorted(chosen, key=lambda item: (item[1].coverage[0][0], item[0]))

    def coverage(self, key: SeriesKey) -> list[Span]:
        spans = [span for _, info in self.files_of(key) for span in info.coverage]
        meta = self.series.get(key)
        return union(spans + (meta.empty if meta else []))

    def rows(self, key: SeriesKey) -> int:
        return sum(info.rows for _, info in self.files_of(key))
