"""Bad exports: rejected rows are reported with file and line and the import goes on;
a file nobody can recognise stops the import with exit 2 and a listing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from helpers_import import (
    AS_OF,
    SEARCH_AUDIT_COLUMNS,
    TRACE_COLUMNS,
    accepted_domain,
    audit_data,
    inbound_connector,
    ps_csv,
    ps_json,
    search_audit_row,
    trace_row,
    write,
)
from test_import_forms import run_import

WHEN = AS_OF - timedelta(hours=2)


def _audit_rows(count: int) -> list[dict[str, object]]:
    return [search_audit_row(audit_data(f"r-{i}", "Set-InboundConnector", "admin@contoso.com", "Relay",
                                        WHEN + timedelta(minutes=i), {}), WHEN) for i in range(count)]


def test_unrecognised_file_stops_the_import_and_lists_every_file(tmp_path: Path) -> None:
    good = write(tmp_path / "in" / "audit.csv", ps_csv(_audit_rows(1), SEARCH_AUDIT_COLUMNS))
    bad = write(tmp_path / "in" / "notes.csv", "Name,Favourite colour\r\nAlice,blue\r\n")
    write(tmp_path / "in" / "thing.json", json.dumps([{"Password": "hunter2", "Foo": 1}]))
    code, err, data = run_import(tmp_path, tmp_path / "in")
    assert code == 2 and data == {}
    assert "Search-UnifiedAuditLog CSV" in err
    assert f"{bad}: NOT RECOGNISED (CSV with columns Name, Favourite colour)" in err
    assert "thing.json: NOT RECOGNISED (JSON record with fields Foo, Password)" in err
    assert "hunter2" not in err  # field names only, never values
    assert err.strip().splitlines()[-1].startswith("connguard: error: 2 of 3 file(s) match no known export")
    assert good.exists()


def test_binary_file_is_not_recognised(tmp_path: Path) -> None:
    path = tmp_path / "in" / "x.bin"
    path.parent.mkdir()
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\xc3\x28")
    code, err, _ = run_import(tmp_path, path)
    assert code == 2 and "NOT RECOGNISED" in err


def test_bad_rows_are_rejected_with_file_and_line_and_the_rest_imported(tmp_path: Path) -> None:
    rows = _audit_rows(4)
    rows[1]["AuditData"] = "{not json"
    text = ps_csv(rows, SEARCH_AUDIT_COLUMNS)
    lines = text.split("\r\n")
    lines.insert(4, '"ExchangeAdmin","only two columns"')  # wrong column count on line 5
    path = write(tmp_path / "in" / "audit.csv", "\r\n".join(lines))
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert f"{path}:3: AuditData is not JSON" in err
    assert f"{path}:5: expected 7 columns, found 2" in err
    source = data["sources"]["audit_events"]
    assert source["status"] == "partial" and source["errors_total"] == 2
    assert source["errors"][1] == {"file": str(path), "line": 5, "message": "expected 7 columns, found 2"}
    assert source["files"][0]["rows_read"] == 5 and source["files"][0]["rows_rejected"] == 2
    assert len(data["facts"]["audit_events"]) == 3


def test_many_bad_rows_show_the_first_few_then_a_count(tmp_path: Path) -> None:
    rows = [trace_row(i, WHEN, "a@contoso.com", "b@x.example", "198.51.100.7") for i in range(30)]
    for row in rows[:12]:
        row["Received"] = "31/31/2026 99:99:99"
    path = write(tmp_path / "in" / "t.csv", ps_csv(rows, TRACE_COLUMNS))
    code, err, data = run_import(tmp_path, path)
    assert code == 0
    assert err.count("not a timestamp") == 5
    assert f"... and 7 more in {path}" in err
    assert data["sources"]["mail_stats"]["errors_total"] == 12
    assert data["sources"]["mail_stats"]["files"][0]["rows_used"] == 18


def test_non_us_culture_dates_are_rejected_not_misread(tmp_path: Path) -> None:
    row = search_audit_row(audit_data("r-1", "Set-InboundConnector", "a@contoso.com", "Relay", WHEN, {}), WHEN)
    data_obj = json.loads(str(row["AuditData"]))
    del data_obj["CreationTime"]
    row["AuditData"] = json.dumps(data_obj)
    row["CreationDate"] = "25.11.2026 10:00:00"
    code, err, data = run_import(tmp_path, write(tmp_path / "in" / "a.csv", ps_csv([row], SEARCH_AUDIT_COLUMNS)))
    assert code == 0
    assert ":2: CreationDate: not a timestamp" in err
    assert data["facts"]["audit_events"] == []


def test_empty_files_header_only_csv_and_empty_json(tmp_path: Path) -> None:
    empty = write(tmp_path / "in" / "empty.json", "")
    blank = write(tmp_path / "in" / "blank.txt", "\ufeff  \r\n", "utf-8")
    no_records = write(tmp_path / "in" / "none.json", '{"value": []}')
    header = write(tmp_path / "in" / "header.csv", ps_csv([], SEARCH_AUDIT_COLUMNS), "utf-16")
    code, err, data = run_import(tmp_path, tmp_path / "in")
    assert code == 0, err
    assert "empty.json: skipped (empty file)" in err and "none.json: skipped (JSON with no records)" in err
    assert "blank.txt: skipped" in err
    source = data["sources"]["audit_events"]
    assert source["status"] == "ok" and source["count"] == 0 and source["files"][0]["rows_read"] == 0
    assert empty.exists() and header.exists() and no_records.exists() and blank.exists()


def test_a_snapshot_in_the_evidence_folder_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "in" / "d.json", ps_json([accepted_domain("contoso.com")]))
    code, _, first = run_import(tmp_path, tmp_path / "in")
    (tmp_path / "in" / "snapshot.json").write_text(json.dumps(first), "utf-8")
    code, err, again = run_import(tmp_path, tmp_path / "in")
    assert code == 0 and again == first
    assert "snapshot.json: skipped (a connguard snapshot, not an export)" in err


def test_only_empty_files_cannot_make_a_snapshot(tmp_path: Path) -> None:
    code, err, data = run_import(tmp_path, write(tmp_path / "in" / "empty.json", ""))
    assert code == 2 and data == {}
    assert "no export to import" in err


def test_csv_cut_off_mid_row(tmp_path: Path) -> None:
    text = ps_csv(_audit_rows(3), SEARCH_AUDIT_COLUMNS)
    path = write(tmp_path / "in" / "a.csv", text[: text.rindex('{""CreationTime""') + 40])
    code, err, data = run_import(tmp_path, path)
    assert code == 0
    assert f"{path}:4: malformed CSV: the file ends inside a quoted value" in err
    assert len(data["facts"]["audit_events"]) == 2
    assert data["sources"]["audit_events"]["status"] == "partial"


def test_json_cut_off_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    connectors = [inbound_connector(f"C{i}", ips=[], domains=["*"], require_tls=True, changed=WHEN, created=WHEN)
                  for i in range(3)]
    text = ps_json(connectors)
    path = write(tmp_path / "in" / "c.json", text[: text.index('"C2"')])
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert [c["identity"] for c in data["facts"]["inbound_connectors"]] == ["C0", "C1"]
    assert "is the file truncated?" in err
    assert data["sources"]["inbound_connectors"]["status"] == "partial"


def test_formula_prefixes_are_kept_as_data(tmp_path: Path) -> None:
    payload = "=cmd|' /C calc'!A0"
    rows = [search_audit_row(audit_data("r-1", "Set-InboundConnector", "+admin@contoso.com", "@Relay", WHEN,
                                        {"Comment": payload}), WHEN)]
    code, err, data = run_import(tmp_path, write(tmp_path / "in" / "a.csv", ps_csv(rows, SEARCH_AUDIT_COLUMNS)))
    assert code == 0, err
    (event,) = data["facts"]["audit_events"]
    assert event["parameters"]["Comment"] == payload
    assert event["actor"] == "+admin@contoso.com" and event["target"] == "@Relay"


def test_overlapping_exports_merge_and_count_duplicates_once(tmp_path: Path) -> None:
    rows = _audit_rows(6)
    week1 = write(tmp_path / "in" / "w1.csv", ps_csv(rows[:4], SEARCH_AUDIT_COLUMNS))
    week2 = write(tmp_path / "in" / "w2.csv", ps_csv(rows[2:], SEARCH_AUDIT_COLUMNS), "utf-16")
    trace = [trace_row(i, WHEN + timedelta(minutes=i), "a@contoso.com", "b@x.example", "198.51.100.7")
             for i in range(10)]
    t1 = write(tmp_path / "in" / "t1.csv", ps_csv(trace[:7], TRACE_COLUMNS))
    t2 = write(tmp_path / "in" / "t2.csv", ps_csv(trace[3:] + trace[3:5], TRACE_COLUMNS))
    domains = write(tmp_path / "in" / "d.json", ps_json([accepted_domain("contoso.com")]))
    code, err, data = run_import(tmp_path, week1, week2, t1, t2, domains)
    assert code == 0, err
    assert [e["id"] for e in data["facts"]["audit_events"]] == [f"r-{i}" for i in range(6)]
    assert sum(s["outbound"] for s in data["facts"]["mail_stats"]) == 10
    used = {f["name"]: f["rows_used"] for f in data["sources"]["mail_stats"]["files"]}
    assert used == {str(t1): 7, str(t2): 3}


def test_bad_as_of_and_no_time_at_all(tmp_path: Path) -> None:
    path = write(tmp_path / "in" / "d.json", ps_json([accepted_domain("contoso.com")]))
    code, err, _ = run_import(tmp_path, path, as_of="2026-11-25 12:00")
    assert code == 2 and "--as-of" in err
    code, err, _ = run_import(tmp_path, path, as_of=None)
    assert code == 2 and "pass --as-of" in err
    code, err, data = run_import(tmp_path, path, as_of="2026-11-25T13:00:00+01:00")
    assert code == 0 and data["collected_at"] == "2026-11-25T12:00:00Z"


def test_missing_path_is_exit_2(tmp_path: Path) -> None:
    code, err, _ = run_import(tmp_path, tmp_path / "nope")
    assert code == 2 and "no such file or folder" in err


def test_undecodable_bytes_mid_file_keep_the_rows_before(tmp_path: Path) -> None:
    rows = [trace_row(i, WHEN, "a@contoso.com", "b@x.example", "198.51.100.7") for i in range(500)]
    path = tmp_path / "in" / "t.csv"
    path.parent.mkdir()
    path.write_bytes(ps_csv(rows, TRACE_COLUMNS).encode("utf-8") + b'"\xff\xfe broken"\r\n')
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert "not valid utf-8 text after record" in err
    assert data["sources"]["mail_stats"]["status"] == "partial"
    assert data["sources"]["mail_stats"]["files"][0]["rows_used"] >= 400
