"""Base classes of the response models: snake_case attributes, camelCase wire names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A model of something the server sends: frozen, unknown fields kept (``model_extra``)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        frozen=True,
    )


class RequestModel(BaseModel):
    """A request body: serialised by alias, ``None`` fields left out, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def _assume_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_assume_utc)]
"""A timestamp the API gives in UTC without a zone marker; parsed as an aware UTC datetime."""

LocalDateTime = datetime
"""A timestamp in the client's local time (``timezoneOffset`` hours from UTC), kept naive exactly
as sent; the ``*_utc`` twin of the same model is the one to use."""
