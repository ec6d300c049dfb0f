"""Backtests of a bot against the simulator: the runner, the result data and its report.

``Backtest(epics, resolution, start, end, data=...).run(bot)`` runs the very bot file (or a
callable ``bot(client)``) that runs live, against a simulator replaying the bars in lock-step
(docs/backtest.md). ``from capitalcom_sdk.backtest import Backtest, BacktestResult, report``;
names load on first access (PEP 562), so importing the package costs nothing until a name is
used.

``Paper(source_client, epics).run(bot)`` paper-trades the same bot file: a simulator on the
wall clock whose market is the source's real quotes (docs/backtest.md, "Paper trading").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capitalcom_sdk.backtest import report
    from capitalcom_sdk.backtest._paper import Paper
    from capitalcom_sdk.backtest._results import BacktestResult, EquityPoint, Trade
    from capitalcom_sdk.backtest._runner import Backtest
    from capitalcom_sdk.backtest.report import Stats, Summary

_LAZY = {
    "Backtest": "capitalcom_sdk.backtest._runner",
    "Paper": "capitalcom_sdk.backtest._paper",
    "report": "capitalcom_sdk.backtest.report",
    **dict.fromkeys(("BacktestResult", "EquityPoint", "Trade"), "capitalcom_sdk.backtest._results"),
    **dict.fromkeys(("Stats", "Summary"), "capitalcom_sdk.backtest.report"),
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if name == "report" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Backtest",
    "BacktestResult",
    "EquityPoint",
    "Paper",
    "Stats",
    "Summary",
    "Trade",
    "report",
]
