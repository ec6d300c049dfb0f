"""``capitalcom session``: log in, show the session, switch account, log out."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._output import key_values, table
from capitalcom_sdk.cli._state import handle_errors, state_of

group = typer.Typer(
    help="Log in, show the session, switch the active account, log out.", no_args_is_help=True
)


def _accounts_table(accounts: list[Any], current: str) -> Any:
    return table(
        "Accounts",
        ["", "account id", "name", "type", "currency", "balance", "available"],
        (
            [
                "*" if a.account_id == current else "",
                a.account_id,
                a.account_name,
                a.account_type,
                a.currency,
                a.balance.balance if a.balance else None,
                a.balance.available if a.balance else None,
            ]
            for a in accounts
        ),
    )


@group.command("login")
@handle_errors
def login(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Log in and show the client, the active account and the accounts (checks credentials)."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        response = client.session.login()

    def render(console: Any) -> None:
        console.print(f"[green]logged in[/] as client [bold]{response.client_id}[/]")
        console.print(
            key_values(
                None,
                [
                    ("active account", response.current_account_id),
                    ("account type", response.account_type),
                    ("currency", response.currency_iso_code),
                    ("balance", response.account_info.balance),
                    ("available", response.account_info.available),
                    ("streaming host", response.streaming_host),
                ],
            )
        )
        if response.accounts:
            console.print(_accounts_table(response.accounts, response.current_account_id))

    state.output.result(response, render)


@group.command("details")
@handle_errors
def details(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Show the session: client id, active account, locale, currency, streaming endpoint."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        response = client.session.details()
    state.output.result(
        response,
        lambda console: console.print(
            key_values(
                "Session",
                [
                    ("client id", response.client_id),
                    ("account id", response.account_id),
                    ("timezone offset", response.timezone_offset),
                    ("locale", response.locale),
                    ("currency", response.currency),
                    ("stream endpoint", response.stream_endpoint),
                ],
            )
        ),
    )


@group.command("switch")
@handle_errors
def switch(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(help="The account to make active.")],
    json_output: JsonFlag = False,
) -> None:
    """Switch the active account of a new session and show the result.

    Each ``capitalcom`` run opens its own session: to run any command on another account, use
    the global ``--account ID`` option (or CAPITAL_ACCOUNT_ID) instead.
    """
    state = state_of(ctx, json_output)
    with state.client() as client:
        client.session.login()
        response = client.session.switch_account(account_id)
        now = client.session.details()
    data = {"switch": response, "session": now}
    state.output.result(
        data,
        lambda console: console.print(
            f"[green]switched[/]: active account is now [bold]{now.account_id}[/]"
        ),
    )


@group.command("logout")
@handle_errors
def logout(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Log in and log out again: checks that the session can be created and closed."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        client.session.login()
        response = client.session.logout()
    state.output.result(response, lambda console: console.print("[green]logged out[/]"))
