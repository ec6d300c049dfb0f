"""Typed models of the API's requests and responses (pydantic v2)."""

from capitalcom_sdk.models._base import RequestModel, UTCDateTime, WireModel
from capitalcom_sdk.models.general import ServerTime, StatusResponse
from capitalcom_sdk.models.session import (
    AccountBalance,
    EncryptionKey,
    LoginResponse,
    SessionAccount,
    SessionDetails,
)

__all__ = [
    "AccountBalance",
    "EncryptionKey",
    "LoginResponse",
    "RequestModel",
    "ServerTime",
    "SessionAccount",
    "SessionDetails",
    "StatusResponse",
    "UTCDateTime",
    "WireModel",
]
