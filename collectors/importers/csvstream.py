"""Stream the rows of a CSV export with the line each starts on.

Export-Csv writes every field quoted, may start with a `#TYPE` line (without
`-NoTypeInformation`), and AuditData cells span lines when they hold newlines; the
Defender portal writes plain RFC 4180. Rows come one at a time from the csv module over a
text stream, so file size does not matter. Values are returned exactly as written: a
leading `=`, `+`, `-` or `@` is data (connguard never hands cells to a spreadsheet).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

# AuditData cells can exceed the csv module's 128 KiB default field limit.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class CsvRow:
    """One data row: `record` maps header -> value, or `error` says why the row is unusable."""

    line: int
    record: dict[str, str] | None
    error: str | None = None


class CsvRows:
    """`header` (None for an empty file) and an iterator of CsvRow."""

    def __init__(self, stream: TextIO) -> None:
        self._reader = csv.reader(stream, strict=True)
        self._last_line = 0
        self._error = ""
        self.header: list[str] | None = None
        self.header_line = 0
        for line, cells in self._rows():
            if cells is None or not cells or cells == [""]:
                continue
            if cells[0].startswith("#TYPE"):
                continue  # Export-Csv without -NoTypeInformation
            self.header = [cell.strip().lstrip("\ufeff") for cell in cells]
            self.header_line = line
            break

    def _rows(self) -> Iterator[tuple[int, list[str] | None]]:
        """(start line, cells) pairs; cells None with the csv error left in `_error`."""
        iterator = iter(self._reader)
        while True:
            start = self._last_line + 1
            try:
                cells = next(iterator)
            except StopIteration:
                return
            except csv.Error as exc:
                self._error = str(exc)
                self._last_line = self._reader.line_num
                yield start, None
                continue
            self._last_line = self._reader.line_num
            yield start, cells

    def __iter__(self) -> Iterator[CsvRow]:
        if self.header is None:
            return
        header = self.header
        width = len(header)
        for line, cells in self._rows():
            if cells is None:
                message = self._error
                if message == "unexpected end of data":
                    message = "the file ends inside a quoted value (cut off mid-row?)"
                yield CsvRow(line, None, f"malformed CSV: {message}")
            elif len(cells) == width:
                yield CsvRow(line, dict(zip(header, cells)))
            elif cells == [] or cells == [""]:
                continue  # blank line
            else:
                yield CsvRow(line, None, f"expected {width} columns, found {len(cells)}")
