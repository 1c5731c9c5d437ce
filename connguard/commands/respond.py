"""`connguard respond REPORT [--snapshot SNAPSHOT] [--baseline BASELINE] --output DIR`."""

from __future__ import annotations

import click

from connguard.respond import run


@click.command("respond")
@click.argument("report", type=click.Path(dir_okay=False))
@click.option("--snapshot", "snapshot", type=click.Path(dir_okay=False), metavar="SNAPSHOT",
              help="The snapshot the report was made from (default: the path the report records).")
@click.option("--baseline", "baseline", type=click.Path(dir_okay=False), metavar="BASELINE",
              help="Approved state (connguard baseline save) to revert unauthorized changes to.")
@click.option("--output", "output", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Folder for plan.md, remediate.ps1, report.html and timeline.json.")
def respond(report: str, snapshot: str | None, baseline: str | None, output: str) -> None:
    """Write a response plan, a dry-run-by-default remediation script, an HTML incident
    report and a timeline from a `connguard scan --format json` report."""
    result = run(report, snapshot, baseline, output)
    for warning in result.warnings:
        click.echo(f"connguard: warning: {warning}", err=True)
    steps = sum(len(c.steps) for c in result.plan.connectors)
    if result.plan.empty:
        click.echo(f"Nothing to do: no active findings. Wrote {len(result.files)} files to {output}.")
    else:
        click.echo(f"{len(result.plan.connectors)} connector(s), {steps} step(s). Wrote "
                   + ", ".join(str(p) for p in result.files))
