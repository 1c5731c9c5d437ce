"""`connguard rules list|validate|test [DIR]`: inspect, check and test a rule pack.

DIR defaults to the shipped pack. `validate` prints every problem (not just the first,
unlike `scan`) and exits 2 if there is any; `test` exits 0 when every case passes, 1 when
one fails, 2 when the rules or tests cannot be used.
"""

from __future__ import annotations

import sys

import click

from connguard.engine.loader import RuleLoadError, load_rules, shipped_rules_dir
from connguard.engine.ruletest import run_tests

EXIT_FAILED = 1
EXIT_INPUT = 2
COLUMNS = ("id", "version", "status", "symptom", "severity", "title")


def _dirs(directory: str | None) -> list[object]:
    return [shipped_rules_dir() if directory is None else directory]


@click.group("rules")
def rules() -> None:
    """List, validate and test detection rules."""


@rules.command("list")
@click.argument("directory", required=False, metavar="[DIR]")
def list_rules(directory: str | None) -> None:
    """Show the rules in DIR (default: the shipped pack)."""
    pack = load_rules(_dirs(directory))  # type: ignore[arg-type]
    rows = [COLUMNS] + [(r.id, r.version, r.status, r.symptom, r.severity, r.title) for r in pack.rules]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    for row in rows:
        click.echo("  ".join([cell.ljust(w) for cell, w in zip(row, widths)] + [row[-1]]).rstrip())


@rules.command("validate")
@click.argument("directory", required=False, metavar="[DIR]")
def validate(directory: str | None) -> None:
    """Check every rule in DIR; list all problems."""
    try:
        pack = load_rules(_dirs(directory))  # type: ignore[arg-type]
    except RuleLoadError as exc:
        for problem in exc.problems:
            click.echo(f"connguard: error: {problem}", err=True)
        click.echo(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} found", err=True)
        sys.exit(EXIT_INPUT)
    click.echo(f"{len(pack.rules)} rule{'s' if len(pack.rules) != 1 else ''} valid")


@rules.command("test")
@click.argument("directory", required=False, metavar="[DIR]")
def test(directory: str | None) -> None:
    """Run the rule tests of DIR (DIR/tests/<ID>.yaml)."""
    results = run_tests(None if directory is None else directory)
    failed = [r for r in results if not r.passed]
    for result in results:
        click.echo(f"{'PASS' if result.passed else 'FAIL'}  {result.rule_id}  {result.name}")
        for problem in result.problems:
            click.echo(f"      {problem}")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(EXIT_FAILED if failed else 0)
