"""The simulator's instruments: one data table (no per-instrument branches) plus opening hours.

Near 500 lines because most of it is that table (data, one line per market).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from capitalcom_sim.errors import ApiError

MINUTE_MS = 60_000
WEEK_MINUTES = 7 * 24 * 60
WEEK_MS = WEEK_MINUTES * MINUTE_MS
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# 1970-01-01 was a Thursday: the first Monday 00:00 UTC after the epoch.
_MONDAY_EPOCH_MS = 4 * 24 * 3600 * 1000

Hours = Mapping[str, tuple[str, ...]]


def _week_hours(
    mon_thu: tuple[str, ...], fri: tuple[str, ...], sat: tuple[str, ...], sun: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    hours = {day: mon_thu for day in ("mon", "tue", "wed", "thu")}
    hours.update(fri=fri, sat=sat, sun=sun)
    return hours


ALWAYS = ("00:00 - 00:00",)
HOURS: dict[str, dict[str, tuple[str, ...]]] = {
    "crypto": _week_hours(ALWAYS, ALWAYS, ALWAYS, ALWAYS),
    "fx": _week_hours(ALWAYS, ("00:00 - 21:00",), (), ("22:00 - 00:00",)),
    "commodity": _week_hours(
        ("00:00 - 21:59", "23:05 - 00:00"), ("00:00 - 21:59",), (), ("23:05 - 00:00",)
    ),
    "us_index": _week_hours(
        ("00:00 - 21:00", "22:00 - 00:00"), ("00:00 - 21:00",), (), ("22:00 - 00:00",)
    ),
    "eu_index": _week_hours(("06:00 - 21:00",), ("06:00 - 21:00",), (), ()),
    "asia_index": _week_hours(("00:00 - 06:00", "07:00 - 21:00"), ("00:00 - 06:00",), (), ()),
    "us_share": _week_hours(("13:30 - 20:00",), ("13:30 - 20:00",), (), ()),
    "eu_share": _week_hours(("07:00 - 15:30",), ("07:00 - 15:30",), (), ()),
    "sg_share": _week_hours(("01:00 - 09:00",), ("01:00 - 09:00",), (), ()),
}


def _minutes(text: str) -> int:
    hh, mm = text.strip().split(":")
    return int(hh) * 60 + int(mm)


class OpeningHours:
    """Weekly opening hours (UTC, minute-aligned) with fast open/closed queries."""

    def __init__(self, hours: Hours) -> None:
        self.hours = {day: tuple(hours.get(day, ())) for day in DAY_KEYS}
        spans: list[tuple[int, int]] = []
        for index, day in enumerate(DAY_KEYS):
            for item in self.hours[day]:
                start_text, end_text = item.split("-")
                start, end = _minutes(start_text), _minutes(end_text)
                if end == 0:
                    end = 24 * 60  # "00:00" as an end means midnight
                spans.append((index * 1440 + start, index * 1440 + end))
        spans.sort()
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        # in ms from Monday 00:00
        self._starts = [s * MINUTE_MS for s, _ in merged]
        self._ends = [e * MINUTE_MS for _, e in merged]
        self.always = merged == [[0, WEEK_MINUTES]]

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {day: list(self.hours[day]) for day in DAY_KEYS}
        out["zone"] = "UTC"
        return out

    @staticmethod
    def _split(t_ms: int) -> tuple[int, int]:
        """(start of the Monday-based week containing t, offset of t in that week)."""
        offset = (t_ms - _MONDAY_EPOCH_MS) % WEEK_MS
        return t_ms - offset, offset

    def is_open(self, t_ms: int) -> bool:
        if self.always:
            return True
        _, offset = self._split(t_ms)
        i = bisect.bisect_right(self._starts, offset) - 1
        return i >= 0 and offset < self._ends[i]

    def any_open(self, start_ms: int, end_ms: int) -> bool:
        """Whether any instant of [start, end) is inside the opening hours."""
        if self.always:
            return end_ms > start_ms
        if not self._starts or end_ms <= start_ms:
            return False
        if end_ms - start_ms >= WEEK_MS:
            return True
        _, offset = self._split(start_ms)
        length = end_ms - start_ms
        for base in (0, WEEK_MS):  # the window may wrap into the next week
            lo, hi = offset - base, offset + length - base
            i = bisect.bisect_right(self._ends, lo)
            if i < len(self._starts) and self._starts[i] < hi:
                return True
        return False

    def open_intervals(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """The open parts of [start, end) as (start, end) pairs in time order."""
        if self.always:
            return [(start_ms, end_ms)] if end_ms > start_ms else []
        out: list[tuple[int, int]] = []
        week, _ = self._split(start_ms)
        while week < end_ms:
            for s, e in zip(self._starts, self._ends, strict=True):
                lo, hi = max(start_ms, week + s), min(end_ms, week + e)
                if lo < hi:
                    if out and out[-1][1] == lo:
                        out[-1] = (out[-1][0], hi)
                    else:
                        out.append((lo, hi))
            week += WEEK_MS
        return out

    def open_ms(self, start_ms: int, end_ms: int) -> int:
        """How many milliseconds of [start, end) are open."""
        if self.always:
            return max(0, end_ms - start_ms)
        return sum(e - s for s, e in self.open_intervals(start_ms, end_ms))

    def last_open_before(self, t_ms: int) -> int | None:
        """End (exclusive) of the last open instant at or before ``t``: t itself when open."""
        if self.always or self.is_open(t_ms):
            return t_ms + 1
        if not self._starts:
            return None
        week, offset = self._split(t_ms)
        i = bisect.bisect_right(self._ends, offset) - 1
        if i >= 0:
            return week + self._ends[i]
        return week - WEEK_MS + self._ends[-1]

    def next_open_after(self, t_ms: int) -> int | None:
        """First open instant at or after ``t``."""
        if self.always or self.is_open(t_ms):
            return t_ms
        if not self._starts:
            return None
        week, offset = self._split(t_ms)
        i = bisect.bisect_right(self._starts, offset)
        if i < len(self._starts):
            return week + self._starts[i]
        return week + WEEK_MS + self._starts[0]


@dataclass(frozen=True)
class Instrument:
    """One market and its dealing rules. Distances in PERCENTAGE of the price."""

    epic: str
    symbol: str
    name: str
    type: str  # instrument type = leverage group
    currency: str
    decimals: int
    spread: float  # offer - bid, in price units
    base_price: float  # mid price the seeded process wanders around
    daily_volatility: float  # fraction of the price per day
    hours_key: str
    lot_size: float = 1
    min_deal_size: float = 1
    max_deal_size: float = 100_000
    min_size_increment: float = 1
    min_stop_pct: float = 0.01
    max_stop_pct: float = 60.0
    min_guaranteed_pct: float = 1.0
    margin_factor: float = 5.0  # minimum margin in percent of the notional
    guaranteed_stop_allowed: bool = True
    trailing_stops: bool = True
    market_order_preference: str = "AVAILABLE_DEFAULT_ON"
    long_rate: float = -0.02
    short_rate: float = 0.005
    country: str = ""
    base_volume: int = 600  # mean traded volume per minute
    opening_hours: OpeningHours = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "opening_hours", OpeningHours(HOURS[self.hours_key]))

    @property
    def scale(self) -> int:
        """Price units per 1.0 of price (10^decimals)."""
        return int(10**self.decimals)

    @property
    def unit(self) -> float:
        """The price grid: 10^-decimals."""
        return 10.0**-self.decimals

    @property
    def spread_units(self) -> int:
        """offer - bid in price units: at least one unit, except a spread set to exactly zero."""
        if self.spread == 0:
            return 0
        return max(1, round(self.spread * self.scale))

    @property
    def leverage_group(self) -> str:
        return self.type

    def round_price(self, value: float) -> float:
        return round(value, self.decimals)


def _fx(epic: str, price: float, decimals: int, spread: float, **kw: object) -> Instrument:
    base, quote = epic[:3], epic[3:]
    return Instrument(
        epic=epic,
        symbol=f"{base}/{quote}",
        name=f"{base}/{quote}",
        type="CURRENCIES",
        currency=quote,
        decimals=decimals,
        spread=spread,
        base_price=price,
        daily_volatility=0.005,
        hours_key="fx",
        min_deal_size=100,
        max_deal_size=10_000_000,
        min_size_increment=1,
        max_stop_pct=40.0,
        margin_factor=3.33,
        base_volume=2000,
        **kw,  # type: ignore[arg-type]
    )


def _share(
    epic: str,
    symbol: str,
    name: str,
    currency: str,
    price: float,
    hours: str,
    country: str,
    **kw: object,
) -> Instrument:
    return Instrument(
        epic=epic,
        symbol=symbol,
        name=name,
        type="SHARES",
        currency=currency,
        decimals=kw.pop("decimals", 2),  # type: ignore[arg-type]
        spread=kw.pop("spread", round(price * 0.0008, 2) or 0.01),  # type: ignore[arg-type]
        base_price=price,
        daily_volatility=0.02,
        hours_key=hours,
        min_deal_size=1,
        max_deal_size=10_000,
        min_size_increment=1,
        min_stop_pct=0.1,
        max_stop_pct=75.0,
        min_guaranteed_pct=2.0,
        margin_factor=20.0,
        trailing_stops=False,
        country=country,
        base_volume=300,
        **kw,  # type: ignore[arg-type]
    )


def _index(
    epic: str, name: str, currency: str, price: float, spread: float, hours: str, country: str
) -> Instrument:
    return Instrument(
        epic=epic,
        symbol=epic,
        name=name,
        type="INDICES",
        currency=currency,
        decimals=1,
        spread=spread,
        base_price=price,
        daily_volatility=0.01,
        hours_key=hours,
        min_deal_size=0.1,
        max_deal_size=1000,
        min_size_increment=0.1,
        max_stop_pct=50.0,
        margin_factor=5.0,
        country=country,
        base_volume=1500,
    )


def _commodity(
    epic: str, name: str, price: float, decimals: int, spread: float, vol: float, **kw: object
) -> Instrument:
    return Instrument(
        epic=epic,
        symbol=kw.pop("symbol", name),  # type: ignore[arg-type]
        name=name,
        type="COMMODITIES",
        currency="USD",
        decimals=decimals,
        spread=spread,
        base_price=price,
        daily_volatility=vol,
        hours_key="commodity",
        min_deal_size=kw.pop("min_deal_size", 1),  # type: ignore[arg-type]
        max_deal_size=100_000,
        min_size_increment=kw.pop("min_size_increment", 0.1),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def _crypto(epic: str, name: str, price: float, decimals: int, spread: float) -> Instrument:
    return Instrument(
        epic=epic,
        symbol=f"{epic[:-3]}/USD",
        name=name,
        type="CRYPTOCURRENCIES",
        currency="USD",
        decimals=decimals,
        spread=spread,
        base_price=price,
        daily_volatility=0.04,
        hours_key="crypto",
        min_deal_size=0.001 if price > 1000 else 1,
        max_deal_size=1000 if price > 1000 else 1_000_000,
        min_size_increment=0.001 if price > 1000 else 1,
        min_stop_pct=0.5,
        max_stop_pct=90.0,
        margin_factor=50.0,
        guaranteed_stop_allowed=False,
        long_rate=-0.0616,
        short_rate=-0.0137,
        base_volume=400,
    )


INSTRUMENTS: tuple[Instrument, ...] = (
    # currencies (the quote currency is the instrument currency)
    _fx("EURUSD", 1.08, 5, 0.00006),
    _fx("GBPUSD", 1.27, 5, 0.00009),
    _fx("USDJPY", 150.0, 3, 0.007),
    _fx("USDCHF", 0.88, 5, 0.00012),
    _fx("AUDUSD", 0.66, 5, 0.00008),
    _fx("USDCAD", 1.36, 5, 0.00013),
    _fx("NZDUSD", 0.61, 5, 0.00012),
    _fx("EURGBP", 0.85, 5, 0.0001),
    _fx("EURJPY", 162.0, 3, 0.013),
    _fx("GBPJPY", 190.5, 3, 0.02),
    _fx("EURCHF", 0.95, 5, 0.00015),
    _fx("AUDJPY", 99.0, 3, 0.016),
    _fx("USDSGD", 1.34, 5, 0.0003),
    # commodities (SILVER as in the documented example)
    _commodity("NATURALGAS", "Natural Gas", 2.76, 3, 0.005, 0.03),
    _commodity(
        "SILVER",
        "Silver",
        24.3,
        3,
        0.02,
        0.018,
        margin_factor=10.0,
        trailing_stops=False,
        long_rate=-0.0199715,  # the documented example's rates
        short_rate=0.0117515,
    ),
    _commodity("GOLD", "Gold", 2350.0, 2, 0.3, 0.01),
    _commodity("OIL_CRUDE", "Crude Oil", 78.5, 2, 0.03, 0.02, symbol="Crude Oil"),
    _commodity("OIL_BRENT", "Brent Oil", 82.4, 2, 0.03, 0.02),
    _commodity("COPPER", "Copper", 4.3, 4, 0.003, 0.015),
    _commodity("PLATINUM", "Platinum", 950.0, 2, 1.2, 0.015),
    _commodity("PALLADIUM", "Palladium", 1000.0, 2, 2.5, 0.02),
    _commodity("COCOA", "Cocoa", 7500.0, 1, 8.0, 0.03, min_deal_size=0.1),
    # indices
    _index("US500", "US 500", "USD", 5200.0, 0.4, "us_index", "United States of America"),
    _index("US100", "US Tech 100", "USD", 18000.0, 1.0, "us_index", "United States of America"),
    _index(
        "US30", "US Wall Street 30", "USD", 39000.0, 2.0, "us_index", "United States of America"
    ),
    _index("DE40", "Germany 40", "EUR", 18000.0, 1.2, "eu_index", "Germany"),
    _index("UK100", "UK 100", "GBP", 8100.0, 1.0, "eu_index", "United Kingdom"),
    _index("FR40", "France 40", "EUR", 8000.0, 1.0, "eu_index", "France"),
    _index("EU50", "Euro Stocks 50", "EUR", 5000.0, 1.0, "eu_index", ""),
    _index("J225", "Japan 225", "JPY", 38000.0, 8.0, "asia_index", "Japan"),
    _index("AU200", "Australia 200", "AUD", 7700.0, 1.0, "asia_index", "Australia"),
    _index("CH20", "Switzerland 20", "CHF", 11500.0, 2.0, "eu_index", "Switzerland"),
    # shares
    _share("AAPL", "AAPL", "Apple Inc", "USD", 190.0, "us_share", "United States of America"),
    _share("TSLA", "TSLA", "Tesla Inc", "USD", 175.0, "us_share", "United States of America"),
    _share("AMZN", "AMZN", "Amazon.com Inc", "USD", 180.0, "us_share", "United States of America"),
    _share("MSFT", "MSFT", "Microsoft Corp", "USD", 420.0, "us_share", "United States of America"),
    _share("NVDA", "NVDA", "NVIDIA Corp", "USD", 880.0, "us_share", "United States of America"),
    _share(
        "GOOGL", "GOOGL", "Alphabet Inc - A", "USD", 160.0, "us_share", "United States of America"
    ),
    _share(
        "META", "META", "Meta Platforms Inc", "USD", 480.0, "us_share", "United States of America"
    ),
    _share(
        "SI",
        "SI",
        "Silvergate Capital Corporation",
        "USD",
        30.0,
        "us_share",
        "United States of America",
    ),
    _share(
        "5CPSG",
        "5CPsg",
        "Silverlake Axis",
        "SGD",
        0.32,
        "sg_share",
        "Singapore",
        decimals=3,
        spread=0.009,
    ),
    _share("BMW", "BMWde", "Bayerische Motoren Werke AG", "EUR", 100.0, "eu_share", "Germany"),
    _share("SAP", "SAPde", "SAP SE", "EUR", 170.0, "eu_share", "Germany"),
    _share("SIE", "SIEde", "Siemens AG", "EUR", 175.0, "eu_share", "Germany"),
    _share(
        "HSBA",
        "HSBAuk",
        "HSBC Holdings PLC",
        "GBP",
        6.5,
        "eu_share",
        "United Kingdom",
        decimals=3,
        spread=0.005,
    ),
    _share(
        "BP", "BPuk", "BP PLC", "GBP", 4.8, "eu_share", "United Kingdom", decimals=3, spread=0.004
    ),
    _share("NESN", "NESNch", "Nestle SA", "CHF", 95.0, "eu_share", "Switzerland"),
    # cryptocurrencies (24/7)
    _crypto("BTCUSD", "Bitcoin/USD", 65000.0, 2, 30.0),
    _crypto("ETHUSD", "Ethereum/USD", 3200.0, 2, 2.5),
    _crypto("LTCUSD", "Litecoin/USD", 85.0, 2, 0.3),
    _crypto("XRPUSD", "Ripple/USD", 0.52, 4, 0.002),
    _crypto("SOLUSD", "Solana/USD", 150.0, 2, 0.4),
    _crypto("DOGEUSD", "Dogecoin/USD", 0.15, 5, 0.0006),
)


class InstrumentTable:
    """Lookup of instruments by epic, in table order."""

    def __init__(self, instruments: tuple[Instrument, ...]) -> None:
        self._by_epic = {i.epic: i for i in instruments}
        self.all: tuple[Instrument, ...] = instruments

    @classmethod
    def default(cls) -> InstrumentTable:
        return cls(INSTRUMENTS)

    def with_guaranteed_stops(self, epics: Iterable[str]) -> InstrumentTable:
        """This table with guaranteed stops allowed on ``epics`` (ValueError names unknown ones)."""
        wanted = frozenset(epics)
        unknown = sorted(wanted - set(self._by_epic))
        if unknown:
            raise ValueError(f"guaranteed_stop_required_epics: unknown epics {unknown}")
        if not wanted:
            return self
        return InstrumentTable(
            tuple(
                replace(inst, guaranteed_stop_allowed=True) if inst.epic in wanted else inst
                for inst in self.all
            )
        )

    def set_spread(self, epic: str, spread: float) -> Instrument:
        """Give ``epic`` a new spread (offer - bid, price units) from now on; the new instrument.

        The simulator keeps one spread per instrument, so bars already past are quoted with it
        too (the control plane's ``{"bid", "offer"}`` prices set it).
        """
        instrument = replace(self.require(epic), spread=spread)
        self._by_epic[epic] = instrument
        self.all = tuple(instrument if i.epic == epic else i for i in self.all)
        return instrument

    def get(self, epic: str) -> Instrument | None:
        return self._by_epic.get(epic)

    def require(self, epic: str) -> Instrument:
        """The instrument or ApiError 404 ``error.not-found.epic``."""
        instrument = self._by_epic.get(epic)
        if instrument is None:
            raise ApiError(404, "error.not-found.epic")
        return instrument

    @property
    def epics(self) -> tuple[str, ...]:
        return tuple(self._by_epic)

    def __contains__(self, epic: object) -> bool:
        return epic in self._by_epic

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)
