"""Command-line entry point (placeholder until the scan command lands)."""

import click


@click.group()
def main() -> None:
    """connguard."""

from connguard.commands.baseline import baseline as _baseline_command  # noqa: E402

main.add_command(_baseline_command)
