"""The baseline workflow through the CLI: save, scan --baseline, diff, approve, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers_baseline import INTRUDER, drifted_snapshot, healthy_snapshot

from connguard import snapshot
from connguard.cli import main


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"healthy": tmp_path / "healthy.json", "drifted": tmp_path / "drifted.json",
             "baseline": tmp_path / "baseline.yaml"}
    snapshot.save(paths["healthy"], healthy_snapshot())
    snapshot.save(paths["drifted"], drifted_snapshot())
    return paths


def run(*args: Any) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _drift_findings(report: str) -> list[dict[str, Any]]:
    return [f for f in json.loads(report)["findings"] if f["rule_id"].startswith("CG-01")]


def test_done_when_save_then_scan_is_clean_and_drift_is_exactly_two_findings(files: dict[str, Path]) -> None:
    assert run("baseline", "save", files["healthy"], "--output", files["baseline"]).exit_code == 0

    clean = run("scan", files["healthy"], "--baseline", files["baseline"], "--format", "json")
    assert _drift_findings(clean.stdout) == []
    coverage = {c["rule_id"]: c["status"] for c in json.loads(clean.stdout)["coverage"]}
    assert coverage["CG-0101"] == coverage["CG-0102"] == coverage["CG-0103"] == "evaluated"

    drifted = run("scan", files["drifted"], "--baseline", files["baseline"], "--format", "json")
    findings = _drift_findings(drifted.stdout)
    assert sorted(f["symptom"] for f in findings) == ["connector-changed", "unapproved-connector"]
    changed = next(f for f in findings if f["symptom"] == "connector-changed")
    assert changed["connector"]["identity"] == "Hybrid relay"
    assert changed["evidence"]["field"] == "sender_ip_addresses"
    assert changed["evidence"]["added"] == ["192.0.2.77/32"]
    assert changed["evidence"]["actor"] == INTRUDER and changed["evidence"]["actor_approved"] is False
    assert "192.0.2.77/32" in changed["message"] and INTRUDER in changed["message"]
    unapproved = next(f for f in findings if f["symptom"] == "unapproved-connector")
    assert unapproved["connector"]["identity"] == "Backup relay"
    assert unapproved["evidence"]["actor"] == INTRUDER


def test_save_is_byte_stable(files: dict[str, Path], tmp_path: Path) -> None:
    run("baseline", "save", files["healthy"], "--output", files["baseline"])
    run("baseline", "save", files["healthy"], "--output", tmp_path / "again.yaml")
    assert files["baseline"].read_bytes() == (tmp_path / "again.yaml").read_bytes()


def test_save_can_add_approved_admins(files: dict[str, Path]) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"], "--approved-admin", "Ops@Contoso.com")
    assert "  - ops@contoso.com\n" in files["baseline"].read_text(encoding="utf-8")


def test_diff_exit_codes_and_formats(files: dict[str, Path]) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"])
    same = run("baseline", "diff", files["baseline"], files["healthy"])
    assert (same.exit_code, same.stdout.startswith("No differences")) == (0, True)

    table = run("baseline", "diff", files["baseline"], files["drifted"])
    assert table.exit_code == 1
    assert "sender_ip_addresses" in table.stdout and "added 192.0.2.77/32" in table.stdout

    as_json = json.loads(run("baseline", "diff", files["healthy"], files["drifted"], "--format", "json").stdout)
    assert as_json["differs"] is True
    assert [(c["kind"], c["connector"], c["field"]) for c in as_json["changes"]] == [
        ("added", "Backup relay", None), ("changed", "Hybrid relay", "sender_ip_addresses")]

    markdown = run("baseline", "diff", files["baseline"], files["drifted"], "--format", "markdown").stdout
    assert "| inbound connector | Hybrid relay | sender_ip_addresses | added 192.0.2.77/32 |" in markdown


def test_approve_one_connector_is_a_reviewable_edit(files: dict[str, Path], tmp_path: Path) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"])
    before = files["baseline"].read_text(encoding="utf-8").splitlines()
    result = run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"],
                 "--connector", "hybrid RELAY", "--note", "CHG-1042")
    assert result.exit_code == 0
    assert "sender_ip_addresses | added 192.0.2.77/32" in result.stdout
    after = files["baseline"].read_text(encoding="utf-8").splitlines()
    # The git diff of the approval: the new address and the note, nothing else.
    assert sorted(set(after) - set(before)) == ["      - 192.0.2.77/32", "    note: CHG-1042"]
    assert set(before) <= set(after)
    # The approved change is no longer drift; the unapproved connector still is.
    findings = _drift_findings(run("scan", files["drifted"], "--baseline", files["baseline"], "--format", "json").stdout)
    assert [(f["rule_id"], f["connector"]["identity"]) for f in findings] == [("CG-0101", "Backup relay")]


def test_approve_all_then_diff_is_empty(files: dict[str, Path], tmp_path: Path) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"])
    out = tmp_path / "approved.yaml"
    assert run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"], "--all",
               "--output", out).exit_code == 0
    assert run("baseline", "diff", out, files["drifted"]).exit_code == 0
    assert run("baseline", "diff", files["baseline"], files["healthy"]).exit_code == 0  # original untouched


def test_approve_keeps_fields_the_baseline_left_out(files: dict[str, Path]) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"])
    text = files["baseline"].read_text(encoding="utf-8").replace("    comment: On-premises Exchange 2019\n", "")
    files["baseline"].write_text(text, encoding="utf-8")
    drifted = drifted_snapshot()
    drifted["facts"]["inbound_connectors"][0]["comment"] = "edited"
    snapshot.save(files["drifted"], drifted)
    run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"], "--connector", "Hybrid relay")
    assert "edited" not in files["baseline"].read_text(encoding="utf-8")


def test_approve_removal_and_unknown_connector(files: dict[str, Path]) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"])
    gone = healthy_snapshot()
    gone["facts"]["inbound_connectors"] = gone["facts"]["inbound_connectors"][:1]
    snapshot.save(files["drifted"], gone)
    run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"], "--connector", "Inbound from Fabrikam")
    assert "Inbound from Fabrikam" not in files["baseline"].read_text(encoding="utf-8")

    unknown = run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"], "--connector", "Nope")
    assert unknown.exit_code == 2
    assert "--connector 'nope': no such connector" in unknown.stderr
    assert run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"]).exit_code == 2


@pytest.mark.parametrize("text, line, reason", [
    ("version: 1\ntenant: [\n", 3, "invalid YAML"),
    ("version: 7\ntenant: {domain: contoso.com}\n", 1, "unsupported baseline version 7"),
    (("version: 1\ntenant: {domain: contoso.com}\ninbound_connectors:\n  - identity: Hybrid relay\n"
      "  - identity: hybrid relay\n"), 5, "connector 'hybrid relay' is listed twice"),
])
@pytest.mark.parametrize("command", ["scan", "diff"])
def test_bad_baseline_exits_2_with_file_and_line(files: dict[str, Path], text: str, line: int, reason: str,
                                                  command: str) -> None:
    files["baseline"].write_text(text, encoding="utf-8")
    args = (["scan", files["healthy"], "--baseline", files["baseline"]] if command == "scan"
            else ["baseline", "diff", files["baseline"], files["healthy"]])
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"connguard: error: {files['baseline']}:{line}: {reason}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["scan", "diff", "approve"])
def test_other_tenant_exits_2_unless_allowed(files: dict[str, Path], command: str) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"])
    other = healthy_snapshot()
    other["tenant"] = {"id": "11111111-2222-4333-8444-555555555555", "domain": "fabrikam.com", "name": None}
    snapshot.save(files["drifted"], other)
    args = {"scan": ["scan", files["drifted"], "--baseline", files["baseline"]],
            "diff": ["baseline", "diff", files["baseline"], files["drifted"]],
            "approve": ["baseline", "approve", files["baseline"], "--snapshot", files["drifted"], "--all"]}[command]
    refused = run(*args)
    assert refused.exit_code == 2 and "--allow-tenant-mismatch" in refused.stderr
    assert run(*args, "--allow-tenant-mismatch").exit_code != 2


def test_save_refuses_a_snapshot_without_a_complete_read_of_inbound_connectors(files: dict[str, Path]) -> None:
    data = healthy_snapshot()
    data["sources"]["inbound_connectors"] = {"status": "partial", "reason": "page 3 expired", "count": 2}
    snapshot.save(files["drifted"], data)
    result = run("baseline", "save", files["drifted"], "-o", files["baseline"])
    assert result.exit_code == 2
    assert "$.sources.inbound_connectors: a baseline needs a complete read" in result.stderr
    assert "page 3 expired" in result.stderr
    assert not files["baseline"].exists()


def test_save_warns_about_sections_it_leaves_out(files: dict[str, Path]) -> None:
    data = healthy_snapshot()
    data["sources"]["outbound_connectors"] = {"status": "error", "reason": "403", "count": 0}
    data["facts"]["outbound_connectors"] = []
    snapshot.save(files["drifted"], data)
    result = run("baseline", "save", files["drifted"], "-o", files["baseline"])
    assert result.exit_code == 0
    assert "warning: outbound_connectors not saved (source outbound_connectors is error)" in result.stderr
    assert "outbound_connectors:" not in files["baseline"].read_text(encoding="utf-8")


def test_approve_all_notes_only_the_connectors_it_changed(files: dict[str, Path]) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"])
    result = run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"], "--all", "--note", "CHG-7")
    assert result.stdout.startswith("**connguard baseline approve**: Approved 2 change(s)")
    assert files["baseline"].read_text(encoding="utf-8").count("note: CHG-7") == 2  # Hybrid relay, Backup relay
    again = run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"], "--all", "--format", "table")
    assert (again.exit_code, again.stdout.startswith("Nothing to approve")) == (0, True)


def test_approve_accepted_domains(files: dict[str, Path]) -> None:
    run("baseline", "save", files["healthy"], "-o", files["baseline"])
    data = healthy_snapshot()
    data["facts"]["accepted_domains"].append({"domain": "Fabrikam.com", "domain_type": "InternalRelay"})
    snapshot.save(files["drifted"], data)
    assert run("baseline", "diff", files["baseline"], files["drifted"]).exit_code == 1
    result = run("baseline", "approve", files["baseline"], "--snapshot", files["drifted"], "--accepted-domains")
    assert "| accepted domains | - | accepted_domains | added fabrikam.com |" in result.stdout
    assert "  fabrikam.com: InternalRelay\n" in files["baseline"].read_text(encoding="utf-8")
    assert run("baseline", "diff", files["baseline"], files["drifted"]).exit_code == 0


def test_diff_of_two_tenants_when_allowed_shows_the_tenant(files: dict[str, Path]) -> None:
    other = healthy_snapshot()
    other["tenant"] = {"id": "11111111-2222-4333-8444-555555555555", "domain": "fabrikam.com", "name": None}
    snapshot.save(files["drifted"], other)
    result = run("baseline", "diff", files["healthy"], files["drifted"], "--allow-tenant-mismatch")
    assert result.exit_code == 1
    assert ("contoso.com (7a3c1e0f-1111-4222-8333-944455556666) -> "
            "fabrikam.com (11111111-2222-4333-8444-555555555555)") in result.stdout


@pytest.mark.parametrize(("content", "reason"), [
    (None, "cannot read"),
    (b"version: 1\n\xff\xfe\n", "not UTF-8 text"),
])
def test_diff_of_an_unreadable_file_exits_2(files: dict[str, Path], content: bytes | None, reason: str) -> None:
    if content is not None:
        files["baseline"].write_bytes(content)
    result = run("baseline", "diff", files["baseline"], files["healthy"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"connguard: error: {files['baseline']}: {reason}")
