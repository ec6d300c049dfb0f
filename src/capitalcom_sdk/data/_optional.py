"""Lazy imports of the optional dependencies, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from capitalcom_sdk.errors import CapitalError

_EXTRA_OF = {
    "pandas": "data",
    "pyarrow": "data",
    "matplotlib": "chart",
    "fsspec": "catalog",
    "polars": "catalog",
}


class MissingDependencyError(CapitalError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{purpose} needs {module}, which is not installed; "
            f"install it with: pip install 'capitalcom-sdk[{extra}]'"
        )


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` now, or raise :class:`MissingDependencyError` naming its extra."""
    root = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(root, _EXTRA_OF.get(root, "all"), purpose) from exc
