"""`connguard import PATH... --output SNAPSHOT [--as-of TIMESTAMP]`.

Turns the exports an incident team already has (PowerShell, Purview, Defender portal,
Graph) into a snapshot, and says on stderr what each file was taken for, which rows were
rejected and which sources are missing, so nobody mistakes an incomplete import for a
clean tenant. Exit 0 when a snapshot was written, 2 when none could be.
"""

from __future__ import annotations

from datetime import datetime

import click

from connguard import snapshot
from connguard.collectors.importers.ledger import FileRecord
from connguard.collectors.importers.run import (
    ImportOutcome,
    UnrecognisedExportError,
    import_exports,
)
from connguard.errors import InputError
from connguard.normalize import NormalizationError, parse_time


class AsOfError(InputError):
    """--as-of is not an ISO 8601 timestamp with a zone."""


class OutputError(InputError):
    """The snapshot could not be written (exit 2: contracts.md says import exits 2 then)."""


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value, assume_utc=False)
    except NormalizationError as exc:
        raise AsOfError(f"--as-of: {exc} (use ISO 8601 with a zone, e.g. 2026-11-20T12:00:00Z)") from None


def _file_line(record: FileRecord) -> str:
    return (f"  {record.name}: {record.label} ({record.rows_read} read, {record.rows_used} used, "
            f"{record.rows_rejected} rejected)")


def echo(text: str) -> None:
    """Everything the import says goes to stderr; stdout stays empty."""
    click.echo(text, err=True)


def _report(outcome: ImportOutcome, output: str) -> None:
    records = sorted((r for log in outcome.ledger.sources.values() for r in log.files), key=lambda r: r.name)
    echo("recognised:")
    for record in records:
        echo(_file_line(record))
    for skipped in outcome.skipped:
        echo(f"  {skipped.name}: skipped ({skipped.detail})")
    troubled = [r for r in records if r.issues]
    if troubled:
        echo("rejected:")
        for record in troubled:
            for problem in record.problems:
                echo(f"  {problem}")
            if record.issues > len(record.problems):
                echo(f"  ... and {record.issues - len(record.problems)} more in {record.name}")
    echo("sources:")
    for name in snapshot.FACT_SETS:
        source = outcome.snapshot["sources"][name]
        extra = f" - {source['reason']}" if source.get("reason") and source["status"] != "ok" else ""
        unavailable = source.get("unavailable_fields") or []
        if unavailable:
            extra += f" (unavailable: {', '.join(unavailable)})"
        echo(f"  {name}: {source['status']}, {source.get('count', 0)}{extra}")
    data = outcome.snapshot
    echo(f"wrote {output} (tenant {data['tenant']['domain']}, window {data['window']['start']} .. "
         f"{data['window']['end']})")


@click.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--output", "-o", required=True, metavar="SNAPSHOT", help="Where to write the snapshot (JSON).")
@click.option("--as-of", "as_of", default=None, metavar="TIMESTAMP",
              help="The snapshot's time (ISO 8601 with zone); default: the newest event in the exports.")
def import_command(paths: tuple[str, ...], output: str, as_of: str | None) -> None:
    """Turn PowerShell, Purview, Defender portal and Graph exports into a snapshot.

    PATH may be files or folders; each file is recognised by its content.
    """
    moment = _as_of(as_of)
    try:
        outcome = import_exports(list(paths), as_of=moment)
    except UnrecognisedExportError as exc:
        echo("recognised:")
        for found in exc.files:
            what = found.kind.label if found.kind else (
                f"skipped ({found.detail})" if found.container == "empty" else f"NOT RECOGNISED ({found.detail})")
            echo(f"  {found.name}: {what}")
        raise
    try:
        snapshot.save(output, outcome.snapshot)
    except OSError as exc:  # a folder in the way, no permission, disk full: one line, not a traceback
        raise OutputError(f"{output}: cannot write snapshot: {exc.strerror or exc}") from None
    _report(outcome, output)
