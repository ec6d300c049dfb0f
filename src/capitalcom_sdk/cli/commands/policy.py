"""``capitalcom policy show``: the trading policy read from its config file (docs/trading.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._output import key_values
from capitalcom_sdk.cli._state import (
    POLICY_ENV,
    default_policy_path,
    handle_errors,
    read_policy,
    state_of,
)
from capitalcom_sdk.errors import ConfigurationError

group = typer.Typer(help="The trading policy (limits the SDK enforces).", no_args_is_help=True)

FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help=f"Policy file (TOML or JSON); default ${POLICY_ENV} or "
        "~/.config/capitalcom/policy.toml.",
    ),
]


@group.command("show")
@handle_errors
def show(ctx: typer.Context, file: FileOption = None, json_output: JsonFlag = False) -> None:
    """Show the trading policy of the config file, every limit (none: no limit)."""
    state = state_of(ctx, json_output)
    path = file or default_policy_path()
    if not path.exists():
        raise ConfigurationError(f"no policy file at {path} (give --file or ${POLICY_ENV})")
    policy = read_policy(path)
    data = {"file": str(path), **policy.as_dict()}
    state.output.result(
        data,
        lambda console: console.print(
            key_values(
                f"Trading policy ({path})",
                ((k, "no limit" if v is None else v) for k, v in data.items() if k != "file"),
            )
        ),
    )
