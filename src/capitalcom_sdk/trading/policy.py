"""``TradingPolicy``: limits a bot is held to, enforced in the SDK before an order is sent.

Placements (``positions.open``, ``orders.create``) are checked against every limit; amendments
only against the allow-list and the live flag; closes and cancels are never blocked by the
policy (they reduce risk), except that dry-run does not send them either.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from capitalcom_sdk.trading.errors import PolicyViolation

__all__ = ["OpenExposure", "TradingPolicy", "check_placement"]

PLACEMENTS = frozenset({"positions.open", "orders.create"})
REDUCING = frozenset({"positions.close", "orders.delete"})


@dataclass(frozen=True)
class TradingPolicy:
    """Limits enforced before an order write is sent (None: no limit).

    Attributes:
        allowed_epics: the only markets orders may be placed on.
        max_order_size: the largest size of one order.
        max_open_positions: open positions in total, the new one included.
        max_open_positions_per_epic: open positions on one market, the new one included.
        max_exposure_per_epic: open size on one market (units, both directions added up), the
            new order included.
        max_total_exposure: notional of every open position plus the new order (size * price
            converted to the account currency).
        max_orders_per_hour, max_orders_per_day: placements sent in the last 3600 s / 86400 s
            (counted from the journal when there is one, so a restart does not reset them).
        max_daily_loss: realised loss since 00:00 UTC (account currency, positive number); when
            reached, placements stop until the next day.
        dry_run: run every check, send nothing; a synthetic result marked dry-run comes back.
        allow_live: required to send anything on the live environment.
    """

    allowed_epics: AbstractSet[str] | None = None
    max_order_size: float | None = None
    max_open_positions: int | None = None
    max_open_positions_per_epic: int | None = None
    max_exposure_per_epic: float | None = None
    max_total_exposure: float | None = None
    max_orders_per_hour: int | None = None
    max_orders_per_day: int | None = None
    max_daily_loss: float | None = None
    dry_run: bool = False
    allow_live: bool = False

    def __post_init__(self) -> None:
        if self.allowed_epics is not None and not isinstance(self.allowed_epics, frozenset):
            object.__setattr__(self, "allowed_epics", frozenset(self.allowed_epics))
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name.startswith("max_") and value is not None:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{item.name}: expected a number, got {value!r}")
                if not math.isfinite(value) or value <= 0:
                    raise ValueError(f"{item.name}: expected a positive number, got {value!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TradingPolicy:
        """A policy from a mapping (config file section); unknown keys are an error."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(unknown)}")
        values = dict(data)
        if values.get("allowed_epics") is not None:
            epics = values["allowed_epics"]
            if isinstance(epics, str) or not isinstance(epics, Iterable):
                raise ValueError("allowed_epics: expected a list of epics")
            values["allowed_epics"] = frozenset(str(e) for e in epics)
        for flag in ("dry_run", "allow_live"):
            if flag in values and not isinstance(values[flag], bool):
                raise ValueError(f"{flag}: expected true or false")
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> TradingPolicy:
        """Read a policy from TOML (a ``[policy]`` table or top level) or JSON."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        data: Mapping[str, Any]
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        section = data.get("policy", data)
        if not isinstance(section, Mapping):
            raise ValueError(f"{path}: the policy must be a table")
        return cls.from_mapping(section)

    def as_dict(self) -> dict[str, Any]:
        """The policy as plain data (for display); epics sorted."""
        out = asdict(self)
        if self.allowed_epics is not None:
            out["allowed_epics"] = sorted(self.allowed_epics)
        return out

    @property
    def needs_positions(self) -> bool:
        """Whether checking a placement reads the open positions."""
        return any(
            v is not None
            for v in (
                self.max_open_positions,
                self.max_open_positions_per_epic,
                self.max_exposure_per_epic,
                self.max_total_exposure,
            )
        )


@dataclass(frozen=True)
class OpenExposure:
    """What is open now: per epic (count, size) and the total notional (account currency)."""

    count: int = 0
    per_epic_count: Mapping[str, int] = field(default_factory=dict)
    per_epic_size: Mapping[str, float] = field(default_factory=dict)
    notional: float = 0.0


def check_live(policy: TradingPolicy | None, live: bool) -> None:
    """Refuse to send on the live environment unless the policy allows it."""
    if live and (policy is None or not policy.allow_live):
        raise PolicyViolation(
            "allow_live", "live", False, "set TradingPolicy(allow_live=True) to trade live"
        )


def check_epic(policy: TradingPolicy, epic: str | None) -> None:
    """The allow-list."""
    allowed = policy.allowed_epics
    if allowed is not None and epic not in allowed:
        raise PolicyViolation("allowed_epics", epic, sorted(allowed))


def check_placement(
    policy: TradingPolicy,
    epic: str,
    size: float,
    *,
    orders_last_hour: int = 0,
    orders_last_day: int = 0,
    realised_today: float = 0.0,
    exposure: OpenExposure | None = None,
    notional: float = 0.0,
) -> None:
    """Raise :class:`PolicyViolation` when a new order of ``size`` on ``epic`` breaks a limit.

    ``realised_today`` is today's realised P&L (negative: a loss); ``notional`` the new order's
    notional in the account currency (only read with ``max_total_exposure``).
    """
    check_epic(policy, epic)
    if policy.max_order_size is not None and size > policy.max_order_size + 1e-12:
        raise PolicyViolation("max_order_size", size, policy.max_order_size)
    if policy.max_daily_loss is not None and -realised_today >= policy.max_daily_loss:
        raise PolicyViolation(
            "max_daily_loss", round(-realised_today, 2), policy.max_daily_loss, "trading stopped"
        )
    if policy.max_orders_per_hour is not None and orders_last_hour + 1 > policy.max_orders_per_hour:
        raise PolicyViolation(
            "max_orders_per_hour", orders_last_hour + 1, policy.max_orders_per_hour
        )
    if policy.max_orders_per_day is not None and orders_last_day + 1 > policy.max_orders_per_day:
        raise PolicyViolation("max_orders_per_day", orders_last_day + 1, policy.max_orders_per_day)
    if exposure is None:
        return
    if policy.max_open_positions is not None and exposure.count + 1 > policy.max_open_positions:
        raise PolicyViolation("max_open_positions", exposure.count + 1, policy.max_open_positions)
    on_epic = exposure.per_epic_count.get(epic, 0) + 1
    limit = policy.max_open_positions_per_epic
    if limit is not None and on_epic > limit:
        raise PolicyViolation("max_open_positions_per_epic", on_epic, limit, epic)
    epic_size = exposure.per_epic_size.get(epic, 0.0) + size
    limit_size = policy.max_exposure_per_epic
    if limit_size is not None and epic_size > limit_size + 1e-12:
        raise PolicyViolation("max_exposure_per_epic", epic_size, limit_size, epic)
    total = exposure.notional + notional
    if policy.max_total_exposure is not None and total > policy.max_total_exposure + 1e-9:
        raise PolicyViolation("max_total_exposure", round(total, 2), policy.max_total_exposure)
