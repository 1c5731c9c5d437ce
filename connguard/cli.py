"""Command-line entry point: the `connguard` group; each command lives in connguard/commands/.

The group turns every `InputError` ("the input could not be used") into exit code 2 with
one line on stderr, `connguard: error: <file>:<line>: <message>`, so commands raise
instead of printing, and a CI log never shows a traceback for a bad file.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from connguard import __version__
from connguard.errors import InputError

EXIT_INPUT = 2


def fail(exc: InputError) -> None:
    """Print an InputError as one line and exit 2 (several problems: the first, and how many more)."""
    lines = [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    extra = f" (and {len(lines) - 1} more problem{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else ""
    click.echo(f"connguard: error: {lines[0]}{extra}", err=True)
    sys.exit(EXIT_INPUT)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            fail(exc)
        except click.UsageError as exc:  # bad flags are unusable input too: one line, exit 2
            command = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
            click.echo(f"connguard: error: {command}{exc.format_message()} (see --help)", err=True)
            sys.exit(EXIT_INPUT)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="connguard")
def main() -> None:
    """Find and help contain a compromised Microsoft 365 inbound connector."""


# Commands register after `main` exists; imported here, each in its own module.
from connguard.commands.baseline import baseline as _baseline  # noqa: E402
from connguard.commands.collect import collect as _collect  # noqa: E402
from connguard.commands.import_cmd import import_command as _import  # noqa: E402
from connguard.commands.respond import respond as _respond  # noqa: E402
from connguard.commands.rules import rules as _rules  # noqa: E402
from connguard.commands.scan import scan as _scan  # noqa: E402

for _command in (_scan, _import, _collect, _rules, _baseline, _respond):
    main.add_command(_command)
