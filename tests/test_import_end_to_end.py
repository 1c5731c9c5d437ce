"""Import a folder of mixed exports of a compromised tenant, then scan it: the compromise
is found, and the same folder always gives the same snapshot bytes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers_import import ROGUE, compromised_tenant

from connguard.cli import main


def _import(folder: Path, output: Path) -> str:
    result = CliRunner().invoke(main, ["import", str(folder), "--output", str(output)])
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_import_then_scan_finds_the_compromised_connector(tmp_path: Path) -> None:
    compromised_tenant(tmp_path / "evidence")
    stderr = _import(tmp_path / "evidence", tmp_path / "snapshot.json")
    for label in ("Get-InboundConnector JSON", "Get-OutboundConnector JSON", "Get-AcceptedDomain JSON",
                  "Get-BlockedConnector JSON", "Search-UnifiedAuditLog CSV", "Graph alerts_v2 JSON",
                  "Graph riskyUsers JSON", "Graph roleAssignments JSON", "Get-MessageTraceV2 CSV",
                  "Advanced hunting EmailEvents CSV"):
        assert label in stderr
    config = tmp_path / "config.yaml"
    config.write_text("organization:\n  onprem_ips: [203.0.113.0/28]\n  approved_admins: [admin@contoso.com]\n")
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "snapshot.json"), "--config", str(config),
                                       "--format", "json", "--output", str(tmp_path / "report.json")])
    assert result.exit_code == 1, result.stderr  # findings at or above the default --fail-on
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    rogue = {f["symptom"] for f in report["findings"] if (f.get("connector") or {}).get("identity") == ROGUE}
    assert {"connector-blocked", "connector-alert", "outbound-spike", "spam-surge", "unaccepted-sender-domain",
            "sender-mismatch", "foreign-sender-ip", "unapproved-connector", "permissive-connector"} <= rogue
    everywhere = {f["symptom"] for f in report["findings"]}
    assert {"admin-compromised", "connector-changed"} <= everywhere
    coverage = {c["rule_id"]: c["status"] for c in report["coverage"]}
    assert coverage["CG-0005"] == "evaluated"  # P2 came from EmailEvents


def test_same_exports_same_snapshot_bytes(tmp_path: Path) -> None:
    compromised_tenant(tmp_path / "evidence")
    _import(tmp_path / "evidence", tmp_path / "one.json")
    _import(tmp_path / "evidence", tmp_path / "two.json")
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


def test_snapshot_cites_every_file_and_marks_what_is_missing(tmp_path: Path) -> None:
    files = compromised_tenant(tmp_path / "evidence")
    files["alerts"].unlink()
    _import(tmp_path / "evidence", tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text("utf-8"))
    assert data["sources"]["alerts"]["status"] == "missing"
    trace = next(f for f in data["sources"]["mail_stats"]["files"] if f["name"].endswith("trace.csv"))
    assert len(trace["sha256"]) == 64 and trace["format"] == "message_trace_csv"
    assert trace["rows_read"] == 636 and trace["rows_used"] == 516  # 120 messages already came from EmailEvents
    assert data["collector"]["mode"] == "import"
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "s.json"), "--format", "json"])
    report = json.loads(result.stdout)
    assert {c["rule_id"]: c["status"] for c in report["coverage"]}["CG-0002"] == "not_evaluated"
