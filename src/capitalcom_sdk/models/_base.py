"""Base classes of the response models: snake_case attributes, camelCase wire names."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Generic,
    Literal,
    Self,
    SupportsIndex,
    TypeVar,
    overload,
)

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    TypeAdapter,
)
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

ItemT = TypeVar("ItemT")


class WireModel(BaseModel):
    """A model of something the server sends: frozen, unknown fields kept (``model_extra``).

    Schemas are built on first use (``defer_build``), not at import: a program pays only for
    the models of the endpoints it calls (bench/startup.py).
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        frozen=True,
        defer_build=True,
    )


class RequestModel(BaseModel):
    """A request body: serialised by alias, ``None`` fields left out, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class ListModel(WireModel, Generic[ItemT]):
    """A response that wraps a list: iterating, indexing and ``len()`` go over its items.

    ``for bar in client.prices.history(...)`` yields the bars, ``result[-1]`` is the last item,
    ``result[1:3]`` a plain list, ``len(result)`` the item count, and an empty result is falsy.
    This replaces pydantic's iteration over ``(field, value)`` pairs, so ``dict(result)`` does
    not give the fields: use ``model_dump()`` (or the attributes) for those.
    """

    items_field: ClassVar[str]
    """Name of the list field the result iterates over."""

    if not TYPE_CHECKING:
        # ``ListModel[PriceBar]`` types the items for checkers only. At run time it is the
        # class itself: no field uses the parameter, and a parametrised pydantic class per
        # list model would be built at import for nothing.
        def __class_getitem__(cls, item: Any) -> type[ListModel[Any]]:
            return cls

    @property
    def items(self) -> list[ItemT]:
        """The wrapped list (an empty list when the server sent none)."""
        value: list[ItemT] | None = getattr(self, self.items_field)
        return value if value is not None else []

    def __iter__(self) -> Iterator[ItemT]:  # type: ignore[override]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    @overload
    def __getitem__(self, index: SupportsIndex) -> ItemT: ...

    @overload
    def __getitem__(self, index: slice) -> list[ItemT]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> ItemT | list[ItemT]:
        return self.items[index]


class TableExport:
    """``to_pandas()`` / ``to_csv()`` / ``to_parquet()`` of a list result (docs/data.md).

    The tables are built by :mod:`capitalcom_sdk.data`, imported when a method is called (like
    pandas itself), so the models do not import the data package.
    """

    __slots__ = ()

    def to_pandas(self, *, decimal: bool = False) -> pd.DataFrame:
        """The items as a DataFrame (needs ``pip install 'capitalcom-sdk[data]'``).

        ``decimal=True``: prices and amounts as exact ``Decimal`` objects instead of floats.
        """
        from capitalcom_sdk.data.frames import to_pandas

        return to_pandas(self, decimal=decimal)

    def to_arrow(self) -> pa.Table:
        """The items as a ``pyarrow.Table`` (same columns; needs the ``data`` extra)."""
        from capitalcom_sdk.data.arrow import to_arrow

        return to_arrow(self)

    def to_polars(self) -> pl.DataFrame:
        """The items as a Polars DataFrame (same columns; needs the ``catalog`` extra)."""
        from capitalcom_sdk.data.arrow import to_polars

        return to_polars(self)

    def to_csv(self, path: str | os.PathLike[str]) -> int:
        """Write the items as CSV (no extra needed); returns the number of rows."""
        from capitalcom_sdk.data.files import write_csv

        return write_csv(self, path)

    def to_parquet(self, path: str | os.PathLike[str]) -> int:
        """Write the items as Parquet (needs the ``data`` extra); returns the number of rows."""
        from capitalcom_sdk.data.files import write_parquet

        return write_parquet(self, path)


RECORD_CONFIG = ConfigDict(
    alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True
)
"""Configuration of :class:`WireRecord` subclasses (pydantic dataclasses)."""


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


class WireRecord:
    """Base of the small, numerous server records (price bars): a frozen, slotted pydantic
    dataclass instead of a :class:`WireModel`, about a fifth of the memory and parsed several
    times faster, with the same camelCase aliases and the familiar ``model_*`` methods.

    Unknown fields are kept too: they land in the instance ``__dict__``, which Python creates
    only when there is one, so records without extras pay a pointer for it. Subclasses are
    declared with ``@dataclass(frozen=True, slots=True, kw_only=True, config=RECORD_CONFIG)``
    from :mod:`pydantic.dataclasses`.
    """

    __slots__ = ("__dict__",)

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        """Validate a mapping (wire or attribute names) into a record."""
        return _adapter(cls).validate_python(obj)  # type: ignore[no-any-return]

    @classmethod
    def model_validate_json(cls, data: str | bytes | bytearray) -> Self:
        """Validate a JSON document into a record."""
        return _adapter(cls).validate_json(data)  # type: ignore[no-any-return]

    def model_dump(
        self,
        *,
        mode: Literal["json", "python"] = "python",
        by_alias: bool = False,
        exclude_none: bool = False,
    ) -> dict[str, Any]:
        """The record as a dict (unknown fields included), like ``BaseModel.model_dump``."""
        dumped: dict[str, Any] = _adapter(type(self)).dump_python(
            self, mode=mode, by_alias=by_alias, exclude_none=exclude_none
        )
        return dumped

    def model_dump_json(self, *, by_alias: bool = False, exclude_none: bool = False) -> str:
        """The record as JSON (unknown fields included), like ``BaseModel.model_dump_json``."""
        data: bytes = _adapter(type(self)).dump_json(
            self, by_alias=by_alias, exclude_none=exclude_none
        )
        return data.decode()

    @property
    def model_extra(self) -> dict[str, Any]:
        """Fields the server sent that the record does not declare, by wire name."""
        return dict(self.__dict__)

    def _dump_with_extras(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        extra = self.__dict__
        if extra and isinstance(data, dict):
            data.update(extra)
        return data


def _assume_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_assume_utc)]
"""A timestamp the API gives in UTC without a zone marker; parsed as an aware UTC datetime."""

LocalDateTime = datetime
"""A timestamp in the client's local time (``timezoneOffset`` hours from UTC), kept naive exactly
as sent; the ``*_utc`` twin of the same model is the one to use."""
