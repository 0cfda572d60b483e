"""Command-line options shared by steppe's commands (``run``, ``sweep``, ``compare``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from steppe.engines.choices import AUTO_COMPILED_FROM, CHOICES, RETIRED, check_choice
from steppe.errors import EngineError

__all__ = ["engine_option"]

F = TypeVar("F", bound=Callable[..., Any])
#: The exit status of a command given bad input (as the commands use it).
EXIT_INPUT = 2


class _EngineChoice(click.Choice):  # type: ignore[type-arg]  # click.Choice is generic in click 8.2
    """The engines' names and ``auto``; a retired engine's name passes, for
    :func:`_refuse_retired` to refuse with steppe's own message (click's would only list
    the choices)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in RETIRED:
            return value
        return super().convert(value, param, ctx)


def _refuse_retired(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Print why a retired engine cannot be used and exit with status 2, before the command
    reads or writes anything."""
    try:
        check_choice(value)
    except EngineError as err:
        from steppe._progress import print_errors  # rich: only to print an error

        print_errors(err)
        ctx.exit(EXIT_INPUT)
    return value


def engine_option(command: F) -> F:
    """The ``--engine`` option (see :func:`steppe.engines.registry.resolve_engine`)."""
    return click.option(
        "--engine",
        type=_EngineChoice(CHOICES),
        default="auto",
        show_default=True,
        callback=_refuse_retired,
        help=(
            "simpy: the reference; compiled: the fast one (compiles a kernel per scenario "
            "structure, 5-30 s, once per machine); auto: compiled when the kernel is "
            f"compiled already or the run has at least {AUTO_COMPILED_FROM:,} replications, "
            "else simpy."
        ),
    )(command)
