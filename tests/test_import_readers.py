"""The low-level readers: encoding sniffing, streaming JSON and CSV, recognition table."""

from __future__ import annotations

import io
import json

import pytest
from connguard.collectors.importers import recognize
from connguard.collectors.importers.csvstream import CsvRows
from connguard.collectors.importers.files import sniff_encoding
from connguard.collectors.importers.jsonstream import JsonRecords, JsonStreamError
from connguard.collectors.importers.run import HANDLERS
from hypothesis import given, settings
from hypothesis import strategies as st

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                     st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                              max_size=3), max_leaves=8)
_records = st.lists(st.dictionaries(st.text(max_size=6), _values, max_size=4), max_size=6)


@settings(max_examples=60, deadline=None)
@given(records=_records, chunk=st.integers(min_value=1, max_value=40), indent=st.sampled_from([None, 1, 4]),
       envelope=st.booleans())
def test_json_records_match_json_loads_whatever_the_chunking(records: list, chunk: int, indent: int | None,
                                                             envelope: bool) -> None:
    document = {"@odata.context": "c", "value": records, "@odata.nextLink": "n"} if envelope else records
    text = json.dumps(document, indent=indent)
    got = [record for _, record in JsonRecords(io.StringIO(text), chunk_size=chunk)]
    assert got == records


def test_json_paths_and_bare_object() -> None:
    assert list(JsonRecords(io.StringIO('{"value": [{"a": 1}, {"a": 2}]}'))) == [
        ("$.value[0]", {"a": 1}), ("$.value[1]", {"a": 2})]
    assert list(JsonRecords(io.StringIO('{"Identity": "x", "value": "not a list"}'))) == [
        ("$", {"Identity": "x", "value": "not a list"})]


def test_json_error_names_the_line() -> None:
    records = JsonRecords(io.StringIO('[\n{"a": 1},\n{"a": 2,, }\n]'), chunk_size=4)
    with pytest.raises(JsonStreamError) as caught:
        list(records)
    assert caught.value.line == 3


@pytest.mark.parametrize("head, codec", [
    (b"\xef\xbb\xbf[", "utf-8-sig"), (b"\xff\xfe[\x00", "utf-16"), (b"[\x00{\x00", "utf-16-le"),
    (b"\x00[\x00{", "utf-16-be"), (b'[{"a', "utf-8"), (b"", "utf-8"),
])
def test_sniff_encoding(head: bytes, codec: str) -> None:
    assert sniff_encoding(head) == codec


def test_csv_rows_keep_values_verbatim_and_number_lines() -> None:
    text = '"A","B"\r\n"=1+2","@x"\r\n"multi\r\nline","-3"\r\n"+4","ok"\r\n'
    rows = list(CsvRows(io.StringIO(text, newline="")))
    assert [(r.line, r.record) for r in rows] == [
        (2, {"A": "=1+2", "B": "@x"}), (3, {"A": "multi\r\nline", "B": "-3"}), (5, {"A": "+4", "B": "ok"})]


def test_every_recognised_kind_has_a_reader() -> None:
    assert set(HANDLERS) == {kind.name for kind in recognize.ALL_KINDS}
