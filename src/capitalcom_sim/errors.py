"""Errors the simulated API answers with: ``{"errorCode": "..."}`` and an HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer of the real API: HTTP ``status`` with body ``{"errorCode": code}``.

    ``value`` is appended after ``": "`` as the real servers do
    (``error.invalid.stoploss.minvalue: 17.146``).
    """

    def __init__(self, status: int, code: str, value: object | None = None) -> None:
        self.status = status
        self.code = code
        self.value = value
        super().__init__(self.error_code)

    @property
    def error_code(self) -> str:
        return self.code if self.value is None else f"{self.code}: {self.value}"
