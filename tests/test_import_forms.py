"""Every export form in the issue's table, in each encoding Windows writes, is recognised by
content and lands in the right snapshot facts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers_import import (
    AS_OF,
    ENCODINGS,
    EVENT_COLUMNS,
    PURVIEW_AUDIT_COLUMNS,
    SEARCH_AUDIT_COLUMNS,
    TRACE_COLUMNS,
    accepted_domain,
    audit_data,
    event_row,
    graph_body,
    inbound_connector,
    plain_csv,
    ps_csv,
    ps_json,
    search_audit_row,
    trace_row,
    us_date,
    write,
)

from connguard.cli import main

WHEN = AS_OF - timedelta(hours=2)


def run_import(tmp_path: Path, *paths: Path, as_of: str | None = "2026-11-25T12:00:00Z") -> tuple[int, str, dict]:
    """Run `connguard import` and return (exit code, stderr, snapshot or {})."""
    output = tmp_path / "out" / "snapshot.json"
    args = ["import", *map(str, paths), "--output", str(output)] + (["--as-of", as_of] if as_of else [])
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    data = json.loads(output.read_text("utf-8")) if output.exists() else {}
    return result.exit_code, result.stderr, data


def _connector(name: str = "Relay", style: str = "ps7") -> dict[str, Any]:
    return inbound_connector(name, ips=["198.51.100.7"], domains=["*"], require_tls=False, changed=WHEN,
                             created=WHEN, style=style)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("style", ["ps51", "ps7"])
@pytest.mark.parametrize("count", [1, 2])
def test_inbound_connectors_json(tmp_path: Path, encoding: str, style: str, count: int) -> None:
    records = [_connector(f"Relay {i}", style) for i in range(count)]
    records[0]["Comment"] = "<b>Tom & Jerry's</b>"
    path = write(tmp_path / "in" / "x.txt", ps_json(records, style), encoding)
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert "Get-InboundConnector JSON" in err
    facts = data["facts"]["inbound_connectors"]
    assert [f["identity"] for f in facts] == [f"Relay {i}" for i in range(count)]
    assert facts[0]["comment"] == "<b>Tom & Jerry's</b>"
    assert facts[0]["when_changed"] == "2026-11-25T10:00:00Z"
    assert facts[0]["sender_domains"] == ["*"] and facts[0]["sender_ip_addresses"] == ["198.51.100.7/32"]
    assert data["sources"]["inbound_connectors"]["status"] == "ok"
    assert data["sources"]["audit_events"]["status"] == "missing"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_outbound_accepted_and_blocked_json(tmp_path: Path, encoding: str) -> None:
    outbound = {"Identity": "Out", "Name": "Out", "Enabled": True, "SmartHosts": ["mail.contoso.com"],
                "RecipientDomains": ["*"], "UseMXRecord": False, "ConnectorType": "OnPremises"}
    domains = [accepted_domain("contoso.com", default=True), accepted_domain("contoso.onmicrosoft.com", initial=True)]
    blocked = {"ConnectorId": "g-1", "ConnectorName": "Relay", "Reason": "Suspicious connector activity",
               "CreatedTime": "/Date(1795045502000)/"}
    paths = [write(tmp_path / "in" / name, ps_json(records, "ps51"), encoding)
             for name, records in (("a", [outbound]), ("b", domains), ("c", [blocked]))]
    code, err, data = run_import(tmp_path, *paths)
    assert code == 0, err
    assert data["facts"]["outbound_connectors"][0]["smart_hosts"] == ["mail.contoso.com"]
    assert [d["domain"] for d in data["facts"]["accepted_domains"]] == ["contoso.com", "contoso.onmicrosoft.com"]
    assert data["tenant"]["domain"] == "contoso.onmicrosoft.com"
    assert data["facts"]["blocked_connectors"][0]["blocked_at"] == "2026-11-18T23:45:02Z"


def _audits() -> list[dict[str, Any]]:
    return [audit_data("r-1", "New-InboundConnector", "Mallory@contoso.com", "Relay", WHEN, {"ConnectorType": "OnPremises"}),
            audit_data("r-2", "Set-InboundConnector", "admin@contoso.com", "Relay", WHEN + timedelta(minutes=1),
                       {"RequireTls": "False"}),
            audit_data("r-3", "Set-Mailbox", "admin@contoso.com", "x", WHEN, {})]


def _check_audit(data: dict[str, Any]) -> None:
    events = data["facts"]["audit_events"]
    assert [(e["id"], e["operation"], e["actor"], e["target"]) for e in events] == [
        ("r-1", "New-InboundConnector", "mallory@contoso.com", "Relay"),
        ("r-2", "Set-InboundConnector", "admin@contoso.com", "Relay")]
    assert events[0]["time"] == "2026-11-25T10:00:00Z" and events[0]["client_ip"] == "2001:db8::66"
    files = data["sources"]["audit_events"]["files"]
    assert (files[0]["rows_read"], files[0]["rows_used"], files[0]["rows_rejected"]) == (3, 2, 0)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("type_line", [False, True])
def test_search_unified_audit_log_csv(tmp_path: Path, encoding: str, type_line: bool) -> None:
    rows = [search_audit_row(a, WHEN) for a in _audits()]
    path = write(tmp_path / "in" / "a.csv", ps_csv(rows, SEARCH_AUDIT_COLUMNS, type_line=type_line), encoding)
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert "Search-UnifiedAuditLog CSV" in err
    _check_audit(data)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_purview_audit_csv_uses_creation_date_when_audit_data_has_no_time(tmp_path: Path, encoding: str) -> None:
    audits = _audits()
    del audits[0]["CreationTime"]
    rows = [{"RecordId": a["Id"], "CreationDate": us_date(WHEN), "RecordType": "ExchangeAdmin",
             "Operation": a["Operation"], "UserId": a["UserId"], "AuditData": json.dumps(a)} for a in audits]
    path = write(tmp_path / "in" / "p.csv", ps_csv(rows, PURVIEW_AUDIT_COLUMNS), encoding)
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert "Purview audit export CSV" in err
    _check_audit(data)


def test_search_unified_audit_log_json(tmp_path: Path) -> None:
    rows = [search_audit_row(a, WHEN) for a in _audits()]
    path = write(tmp_path / "in" / "a.json", ps_json(rows, "ps51"), "utf-16")
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert "Search-UnifiedAuditLog JSON" in err
    _check_audit(data)


def test_graph_audit_query_records(tmp_path: Path) -> None:
    records = [{"id": a["Id"], "createdDateTime": WHEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "auditLogRecordType": "ExchangeAdmin", "operation": a["Operation"],
                "userPrincipalName": a["UserId"], "auditData": a} for a in _audits()]
    path = write(tmp_path / "in" / "g.json", graph_body(records))
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert "Graph audit log query records JSON" in err
    _check_audit(data)


def test_management_activity_api_content(tmp_path: Path) -> None:
    path = write(tmp_path / "in" / "m.json", json.dumps(_audits()))
    code, err, data = run_import(tmp_path, path)
    assert code == 0, err
    assert "Management Activity API content JSON" in err
    _check_audit(data)


def _config(tmp_path: Path) -> list[Path]:
    return [write(tmp_path / "in" / "conn.json", ps_json([_connector()])),
            write(tmp_path / "in" / "dom.json", ps_json([accepted_domain("contoso.com")]))]


def _trace_rows(date_style: str = "us") -> list[dict[str, Any]]:
    return [trace_row(i, WHEN + timedelta(minutes=i), "a@contoso.com", f"v{i}@t{i % 3}.example", "198.51.100.7",
                      status="FilteredAsSpam" if i % 2 else "Delivered", date_style=date_style) for i in range(10)]


def _check_trace(data: dict[str, Any], *, unavailable: list[str] | None = None) -> None:
    (stat,) = data["facts"]["mail_stats"]
    assert (stat["hour"], stat["connector"], stat["outbound"], stat["spam"]) == ("2026-11-25T10:00:00Z", "Relay", 10, 5)
    assert stat["recipient_domains"] == 3 and stat["new_recipient_domain_count"] == 3
    assert data["sources"]["mail_stats"]["unavailable_fields"] == (unavailable if unavailable is not None
                                                                   else ["p1_p2_mismatch"])


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_message_trace_csv(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / "in" / "t.csv", ps_csv(_trace_rows(), TRACE_COLUMNS), encoding)
    code, err, data = run_import(tmp_path, path, *_config(tmp_path))
    assert code == 0, err
    assert "Get-MessageTraceV2 CSV" in err
    _check_trace(data)


@pytest.mark.parametrize("style", ["ps51", "ps7"])
def test_message_trace_json(tmp_path: Path, style: str) -> None:
    path = write(tmp_path / "in" / "t.json", ps_json(_trace_rows("iso"), style), "utf-16")
    code, err, data = run_import(tmp_path, path, *_config(tmp_path))
    assert code == 0, err
    assert "Get-MessageTraceV2 JSON" in err
    _check_trace(data)


def test_graph_message_traces(tmp_path: Path) -> None:
    records = [{"id": r["MessageTraceId"], "senderAddress": r["SenderAddress"], "recipientAddress": r["RecipientAddress"],
                "receivedDateTime": r["Received"], "fromIP": r["FromIP"], "status": r["Status"].lower()}
               for r in _trace_rows("iso")]
    path = write(tmp_path / "in" / "t.json", graph_body(records))
    code, err, data = run_import(tmp_path, path, *_config(tmp_path))
    assert code == 0, err
    assert "Graph messageTraces JSON" in err
    _check_trace(data)


def _events() -> list[dict[str, Any]]:
    return [event_row(i, WHEN + timedelta(minutes=i), f"b@spoof{i % 2}.example", "ceo@contoso.com",
                      f"v{i}@t{i % 3}.example", "198.51.100.7", "Relay", junk=bool(i % 2)) for i in range(10)]


def _check_events(data: dict[str, Any]) -> None:
    (stat,) = data["facts"]["mail_stats"]
    assert (stat["connector"], stat["outbound"], stat["spam"], stat["p1_p2_mismatch"]) == ("Relay", 10, 5, 10)
    assert stat["non_accepted_sender"] == 10 and stat["sender_domains"] == ["spoof0.example", "spoof1.example"]
    assert data["sources"]["mail_stats"]["unavailable_fields"] == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_email_events_csv(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / "in" / "e.csv", plain_csv(_events(), EVENT_COLUMNS), encoding)
    code, err, data = run_import(tmp_path, path, *_config(tmp_path))
    assert code == 0, err
    assert "Advanced hunting EmailEvents CSV" in err
    _check_events(data)


def test_run_hunting_query_response(tmp_path: Path) -> None:
    body = {"@odata.context": "x", "schema": [{"name": c, "type": "String"} for c in EVENT_COLUMNS],
            "results": [{**e, "SenderIPv6": {}} for e in _events()]}
    path = write(tmp_path / "in" / "h.json", json.dumps(body))
    code, err, data = run_import(tmp_path, path, *_config(tmp_path))
    assert code == 0, err
    assert "runHuntingQuery EmailEvents JSON" in err
    _check_events(data)


ALERT = {"id": "al-1", "title": "Suspicious connector activity", "severity": "high", "status": "new",
         "serviceSource": "microsoftDefenderForOffice365", "createdDateTime": "2026-11-25T10:00:00Z",
         "description": "Connector 'Relay' sent suspicious mail.", "evidence": []}
RISKY = {"id": "u1", "userPrincipalName": "Mallory@contoso.com", "riskLevel": "high", "riskState": "atRisk",
         "riskDetail": "none", "riskLastUpdatedDateTime": "2026-11-25T09:00:00Z"}
ROLE = {"id": "ra", "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "principalId": "u1",
        "principal": {"id": "u1", "userPrincipalName": "mallory@contoso.com", "displayName": "Mallory"}}
SIGN_IN = {"id": "s1", "userPrincipalName": "mallory@contoso.com", "createdDateTime": "2026-11-25T08:00:00Z",
           "ipAddress": "192.0.2.66", "appDisplayName": "Exchange", "status": {"errorCode": 0},
           "riskLevelDuringSignIn": "high", "location": {"countryOrRegion": "XX"}}


@pytest.mark.parametrize("wrap", ["graph", "ps51", "ps7"])
def test_alerts_risky_users_roles_and_sign_ins(tmp_path: Path, wrap: str) -> None:
    def body(record: dict[str, Any]) -> str:
        return graph_body([record]) if wrap == "graph" else ps_json([record], wrap)

    paths = [write(tmp_path / "in" / name, body(rec), "utf-16" if wrap == "ps51" else "utf-8")
             for name, rec in (("1", ALERT), ("2", RISKY), ("3", ROLE), ("4", SIGN_IN))]
    code, err, data = run_import(tmp_path, *paths)
    assert code == 0, err
    for label in ("Graph alerts_v2 JSON", "Graph riskyUsers JSON", "Graph roleAssignments JSON", "Graph signIns JSON"):
        assert label in err
    assert data["facts"]["alerts"][0]["connector_names"] == ["Relay"]
    (admin,) = data["facts"]["admins"]
    assert admin["roles"] == ["Global Administrator"] and admin["risk_level"] == "high"
    assert admin["sign_ins"][0]["country"] == "XX"
    assert data["sources"]["admins"]["status"] == "ok"


def test_admins_without_role_assignments_are_partial(tmp_path: Path) -> None:
    code, _, data = run_import(tmp_path, write(tmp_path / "in" / "r.json", graph_body([RISKY])))
    assert code == 0
    assert data["sources"]["admins"]["status"] == "partial"
    assert "roleAssignments" in data["sources"]["admins"]["reason"]
