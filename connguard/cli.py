"""Command-line entry point (placeholder until the scan command lands)."""

import click


@click.group()
def main() -> None:
    """connguard."""
