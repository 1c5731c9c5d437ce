"""Map JSON pointers to the line where the value they name starts in a JSON text.

SARIF needs a line number for every result; the engine knows only the JSON pointer of the
snapshot record a finding is about (e.g. `/facts/inbound_connectors/1`). This module reads
the snapshot *text* once and finds where each wanted value starts, for any valid JSON
formatting (canonical, compact, CRLF, tabs, one value per line or all on one line), not
only the two-space canonical form our own writer produces.

It walks only the containers on the way to a wanted pointer; everything else is skipped
with the C JSON decoder (`raw_decode`), so locating a few connectors in a snapshot with
hundreds of thousands of audit events costs about one `json.loads` of the skipped parts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


class _Unlocatable(Exception):
    """The text is not the JSON the pointers were taken from; callers fall back to line 1."""


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """Split an RFC 6901 pointer into unescaped reference tokens (`""` is the whole document)."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/"))


class _LineCounter:
    """Line numbers of increasing offsets, counting CR, LF and CRLF as one line end each
    (SARIF's definition of a line)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._offset = 0
        self._line = 1

    def line_at(self, offset: int) -> int:
        text, start = self._text, self._offset
        ends = text.count("\n", start, offset) + text.count("\r", start, offset) - text.count("\r\n", start, offset)
        # A CRLF straddling the previous offset was counted by its CR already. Offsets here
        # are always the first character of a value, never inside a CRLF, but be exact anyway.
        if start > 0 and text.startswith("\r\n", start - 1) and start < offset:
            ends -= 1
        self._offset, self._line = offset, self._line + ends
        return self._line


class _Walker:
    def __init__(self, text: str, wanted: set[tuple[str, ...]]) -> None:
        self.text = text
        self.wanted = wanted
        self.prefixes = {path[:i] for path in wanted for i in range(len(path))}
        self.found: dict[tuple[str, ...], int] = {}
        self._starts: list[tuple[int, tuple[str, ...]]] = []

    def skip_ws(self, pos: int) -> int:
        text, n = self.text, len(self.text)
        while pos < n and text[pos] in _WHITESPACE:
            pos += 1
        return pos

    def expect(self, pos: int, char: str) -> int:
        pos = self.skip_ws(pos)
        if not self.text.startswith(char, pos):
            raise _Unlocatable
        return pos + 1

    def value(self, pos: int, path: tuple[str, ...]) -> int:
        """Walk the value starting at or after `pos`; return the offset just past it."""
        pos = self.skip_ws(pos)
        if pos >= len(self.text):
            raise _Unlocatable
        if path in self.wanted:
            self._starts.append((pos, path))
        char = self.text[pos]
        if path in self.prefixes and char == "{":
            return self.object(pos + 1, path)
        if path in self.prefixes and char == "[":
            return self.array(pos + 1, path)
        try:
            _, end = _DECODER.raw_decode(self.text, pos)
        except ValueError:
            raise _Unlocatable from None
        return end

    def object(self, pos: int, path: tuple[str, ...]) -> int:
        pos = self.skip_ws(pos)
        if self.text.startswith("}", pos):
            return pos + 1
        while True:
            pos = self.skip_ws(pos)
            if not self.text.startswith('"', pos):
                raise _Unlocatable
            try:
                key, pos = _DECODER.raw_decode(self.text, pos)
            except ValueError:
                raise _Unlocatable from None
            pos = self.expect(pos, ":")
            pos = self.value(pos, path + (key,))
            pos = self.skip_ws(pos)
            if self.text.startswith(",", pos):
                pos += 1
            elif self.text.startswith("}", pos):
                return pos + 1
            else:
                raise _Unlocatable

    def array(self, pos: int, path: tuple[str, ...]) -> int:
        pos = self.skip_ws(pos)
        if self.text.startswith("]", pos):
            return pos + 1
        index = 0
        while True:
            pos = self.value(pos, path + (str(index),))
            index += 1
            pos = self.skip_ws(pos)
            if self.text.startswith(",", pos):
                pos += 1
            elif self.text.startswith("]", pos):
                return pos + 1
            else:
                raise _Unlocatable

    def run(self) -> dict[tuple[str, ...], int]:
        self.value(0, ())
        counter = _LineCounter(self.text)
        # Starts are recorded in document order, so offsets only grow; a duplicate key
        # overwrites, matching json.loads, where the last duplicate wins.
        for offset, path in self._starts:
            self.found[path] = counter.line_at(offset)
        return self.found


def locate_lines(text: str | None, pointers: Iterable[str]) -> dict[str, int]:
    """Line (1-based) where each pointer's value starts in `text`.

    Pointers that are malformed, absent from the document, or whose text is missing or not
    valid JSON are left out of the answer; the caller decides the fallback (SARIF uses
    line 1, the start of the file).
    """
    parsed: dict[str, tuple[str, ...]] = {}
    for pointer in pointers:
        try:
            parsed[pointer] = parse_pointer(pointer)
        except ValueError:
            continue
    if text is None or not parsed:
        return {}
    try:
        found = _Walker(text, set(parsed.values())).run()
    except (_Unlocatable, RecursionError):
        return {}
    return {pointer: found[path] for pointer, path in parsed.items() if path in found}
