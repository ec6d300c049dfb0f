"""Models of GET /time, GET /ping and the bare status answers of many writes."""

from __future__ import annotations

from datetime import UTC, datetime

from capitalcom_sdk.models._base import WireModel
from capitalcom_sdk.models._open import OpenResponseStatus


class ServerTime(WireModel):
    """``GET /time``: the server's clock in milliseconds since the epoch."""

    server_time: int

    @property
    def datetime(self) -> datetime:
        """The server time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.server_time / 1000.0, tz=UTC)


class StatusResponse(WireModel):
    """A bare ``{"status": ...}`` answer (ping ``OK``, many writes ``SUCCESS``).

    ``DELETE /session`` may answer with an empty body; ``status`` is then ``None``.
    """

    status: OpenResponseStatus | None = None


class DealReference(WireModel):
    """The reference a trading write returns; its outcome is read from ``GET /confirms``."""

    deal_reference: str
