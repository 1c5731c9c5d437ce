"""The JSON-pointer -> line locator that anchors SARIF results in the snapshot file."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connguard.reports.locator import locate_lines, parse_pointer


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_canonical_snapshot_lines_point_at_each_connector_brace() -> None:
    doc = {"facts": {"inbound_connectors": [{"identity": "A"}, {"identity": "B"}, {"identity": "C"}]}}
    text = json.dumps(doc, indent=2, sort_keys=True)
    lines = locate_lines(text, [f"/facts/inbound_connectors/{i}" for i in range(3)])
    assert lines == {
        "/facts/inbound_connectors/0": _line_of(text, '"A"') - 1,
        "/facts/inbound_connectors/1": _line_of(text, '"B"') - 1,
        "/facts/inbound_connectors/2": _line_of(text, '"C"') - 1,
    }


def test_compact_json_is_all_line_one_and_crlf_counts_once() -> None:
    doc = {"facts": {"x": [{"a": 1}, {"a": 2}]}}
    assert locate_lines(json.dumps(doc, separators=(",", ":")), ["/facts/x/1"]) == {"/facts/x/1": 1}
    crlf = '{\r\n"facts":\r\n{"x":\r\n[\r\n{"a":1},\r\n\r\n{"a":2}]}}'
    assert locate_lines(crlf, ["/facts/x/0", "/facts/x/1"]) == {"/facts/x/0": 5, "/facts/x/1": 7}
    lone_cr = '{"facts":{"x":[\r{"a":1},\r{"a":2}]}}'
    assert locate_lines(lone_cr, ["/facts/x/1"]) == {"/facts/x/1": 3}


def test_strings_holding_brackets_quotes_and_escaped_slashes_do_not_confuse_it() -> None:
    text = '{"a/b": [\n"[{\\"]", \n{"k": "}\\n]"},\n  {"k~": 1}\n]}'
    assert json.loads(text)  # the text is valid JSON
    assert locate_lines(text, ["/a~1b/1", "/a~1b/2", "/a~1b/2/k~0"]) == {"/a~1b/1": 3, "/a~1b/2": 4, "/a~1b/2/k~0": 4}


def test_missing_pointers_bad_pointers_and_bad_text_are_left_out() -> None:
    text = json.dumps({"facts": {"x": [{"a": 1}]}}, indent=2)
    assert locate_lines(text, ["/facts/x/5", "/facts/y/0", "facts/x/0", "/facts/x/00"]) == {}
    assert locate_lines(None, ["/facts/x/0"]) == {}
    assert locate_lines('{"facts": {"x": [{"a": 1}', ["/facts/x/0"]) == {}
    assert locate_lines('{"facts": [1, 2,, 3]}', ["/facts/3"]) == {}
    assert locate_lines("", ["/a"]) == {}


def test_duplicate_keys_resolve_like_json_loads_last_wins() -> None:
    text = '{"x": [{"a": 1}],\n"x": [\n{"a": 2}]}'
    assert json.loads(text)["x"] == [{"a": 2}]
    assert locate_lines(text, ["/x/0"]) == {"/x/0": 3}


def test_parse_pointer_unescapes_in_rfc6901_order() -> None:
    assert parse_pointer("") == ()
    assert parse_pointer("/a~01/b~1c/0") == ("a~1", "b/c", "0")


# --- property: any JSON, any whitespace -------------------------------------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)
_ws = st.lists(st.sampled_from([" ", "\t", "\n", "\r\n", "\r", "  "]), max_size=3).map("".join)


class _Formatter:
    """Writes a document with random whitespace between tokens and records, for every
    value, the line its first character is on (counting CR, LF and CRLF once each)."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.parts: list[str] = []
        self.lines: dict[str, int] = {}
        self.line = 1

    def emit(self, piece: str) -> None:
        self.parts.append(piece)
        self.line += piece.count("\n") + piece.count("\r") - piece.count("\r\n")

    def space(self) -> None:
        # Never split a CRLF across two whitespace runs (it would count as two line ends).
        gap = self.draw(_ws)
        if self.parts and self.parts[-1].endswith("\r") and gap.startswith("\n"):
            gap = " " + gap
        self.emit(gap)

    def value(self, value: Any, pointer: str) -> None:
        self.space()
        self.lines[pointer] = self.line
        if isinstance(value, dict):
            self.emit("{")
            for i, (key, item) in enumerate(value.items()):
                if i:
                    self.space()
                    self.emit(",")
                self.space()
                self.emit(json.dumps(key, ensure_ascii=self.draw(st.booleans())))
                self.space()
                self.emit(":")
                self.value(item, pointer + "/" + key.replace("~", "~0").replace("/", "~1"))
            self.space()
            self.emit("}")
        elif isinstance(value, list):
            self.emit("[")
            for i, item in enumerate(value):
                if i:
                    self.space()
                    self.emit(",")
                self.value(item, f"{pointer}/{i}")
            self.space()
            self.emit("]")
        else:
            self.emit(json.dumps(value, ensure_ascii=self.draw(st.booleans())))


@st.composite
def _formatted(draw: Any) -> tuple[str, dict[str, int]]:
    doc = draw(_json)
    formatter = _Formatter(draw)
    formatter.value(doc, "")
    formatter.space()
    return "".join(formatter.parts), formatter.lines


@settings(max_examples=200, deadline=None)
@given(_formatted())
def test_every_value_is_located_on_the_line_it_starts(case: tuple[str, dict[str, int]]) -> None:
    text, expected = case
    assert locate_lines(text, expected) == expected
