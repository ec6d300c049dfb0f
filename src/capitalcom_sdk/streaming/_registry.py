"""What a stream is subscribed to, and on which connection (pure bookkeeping, no sockets).

A *slot* is one connection's worth of subscriptions: at most ``max_instruments`` distinct epics
(quotes and bars together, the server's limit). The registry places each epic on the slot that
already carries it, else on the first with room, else on a new slot; an epic leaves its slot
once neither its quotes nor any of its bars are wanted there. Refusals are recorded per
subscription key until the subscribe call that asked for the key collects them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple


class QuoteKey(NamedTuple):
    """The quotes of one epic."""

    epic: str


class OhlcKey(NamedTuple):
    """The bars of one epic at one resolution and bar type (one bar per price side)."""

    epic: str
    resolution: str
    bar_type: str


SubscriptionKey = QuoteKey | OhlcKey


@dataclass(eq=False)
class Slot:
    """One connection's worth of subscriptions: what it should carry and what was refused."""

    index: int
    quotes: set[str] = field(default_factory=set)
    ohlc: set[OhlcKey] = field(default_factory=set)
    epics: set[str] = field(default_factory=set)  # reserved here (quotes, bars, pending)
    refused: dict[SubscriptionKey, str | None] = field(default_factory=dict)  # -> errorCode

    def uses(self, epic: str) -> bool:
        """Whether quotes or bars of ``epic`` are wanted on this slot."""
        return epic in self.quotes or any(key.epic == epic for key in self.ohlc)

    @property
    def empty(self) -> bool:
        return not self.quotes and not self.ohlc

    def want(self, quotes: Sequence[str] = (), ohlc: Sequence[OhlcKey] = ()) -> None:
        """Carry these from now on (an earlier refusal of them is forgotten)."""
        for key in _keys(quotes, ohlc):
            self.refused.pop(key, None)
        self.quotes.update(quotes)
        self.ohlc.update(ohlc)

    def drop(self, quotes: Sequence[str] = (), ohlc: Sequence[OhlcKey] = ()) -> None:
        """Stop carrying these (the epics stay reserved until :meth:`Registry.release`)."""
        self.quotes.difference_update(quotes)
        self.ohlc.difference_update(ohlc)

    def refuse(self, key: SubscriptionKey, error_code: str | None) -> None:
        """The server refused ``key``: no longer carried, the refusal kept for the caller."""
        if isinstance(key, OhlcKey):
            self.ohlc.discard(key)
        else:
            self.quotes.discard(key.epic)
        self.refused[key] = error_code

    def take_refused(
        self, quotes: Sequence[str] = (), ohlc: Sequence[OhlcKey] = ()
    ) -> dict[SubscriptionKey, str | None]:
        """The refusals among these keys, forgotten once taken."""
        return {key: self.refused.pop(key) for key in _keys(quotes, ohlc) if key in self.refused}


def _keys(quotes: Sequence[str], ohlc: Sequence[OhlcKey]) -> list[SubscriptionKey]:
    return [*(QuoteKey(epic) for epic in quotes), *ohlc]


class Registry:
    """Every slot of a stream and which slot each epic is on."""

    def __init__(self, max_instruments: int) -> None:
        self.max_instruments = max_instruments
        self.slots: list[Slot] = []
        self._slot_of: dict[str, Slot] = {}

    def slot_of(self, epic: str) -> Slot | None:
        """The slot ``epic`` is reserved on, if any."""
        return self._slot_of.get(epic)

    def assign(self, epics: Iterable[str]) -> dict[Slot, list[str]]:
        """Place each epic on the slot that already carries it, else on one with room (a new
        slot when all are full); the epics grouped by slot, in the given order."""
        groups: dict[Slot, list[str]] = {}
        limit = self.max_instruments
        for epic in epics:
            slot = self._slot_of.get(epic)
            if slot is None:
                slot = next((s for s in self.slots if len(s.epics) < limit), None)
                if slot is None:
                    slot = Slot(len(self.slots))
                    self.slots.append(slot)
                slot.epics.add(epic)
                self._slot_of[epic] = slot
            groups.setdefault(slot, []).append(epic)
        return groups

    def release(self, slot: Slot, epics: Iterable[str]) -> None:
        """Free the reservation of those ``epics`` that ``slot`` no longer uses."""
        for epic in epics:
            if not slot.uses(epic):
                slot.epics.discard(epic)
                if self._slot_of.get(epic) is slot:
                    del self._slot_of[epic]

    def quotes_by_slot(self, epics: Iterable[str]) -> dict[Slot, list[str]]:
        """The subscribed quotes among ``epics``, grouped by slot (unknown ones left out)."""
        groups: dict[Slot, list[str]] = {}
        for epic in epics:
            slot = self._slot_of.get(epic)
            if slot is not None and epic in slot.quotes:
                groups.setdefault(slot, []).append(epic)
        return groups

    def ohlc_by_slot(
        self,
        epics: Iterable[str],
        resolutions: Sequence[str] | None = None,
        bar_types: Sequence[str] | None = None,
    ) -> dict[Slot, list[OhlcKey]]:
        """The subscribed bars of ``epics`` (only the named resolutions / types when given)."""
        groups: dict[Slot, list[OhlcKey]] = {}
        for epic in epics:
            slot = self._slot_of.get(epic)
            if slot is None:
                continue
            keys = [
                k
                for k in slot.ohlc
                if k.epic == epic
                and (resolutions is None or k.resolution in resolutions)
                and (bar_types is None or k.bar_type in bar_types)
            ]
            if keys:
                groups.setdefault(slot, []).extend(keys)
        return groups

    def quotes(self) -> set[str]:
        """Every epic whose quotes are carried."""
        return {epic for slot in self.slots for epic in slot.quotes}

    def ohlc(self) -> set[OhlcKey]:
        """Every bar subscription carried."""
        return {key for slot in self.slots for key in slot.ohlc}


def group_ohlc(keys: Iterable[OhlcKey]) -> dict[tuple[str, str], list[str]]:
    """Bar subscriptions as one request's worth each: (resolution, type) -> sorted epics."""
    groups: dict[tuple[str, str], list[str]] = {}
    for epic, resolution, bar_type in sorted(keys):
        groups.setdefault((resolution, bar_type), []).append(epic)
    return groups
