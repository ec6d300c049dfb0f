"""What every benchmark shares: result rows, the simulator in its own process, CPU pinning."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capitalcom_sim.config import DEFAULT_API_KEY, DEFAULT_IDENTIFIER, DEFAULT_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
API_KEY = DEFAULT_API_KEY
IDENTIFIER = DEFAULT_IDENTIFIER
PASSWORD = DEFAULT_PASSWORD
EPIC = "EURUSD"

# On two or more cores the simulator gets the last core and the measured client the first, so
# client and server never compete for one core (and never share a GIL: separate processes).
CPU_COUNT = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
SERVER_CPUS = {max(os.sched_getaffinity(0))} if CPU_COUNT >= 2 else None
CLIENT_CPUS = {min(os.sched_getaffinity(0))} if CPU_COUNT >= 2 else None


@dataclass
class Figure:
    """One row of bench/RESULTS.md.

    ``ours`` and ``baseline`` are in ``unit``; ``ratio`` is ours / baseline unless a benchmark
    defines it otherwise (then ``ratio_label`` says so); ``met`` is None where there is no target.
    """

    section: str
    name: str
    ours: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Section:
    """The figures of one benchmark plus free-text notes (how, why a target was missed)."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def pin(cpus: set[int] | None, pid: int = 0) -> None:
    """Restrict a process (0 = this one) to ``cpus``; a no-op where that is not possible."""
    if cpus and hasattr(os, "sched_setaffinity"):
        with suppress(OSError):
            os.sched_setaffinity(pid, cpus)


@contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    """Run a block of this process on ``cpus``, then restore the previous affinity."""
    if not cpus or not hasattr(os, "sched_getaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    pin(cpus)
    try:
        yield
    finally:
        pin(before)


def child_env(**extra: str) -> dict[str, str]:
    """Environment of a benchmark subprocess: the repo's src/ and bench/ importable."""
    env = dict(os.environ)
    paths = [str(ROOT / "src"), str(ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra)
    return env


@dataclass
class Tls:
    """A throwaway CA and a server certificate for 127.0.0.1 (files in a temp dir)."""

    ca_file: str
    cert_file: str
    key_file: str


@contextmanager
def tls_files() -> Iterator[Tls]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    with tempfile.TemporaryDirectory(prefix="capitalcom-bench-tls-") as tmp:
        paths = Tls(f"{tmp}/ca.pem", f"{tmp}/cert.pem", f"{tmp}/key.pem")
        ca.cert_pem.write_to_path(paths.ca_file)
        cert.private_key_pem.write_to_path(paths.key_file)
        with open(paths.cert_file, "wb") as out:
            for blob in cert.cert_chain_pems:
                out.write(blob.bytes())
        yield paths


class SimProcess:
    """The simulator in a subprocess on loopback (``python -m capitalcom_sim``, or the TLS
    launcher in bench/_tls_sim.py), pinned to its own core where there are two."""

    def __init__(
        self, *, rate_limits: bool = False, tls: Tls | None = None, args: Sequence[str] = ()
    ) -> None:
        self.rate_limits = rate_limits
        self.tls = tls
        self.args = list(args)  # more capitalcom_sim options (--users FILE, --start-ms ...)
        self.base_url = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30.0) -> SimProcess:
        if self.tls is None:
            cmd = [PYTHON, "-m", "capitalcom_sim", "--port", "0"]
        else:
            cmd = [PYTHON, "-m", "bench._tls_sim", "--port", "0"]
            cmd += ["--certfile", self.tls.cert_file, "--keyfile", self.tls.key_file]
        if not self.rate_limits:
            cmd.append("--no-rate-limits")
        cmd += self.args
        self._proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=child_env(),
        )
        pin(SERVER_CPUS, self._proc.pid)
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline().strip()
        if "listening on " not in first:
            self.stop()
            raise RuntimeError(f"simulator did not start: {first!r}")
        self.base_url = first.rsplit(" ", 1)[-1]
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.control("GET", "/api/v1/time")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """A plain urllib call to the simulator (control plane, stats), outside any timing."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        context = None
        if self.tls is not None:
            import ssl

            context = ssl.create_default_context(cafile=self.tls.ca_file)
        with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310
            return json.loads(response.read() or b"null")

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "/_sim/stats")
        return result

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_json(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Any:
    """Run a benchmark helper subprocess whose last stdout line is JSON."""
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env or child_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def code_version() -> str:
    """The commit measured, and whether src/ had uncommitted changes (others work in the tree)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    changed = sorted(line[3:] for line in dirty if line.strip())
    if not changed:
        return f"{commit}, src/ clean"
    shown = ", ".join(changed[:8]) + (", ..." if len(changed) > 8 else "")
    return f"{commit} plus uncommitted changes in {len(changed)} file(s) of src/: {shown}"


def machine_info() -> dict[str, str]:
    """Where the figures were measured."""
    import httpx
    import pydantic
    import uvicorn

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        pass
    return {
        "CPU": f"{cpu} ({os.cpu_count()} logical cores, {CPU_COUNT} usable)",
        "memory": memory,
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "httpx / pydantic / uvicorn": f"{httpx.__version__} / {pydantic.VERSION} / "
        f"{uvicorn.__version__}",
        "code": code_version(),
        "pinning": "simulator on CPU "
        f"{sorted(SERVER_CPUS)}, measured client on CPU {sorted(CLIENT_CPUS)}"
        if SERVER_CPUS and CLIENT_CPUS
        else "none (one core)",
    }
