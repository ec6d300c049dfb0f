"""The SDK never imports the simulator; importing the SDK pulls in no optional dependency."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SDK_ROOT = Path(__file__).resolve().parents[1] / "src" / "capitalcom_sdk"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sdk_source_never_imports_the_simulator() -> None:
    offenders = {
        str(path.relative_to(SDK_ROOT)): sorted(
            m for m in _imported_modules(path) if m.split(".")[0] == "capitalcom_sim"
        )
        for path in SDK_ROOT.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# rich is left out: httpx itself imports it (for its own CLI) when it is installed.
def test_importing_the_sdk_loads_no_simulator_or_optional_extras() -> None:
    code = (
        "import sys, capitalcom_sdk;"
        "bad=[m for m in ('capitalcom_sim','starlette','uvicorn','pandas','pyarrow','matplotlib',"
        "'mplfinance','typer') if m in sys.modules];print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
