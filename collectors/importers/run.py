"""The import run: recognise every file, read them in dependency order, build the snapshot.

Order matters: mail rows are attributed to connectors and judged against accepted
domains, so configuration exports are read first, and EmailEvents (which has P2 and the
connector name) before message trace, so a message present in both keeps the richer row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from connguard.collectors import mailstats, mapping
from connguard.collectors.importers import audit, exchange, graph, mail
from connguard.collectors.importers import recognize as kinds
from connguard.collectors.importers.assemble import build
from connguard.collectors.importers.csvstream import CsvRows
from connguard.collectors.importers.files import discover, open_text, sha256_file
from connguard.collectors.importers.jsonstream import JsonRecords, JsonStreamError
from connguard.collectors.importers.ledger import FileRecord, Ledger
from connguard.collectors.importers.mailcsv import MailCsvReader
from connguard.collectors.importers.state import ImportState

from connguard.errors import InputError
from connguard.normalize import NormalizationError

Handler = Callable[[ImportState, dict[str, Any]], bool]

HANDLERS: dict[str, Handler] = {
    kinds.INBOUND.name: exchange.inbound,
    kinds.OUTBOUND.name: exchange.outbound,
    kinds.ACCEPTED.name: exchange.accepted,
    kinds.BLOCKED.name: exchange.blocked,
    kinds.AUDIT_SEARCH_CSV.name: audit.search_row,
    kinds.AUDIT_SEARCH_JSON.name: audit.search_row,
    kinds.AUDIT_PURVIEW_CSV.name: audit.purview_row,
    kinds.AUDIT_GRAPH.name: audit.graph_record,
    kinds.AUDIT_MANAGEMENT.name: audit.management_record,
    kinds.TRACE_CSV.name: mail.trace_row,
    kinds.TRACE_JSON.name: mail.trace_row,
    kinds.TRACE_GRAPH.name: mail.trace_row,
    kinds.EVENTS_CSV.name: mail.event_row,
    kinds.EVENTS_JSON.name: mail.event_row,
    kinds.ALERTS.name: graph.alert,
    kinds.RISKY_USERS.name: graph.risky_user,
    kinds.ROLE_ASSIGNMENTS.name: graph.role_assignment,
    kinds.SIGN_INS.name: graph.sign_in,
}
_EVENTS = {kinds.EVENTS_CSV.name, kinds.EVENTS_JSON.name}
_TRACE = {kinds.TRACE_CSV.name, kinds.TRACE_JSON.name, kinds.TRACE_GRAPH.name}
_MAIL_CSV = {kinds.TRACE_CSV.name, kinds.EVENTS_CSV.name}
_CONFIG = {kinds.INBOUND.name, kinds.OUTBOUND.name, kinds.ACCEPTED.name, kinds.BLOCKED.name}
_ROW_ERRORS = (mapping.MappingError, mailstats.MailRowError, NormalizationError)


class UnrecognisedExportError(InputError):
    """One or more files match no known export; the message lists every file, and
    `files` says what each was recognised as."""

    def __init__(self, message: str, files: list[Recognised]) -> None:
        super().__init__(message)
        self.files = files


@dataclass(frozen=True)
class Recognised:
    """What one file was taken for (kind None: empty, or not recognised - see `detail`)."""

    path: Path
    name: str
    kind: kinds.Kind | None
    container: str  # csv | json | unknown, or empty for a file that is skipped
    encoding: str
    detail: str = ""

    @property
    def order(self) -> int:
        """Reading order: configuration, then audit and Graph, then EmailEvents, then trace."""
        name = self.kind.name if self.kind else ""
        return 0 if name in _CONFIG else 2 if name in _EVENTS else 3 if name in _TRACE else 1


@dataclass
class ImportOutcome:
    """The snapshot and what the user should be told about how it was made."""

    snapshot: dict[str, Any]
    files: list[Recognised]
    ledger: Ledger
    skipped: list[Recognised] = field(default_factory=list)


def _first_char(stream: Any) -> str:
    while True:
        char = stream.read(1)
        if char == "" or not char.isspace():
            return char


def recognise(path: Path, name: str) -> Recognised:
    """Open `path` and decide what it is from its first bytes and first record."""
    stream, encoding = open_text(path)
    with stream:
        try:
            first = _first_char(stream)
            if first == "":
                return Recognised(path, name, None, "empty", encoding, "empty file")
            stream.seek(0)
            if first in "[{":
                records = iter(JsonRecords(stream))
                try:
                    _, record = next(records)
                except StopIteration:
                    return Recognised(path, name, None, "empty", encoding, "JSON with no records")
                except JsonStreamError as exc:
                    return Recognised(path, name, None, "unknown", encoding, f"line {exc.line}: {exc}")
                if isinstance(record, dict) and "schema_version" in record and "facts" in record:
                    # An earlier import's output left in the evidence folder.
                    return Recognised(path, name, None, "empty", encoding, "a connguard snapshot, not an export")
                kind = kinds.from_record(record)
                detail = "" if kind else f"JSON record with {kinds.describe_keys(record)}"
                return Recognised(path, name, kind, "json", encoding, detail)
            header = CsvRows(stream).header or []
            kind = kinds.from_header(header)
            detail = "" if kind else f"CSV with columns {', '.join(header[:8]) or '(none)'}"
            return Recognised(path, name, kind, "csv", encoding, detail)
        except UnicodeDecodeError:
            return Recognised(path, name, None, "unknown", encoding, f"not {encoding} text (a binary file?)")


def _records(found: Recognised, stream: Any, ledger: Ledger, record: FileRecord) -> Iterator[tuple[Any, Any]]:
    """(where, record) pairs; rows the reader itself rejects are booked here."""
    if found.container == "csv":
        for row in CsvRows(stream):
            record.rows_read += 1
            if row.error is not None:
                ledger.reject(record, row.line, row.error)
            else:
                yield row.line, row.record
        return
    for where, item in JsonRecords(stream):
        record.rows_read += 1
        yield where, item


def _read_file(found: Recognised, state: ImportState, ledger: Ledger) -> None:
    assert found.kind is not None
    handler = HANDLERS[found.kind.name]
    record = ledger.add_file(found.kind.source, FileRecord(
        name=found.name, sha256=sha256_file(found.path), format=found.kind.name, label=found.kind.label,
        source=found.kind.source,
    ))
    stream, _ = open_text(found.path)
    with stream:
        try:
            if found.container == "csv" and found.kind.name in _MAIL_CSV:
                # Millions of rows: a reader by column index instead of a dict per row.
                MailCsvReader(state, ledger, record, events=found.kind.name in _EVENTS).read(CsvRows(stream))
                return
            for where, item in _records(found, stream, ledger, record):
                if not isinstance(item, dict):
                    ledger.reject(record, where, "not a JSON object")
                    continue
                try:
                    if handler(state, item):
                        record.rows_used += 1
                except _ROW_ERRORS as exc:
                    ledger.reject(record, where, str(exc))
        except JsonStreamError as exc:
            ledger.reject(record, None, f"{exc}; records after it were not read", line=exc.line)
        except UnicodeDecodeError:
            ledger.reject(record, None, f"not valid {found.encoding} text after record {record.rows_read}; "
                                        "the rest of the file was not read")


def _display_name(path: Path, given: list[str]) -> str:
    """The file as the user named it (relative to a given folder), never the absolute path
    of the machine that ran the import."""
    for raw in given:
        base = Path(raw)
        try:
            if base.is_dir():
                return str(base / path.relative_to(base.resolve()))
            if base.resolve() == path:
                return raw
        except ValueError:
            continue
    return path.name


def import_exports(paths: list[str], *, as_of: datetime | None = None) -> ImportOutcome:
    """Recognise and read every export under `paths`; raise UnrecognisedExportError when a
    file matches no known export (before anything is read in full)."""
    found = [recognise(path, _display_name(path, paths)) for path in discover(paths)]
    unknown = [f for f in found if f.container == "unknown" or (f.kind is None and f.container != "empty")]
    if unknown:
        listing = "; ".join(
            f"{f.name}: " + (f"{f.kind.label}" if f.kind else f"NOT RECOGNISED ({f.detail})")
            for f in found if f.container != "empty"
        )
        raise UnrecognisedExportError(
            f"{len(unknown)} of {len(found)} file(s) match no known export: {listing}", found
        )
    usable = sorted((f for f in found if f.kind is not None), key=lambda f: (f.order, f.name))
    if not usable:
        raise UnrecognisedExportError("no export to import: " + (
            "; ".join(f"{f.name}: {f.detail}" for f in found) if found else "no files found"), found)
    state, ledger = ImportState(), Ledger()
    try:
        for item in usable:
            if item.order >= 2:
                state.start_mail(accepted_known=any(f.kind == kinds.ACCEPTED for f in usable))
            _read_file(item, state, ledger)
        snapshot_data = build(state, ledger, as_of=as_of)
    finally:
        state.seen_mail.close()
    return ImportOutcome(snapshot_data, usable, ledger, [f for f in found if f.kind is None])
