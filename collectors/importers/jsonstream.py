"""Stream the records of a JSON export one at a time.

Exports come as a top-level array (`ConvertTo-Json`), a bare object (`ConvertTo-Json` of
a single item), a Graph response (`{"value": [...]}`), or a hunting response
(`{"schema": [...], "results": [...]}`). `JsonRecords` yields each record with its JSON
path while holding only the current record in memory, so a large message trace JSON does
not have to fit in memory; a truncated file yields the records before the cut and then
raises `JsonStreamError` with the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from connguard.errors import InputError

_CHUNK = 1 << 20
_WHITESPACE = " \t\r\n"
_NEAR_END = 32  # a decode error this close to the end of the buffer may just need more text
# Keys of a response envelope whose array holds the records.
RECORD_ARRAYS = ("value", "results", "Results")


class JsonStreamError(InputError):
    """The JSON text is malformed at `line`."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class JsonRecords:
    """Iterate `(json_path, record)` over a JSON export; `envelope` collects the other
    top-level keys of an enclosing object (e.g. a hunting response's `schema`)."""

    def __init__(self, stream: TextIO, chunk_size: int = _CHUNK) -> None:
        self._stream = stream
        self._chunk = chunk_size
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._lines_before = 0  # newlines in text already dropped from the buffer
        self._decoder = json.JSONDecoder()
        self.envelope: dict[str, Any] = {}

    # -- buffer management

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._stream.read(self._chunk)
        if not data:
            self._eof = True
            return False
        if self._pos:
            self._lines_before += self._buf.count("\n", 0, self._pos)
            self._buf = self._buf[self._pos:]
            self._pos = 0
        self._buf += data
        return True

    def _line(self, pos: int | None = None) -> int:
        return self._lines_before + self._buf.count("\n", 0, self._pos if pos is None else pos) + 1

    def _peek(self) -> str:
        """The next non-whitespace character ('' at the end), without consuming it."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def _expect(self, chars: str) -> str:
        found = self._peek()
        if found == "" or found not in chars:
            what = "the end of the file" if found == "" else repr(found)
            raise JsonStreamError(f"expected {' or '.join(repr(c) for c in chars)}, found {what}"
                                  + ("; is the file truncated?" if found == "" else ""), self._line())
        self._pos += 1
        return found

    def _value(self) -> Any:
        self._peek()  # raw_decode does not skip leading whitespace
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # Only an error at the end of the buffer can be cured by reading more; an
                # error in the middle is real, and reading on would pull in the whole file.
                # "Near" covers a literal, number or \u escape cut by the chunk boundary.
                at_end = exc.pos >= len(self._buf) - _NEAR_END or exc.msg.startswith("Unterminated")
                if at_end and self._fill():
                    continue
                truncated = at_end and self._eof
                raise JsonStreamError(
                    f"not valid JSON ({exc.msg})" + ("; is the file truncated?" if truncated else ""),
                    self._line(exc.pos),
                ) from None
            if end >= len(self._buf) and self._fill():
                continue  # a number may continue in the next chunk
            self._pos = end
            return value

    # -- the grammar of an export

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        first = self._peek()
        if first == "":
            return
        if first == "[":
            yield from self._array("$")
        elif first == "{":
            yield from self._object()
        else:
            raise JsonStreamError(f"expected a JSON array or object, found {first!r}", self._line())
        if self._peek() != "":
            raise JsonStreamError("unexpected text after the JSON value", self._line())

    def _array(self, path: str) -> Iterator[tuple[str, Any]]:
        self._expect("[")
        if self._peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            self._peek()
            yield f"{path}[{index}]", self._value()
            index += 1
            if self._expect(",]") == "]":
                return

    def _object(self) -> Iterator[tuple[str, Any]]:
        self._expect("{")
        streamed = False
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                if self._peek() != '"':
                    raise JsonStreamError("expected a property name", self._line())
                key = self._value()
                self._expect(":")
                if self._peek() == "[" and key in RECORD_ARRAYS and not streamed:
                    streamed = True
                    yield from self._array(f"$.{key}")
                else:
                    self.envelope[key] = self._value()
                if self._expect(",}") == "}":
                    break
        if not streamed:
            yield "$", self.envelope  # ConvertTo-Json of a single item: the object is the record
