"""A stream without any way to get a session fails at once, not by retrying logins for ever."""

from __future__ import annotations

import time

import pytest

from capitalcom_sdk import AsyncClient, Client, ConfigurationError

# Nothing listens there: the check must come before any connection is attempted.
NOWHERE = "http://127.0.0.1:9"


def test_sync_stream_without_credentials_raises_configuration_error_at_once() -> None:
    with Client(base_url=NOWHERE) as client:
        started = time.monotonic()
        with (
            pytest.raises(ConfigurationError, match="api_key, identifier and password"),
            client.stream() as stream,
        ):
            stream.subscribe_quotes(["GOLD"])
        assert time.monotonic() - started < 5.0


async def test_async_stream_without_credentials_raises_configuration_error_at_once() -> None:
    async with AsyncClient(base_url=NOWHERE) as client:
        with pytest.raises(ConfigurationError, match="api_key, identifier and password"):
            async with client.stream() as stream:
                await stream.subscribe_quotes(["GOLD"])
