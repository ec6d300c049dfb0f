"""Fault rules of the control plane (POST /_sim/faults): which requests misbehave, and how.

The rules are data; the ASGI layer that acts on them lives in :mod:`capitalcom_sim.middleware`.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("latency", "status", "drop", "apply_then_drop", "timeout", "apply_late", "answer")
MAX_HOLD_MS = 60_000
MAX_ANSWER_BYTES = 65_536


class FaultSpecError(ValueError):
    """A fault definition is invalid; ``field`` names the offending key."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass
class Fault:
    """One rule: requests matching ``method`` and ``path`` get ``kind`` applied."""

    id: str
    method: str
    path: str
    kind: str
    status: int = 503
    error_code: str = "error.service.unavailable"
    latency_ms: int = 0
    times: int | None = 1
    probability: float = 1.0
    apply_delay_ms: int = 0
    body: str = ""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    apply: bool = False
    truncate: bool = False
    hits: int = 0
    _regex: re.Pattern[str] | None = field(default=None, repr=False)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.hits, 0)

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method != method:
            return False
        if self._regex is not None:
            return self._regex.search(path) is not None
        return path.startswith(self.path)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "status": self.status,
            "errorCode": self.error_code,
            "latencyMs": self.latency_ms,
            "times": self.times,
            "probability": self.probability,
            "applyDelayMs": self.apply_delay_ms,
            "body": self.body,
            "contentType": self.content_type,
            "headers": dict(self.headers),
            "apply": self.apply,
            "truncate": self.truncate,
            "remaining": self.remaining,
            "hits": self.hits,
        }


def _number(spec: dict[str, Any], key: str, default: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultSpecError(key, "must be a number")
    return float(value)


def _flag(spec: dict[str, Any], key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise FaultSpecError(key, "must be true or false")
    return value


def _answer_fields(spec: dict[str, Any], status: int) -> dict[str, Any]:
    """The fields of an ``answer`` fault (a response that is not the API's own)."""
    body = spec.get("body", "")
    if not isinstance(body, str) or len(body.encode()) > MAX_ANSWER_BYTES:
        raise FaultSpecError("body", f"must be a string of at most {MAX_ANSWER_BYTES} bytes")
    content_type = spec.get("contentType", "text/plain")
    if not isinstance(content_type, str) or not content_type.isprintable():
        raise FaultSpecError("contentType", "must be a media type")
    headers = spec.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str)
        and isinstance(v, str)
        and k.isascii()
        and v.isascii()
        and k.isprintable()
        and v.isprintable()
        for k, v in headers.items()
    ):
        raise FaultSpecError("headers", "must map header names to ASCII strings")
    if status < 200:
        raise FaultSpecError("status", "an answer needs a status of 200 or more")
    if status in (204, 304) and body:
        raise FaultSpecError("body", f"HTTP {status} has no body")
    apply, truncate = _flag(spec, "apply"), _flag(spec, "truncate")
    if truncate and not apply:
        raise FaultSpecError("truncate", "cuts the real answer: needs apply true")
    return {
        "body": body,
        "content_type": content_type,
        "headers": dict(headers),
        "apply": apply,
        "truncate": truncate,
    }


def parse_fault(spec: Any, fault_id: str) -> Fault:
    """Validate a POST /_sim/faults body into a Fault (raises FaultSpecError)."""
    if not isinstance(spec, dict):
        raise FaultSpecError("body", "must be a JSON object")
    method = spec.get("method", "*")
    if not isinstance(method, str) or not (method == "*" or method.isalpha()):
        raise FaultSpecError("method", "must be an HTTP method or '*'")
    path = spec.get("path", "/")
    if not isinstance(path, str) or not path:
        raise FaultSpecError("path", "must be a path prefix or 're:<regex>'")
    regex = None
    if path.startswith("re:"):
        try:
            regex = re.compile(path[3:])
        except re.error as exc:
            raise FaultSpecError("path", f"bad regex: {exc}") from None
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError("kind", f"must be one of {', '.join(KINDS)}")
    status = _number(spec, "status", 200 if kind == "answer" else 503)
    if not status.is_integer() or not 100 <= status <= 599:
        raise FaultSpecError("status", "must be an HTTP status code")
    error_code = spec.get("errorCode", "error.service.unavailable")
    if not isinstance(error_code, str):
        raise FaultSpecError("errorCode", "must be a string")
    latency = _number(spec, "latencyMs", 0)
    if not 0 <= latency <= MAX_HOLD_MS:
        raise FaultSpecError("latencyMs", f"must be between 0 and {MAX_HOLD_MS}")
    times_raw = spec.get("times", 1)
    if times_raw is not None:
        times_value = _number(spec, "times", 1)
        if not times_value.is_integer() or times_value < 1:
            raise FaultSpecError("times", "must be a positive integer or null")
    probability = _number(spec, "probability", 1.0)
    if not 0.0 <= probability <= 1.0:
        raise FaultSpecError("probability", "must be between 0 and 1")
    apply_delay = _number(spec, "applyDelayMs", 0)
    if not 0 <= apply_delay <= MAX_HOLD_MS:
        raise FaultSpecError("applyDelayMs", f"must be between 0 and {MAX_HOLD_MS}")
    extra = _answer_fields(spec, int(status)) if kind == "answer" else {}
    return Fault(
        id=fault_id,
        method=method.upper(),
        path=path,
        kind=kind,
        status=int(status),
        error_code=error_code,
        latency_ms=int(latency),
        times=None if times_raw is None else int(times_value),
        probability=probability,
        apply_delay_ms=int(apply_delay),
        _regex=regex,
        **extra,
    )


class FaultStore:
    """The active fault rules; the first live matching rule wins. Thread-safe.

    Whether a rule with ``probability < 1`` fires is drawn from a generator seeded with the
    simulator's seed, so a run is reproducible.
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._counter = 0
        self._random = random.Random(seed)

    def add(self, spec: Any) -> Fault:
        with self._lock:
            self._counter += 1
            fault = parse_fault(spec, f"f{self._counter}")
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The rule that applies to this request (its hit is recorded), if any."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.remaining == 0 or not fault.matches(method, path):
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                fault.hits += 1
                return fault
            return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def clear(self) -> None:
        """Remove every rule and restart the probability draws from the seed."""
        with self._lock:
            self._faults.clear()
            self._counter = 0
            self._random = random.Random(self._seed)
