"""Book-keeping of what each export file contributed and what was wrong with it.

The snapshot cites its evidence (file name, sha256, rows read / used / rejected) and
keeps the first rejected rows in full, so a responder can check the import without
re-running it; stderr gets the same story in short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERRORS_KEPT_PER_SOURCE = 20  # rejected rows kept in full in the snapshot, per source
ERRORS_SHOWN_PER_FILE = 5  # rejected rows printed in full on stderr, per file


@dataclass
class FileRecord:
    """One export file's contribution to one source."""

    name: str
    sha256: str
    format: str
    label: str
    source: str
    rows_read: int = 0
    rows_used: int = 0
    rows_rejected: int = 0
    issues: int = 0  # rejected rows and file-level problems
    problems: list[str] = field(default_factory=list)  # the first few rejections, in full

    def as_snapshot(self) -> dict[str, Any]:
        """The `sources.<name>.files[]` entry."""
        return {"name": self.name, "sha256": self.sha256, "format": self.format, "rows_read": self.rows_read,
                "rows_used": self.rows_used, "rows_rejected": self.rows_rejected}


@dataclass
class SourceLog:
    """Files and rejected rows of one snapshot source."""

    files: list[FileRecord] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_total: int = 0


class Ledger:
    """Per-source file and error records for one import run."""

    def __init__(self) -> None:
        self.sources: dict[str, SourceLog] = {}

    def add_file(self, source: str, record: FileRecord) -> FileRecord:
        """Register a file (before its rows are read)."""
        self.sources.setdefault(source, SourceLog()).files.append(record)
        return record

    def reject(self, record: FileRecord, where: int | str | None, message: str, *, line: int | None = None) -> None:
        """Count a rejected row, or a file-level problem (a file cut off, not decodable)
        when `where` is None, optionally at `line`.

        `where` is a CSV line number or a JSON path; the message never quotes the row,
        only what is wrong with it.
        """
        log = self.sources.setdefault(record.source, SourceLog())
        line = where if isinstance(where, int) else line
        text = message if isinstance(where, int) or where is None else f"{where}: {message}"
        if where is not None:
            record.rows_rejected += 1
        log.errors_total += 1
        record.issues += 1
        if len(log.errors) < ERRORS_KEPT_PER_SOURCE:
            log.errors.append({"file": record.name, "line": line, "message": text})
        if len(record.problems) < ERRORS_SHOWN_PER_FILE:
            prefix = f"{record.name}:{line}" if line is not None else record.name
            record.problems.append(f"{prefix}: {text}")
