"""How ``--help`` shows parameters: the way docs/cli.md writes them.

typer's defaults read badly for this tool: every flag gets a ``<bool>`` type (users then type
``--json true``), ``-v`` an ``<int>``, case-insensitive choices are listed folded to lower case
(``<minute|hour>`` although the API and the docs say ``HOUR``), and usage lines show required
arguments as ``{epic}``. :class:`HelpGroup`, the root group's class, gives every command of the
tree these display rules before a command line is parsed.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


def _choices(param: Any) -> str | None:
    """``BUY|SELL``: the choices of an enum-typed parameter as the API spells them."""
    descriptor = param.type_descriptor
    if not descriptor.is_choice or not descriptor.choices:
        return None
    values = [c.value if isinstance(c, Enum) else str(c) for c in descriptor.choices]
    return "|".join(dict.fromkeys(values))


class HelpOption(TyperOption):
    """An option shown without a type when it takes no value (flags, ``-v`` counts)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return _choices(self) or super().display_type_rich(ctx)


class HelpArgument(TyperArgument):
    """An argument shown as ``EPIC`` (``[EPIC]`` when optional), choices in API spelling."""

    @property
    def display_name_raw(self) -> str:
        return self.metavar if self.metavar is not None else str(self.name).upper()

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: Any) -> str | None:
        return _choices(self) or super().display_type_rich(ctx)


def _restyled(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = HelpOption
        elif type(param) is TyperArgument:
            param.__class__ = HelpArgument
    return params


class HelpCommand(TyperCommand):
    """A command whose parameters (its ``--help`` included) follow the display rules above."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _restyled(super().get_params(ctx))


class HelpGroup(TyperGroup):
    """A group like :class:`HelpCommand`; as the root, it restyles the whole command tree
    before running a command line (typer builds the tree from its own classes)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _restyled(super().get_params(ctx))

    def main(self, *args: Any, **kwargs: Any) -> Any:
        restyle(self)
        return super().main(*args, **kwargs)


def restyle(command: Any) -> None:
    """Make every command under ``command`` a :class:`HelpCommand` / :class:`HelpGroup`."""
    if type(command) is TyperCommand:
        command.__class__ = HelpCommand
    elif type(command) is TyperGroup:
        command.__class__ = HelpGroup
    for sub in getattr(command, "commands", {}).values():
        restyle(sub)
