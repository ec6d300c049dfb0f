"""The simulator's command line starts a server that answers on the printed URL."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_module_cli_serves_time_on_the_given_port() -> None:
    port = _free_port()
    args = [sys.executable, "-m", "capitalcom_sim", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--api-key", "K", "--identifier", "I", "--password", "P", "--seed", "3"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first_line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first_line
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/time") as resp:
                    body = json.load(resp)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert isinstance(body["serverTime"], int)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
