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

from connguard.commands.baseline import baseline as _baseline_command  # noqa: E402

main.add_command(_baseline_command)
from connguard.commands.rules import rules as _rules_command  # noqa: E402
from connguard.commands.scan import scan as _scan_command  # noqa: E402

main.add_command(_scan_command)
main.add_command(_rules_command)
from connguard.commands.import_cmd import import_command as _import_command  # noqa: E402

main.add_command(_import_command)
from connguard.commands.respond import respond as _respond_command  # noqa: E402

main.add_command(_respond_command)
from connguard.commands.collect import collect as _collect_command  # noqa: E402

main.add_command(_collect_command)
