"""`connguard respond` end to end: the demo tenant, bad input (exit 2), nothing to do."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result
from helpers_respond import TENANT_ID, make_baseline, make_report, write_inputs
from helpers_respond_ps import lex

from connguard.cli import main

FILES = ["plan.md", "remediate.ps1", "report.html", "timeline.json"]


def _run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """respond on `connguard scan --demo --format json` (the demo tenant's real scan)."""
    folder = tmp_path_factory.mktemp("demo")
    scan = _run("scan", "--demo", "--format", "json", "--output", folder / "report.json")
    assert scan.exit_code == 1, scan.output  # findings at or above the default --fail-on
    result = _run("respond", folder / "report.json", "--output", folder / "out")
    assert result.exit_code == 0, result.output
    return folder / "out"


def test_demo_writes_all_four_files(demo: Path) -> None:
    assert sorted(p.name for p in demo.iterdir()) == sorted(FILES)
    assert all((demo / name).stat().st_size > 500 for name in FILES)


def test_demo_plan_follows_the_playbook_with_the_demo_identities(demo: Path) -> None:
    plan = (demo / "plan.md").read_text("utf-8")
    headings = [line for line in plan.splitlines() if line.startswith("### Step")]
    assert [h.split(": ")[1] for h in headings] == [
        "Contain", "Secure the admin account", "Check the message trace", "Unblock and restore"]
    assert "Remove-InboundConnector -Identity 'a9e4d6b2-71c3-4f58-8e0d-c35b19f2a7e6'" in plan
    assert "Revoke-MgUserSignInSession -UserId 'adele.vance@contoso.com'" in plan
    assert "-FromIP '198.51.100.77'" in plan and "-FromIP '198.51.100.78'" in plan
    assert "Remove-BlockedConnector -ConnectorId 'a9e4d6b2-71c3-4f58-8e0d-c35b19f2a7e6'" in plan
    assert "## Contoso Relay 02" in plan


def test_demo_script_is_a_dry_run_unless_applied(demo: Path) -> None:
    script = (demo / "remediate.ps1").read_bytes()
    assert script.startswith(b"\xef\xbb\xbf")
    text = script.decode("utf-8-sig")
    assert "$WhatIfMode = -not $Apply.IsPresent" in text
    assert text.count("-WhatIf:$WhatIfMode") == 3  # remove, revoke sessions, unblock
    assert "here-string" not in {t.kind for t in lex(text)}


def test_demo_timeline_json_lists_the_events_in_time_order(demo: Path) -> None:
    data = json.loads((demo / "timeline.json").read_text("utf-8"))
    schema = json.loads(resources.files("connguard").joinpath("schemas/timeline-v1.schema.json").read_text("utf-8"))
    jsonschema.Draft7Validator(schema).validate(data)
    assert data["schema_version"] == "1.0" and data["tenant"]["domain"] == "contoso.com"
    assert data["snapshot"]["path"] == "connguard:demo/snapshot.json"  # as the report cites it, not a local path
    times = [e["time"] for e in data["events"]]
    assert times == sorted(times)
    kinds = [e["kind"] for e in data["events"]]
    assert kinds.index("created") < kinds.index("changed") < kinds.index("spike-start") < kinds.index("alert") < kinds.index("blocked")
    (connector,) = data["connectors"]
    assert connector["identity"] == "Contoso Relay 02" and connector["spike_start"] == "2026-11-19T18:00:00Z"
    assert connector["peak_hour_messages"] == 4708


def test_output_is_deterministic(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path, baseline=make_baseline())
    outputs = []
    for run in ("a", "b"):
        result = _run("respond", paths["report"], "--baseline", paths["baseline"], "--output", tmp_path / run)
        assert result.exit_code == 0, result.output
        outputs.append({name: (tmp_path / run / name).read_bytes() for name in FILES})
    assert outputs[0] == outputs[1]


def test_snapshot_defaults_to_the_one_the_report_records(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path)
    result = _run("respond", paths["report"], "--output", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "2 connector(s)" in result.output


def _error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_report_of_another_schema_version_is_exit_2(tmp_path: Path) -> None:
    report = make_report()
    report["schema_version"] = "2.0"
    paths = write_inputs(tmp_path, report=report)
    line = _error(_run("respond", paths["report"], "--output", tmp_path / "out"))
    assert "report.json: $.schema_version: unsupported report version '2.0'" in line
    assert not (tmp_path / "out").exists()


def test_report_naming_a_connector_the_snapshot_lacks_is_exit_2(tmp_path: Path) -> None:
    report = make_report()
    report["findings"][0]["connector"] = {"identity": "Ghost relay", "guid": None}
    paths = write_inputs(tmp_path, report=report)
    line = _error(_run("respond", paths["report"], "--snapshot", paths["snapshot"], "--output", tmp_path / "out"))
    assert "$.findings[0].connector.identity: connector 'Ghost relay' is not in snapshot" in line


def test_baseline_of_another_tenant_is_exit_2(tmp_path: Path) -> None:
    baseline = make_baseline()
    baseline["tenant"] = {"id": "99999999-0000-0000-0000-000000000000", "domain": "fabrikam.com"}
    paths = write_inputs(tmp_path, baseline=baseline)
    line = _error(_run("respond", paths["report"], "--baseline", paths["baseline"], "--output", tmp_path / "out"))
    assert "baseline.yaml: $.tenant: baseline is for tenant fabrikam.com" in line
    assert TENANT_ID in line


def test_report_of_another_tenant_than_the_snapshot_is_exit_2(tmp_path: Path) -> None:
    report = make_report()
    report["tenant"] = {"id": "99999999-0000-0000-0000-000000000000", "domain": "fabrikam.com", "name": None}
    paths = write_inputs(tmp_path, report=report)
    assert "$.tenant: report is for" in _error(_run("respond", paths["report"], "--output", tmp_path / "out"))


@pytest.mark.parametrize("content, expected", [
    ("{not json", "report.json:1:2: not valid JSON"),
    ("[]", "report.json: $: a scan report is a JSON object"),
    ('{"schema_version": "1.0"}', "report.json: $: 'tool' is a required property"),
])
def test_unreadable_report_is_exit_2(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "report.json").write_text(content, encoding="utf-8")
    assert expected in _error(_run("respond", tmp_path / "report.json", "--output", tmp_path / "out"))


def test_report_failing_the_report_schema_is_exit_2(tmp_path: Path) -> None:
    report = make_report()
    report["findings"][0]["severity"] = "urgent"
    paths = write_inputs(tmp_path, report=report)
    assert "report.json: $.findings[0].severity:" in _error(_run("respond", paths["report"], "--output", tmp_path / "out"))


def test_missing_snapshot_is_exit_2(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path)
    paths["snapshot"].unlink()
    assert "$.snapshot.path: 'snapshot.json' not found; pass --snapshot" in _error(
        _run("respond", paths["report"], "--output", tmp_path / "out"))


def test_other_snapshot_than_the_scanned_one_warns(tmp_path: Path) -> None:
    report = make_report(sha256="f" * 64)
    paths = write_inputs(tmp_path, report=report)
    result = _run("respond", paths["report"], "--output", tmp_path / "out")
    assert result.exit_code == 0
    assert "not the snapshot the report was made from" in result.stderr


def test_no_findings_plan_says_nothing_to_do_and_script_does_nothing(tmp_path: Path) -> None:
    report = make_report()
    report["findings"] = []
    paths = write_inputs(tmp_path, report=report)
    result = _run("respond", paths["report"], "--output", tmp_path / "out")
    assert result.exit_code == 0 and "Nothing to do" in result.output
    assert "**Nothing to do.**" in (tmp_path / "out" / "plan.md").read_text("utf-8")
    script = (tmp_path / "out" / "remediate.ps1").read_text("utf-8-sig")
    code = "".join(t.text for t in lex(script) if t.kind == "code")
    assert "Invoke-Step" not in code and "Connect" not in code and "-WhatIf" not in code
    assert "Nothing to do" in (tmp_path / "out" / "report.html").read_text("utf-8")
    assert json.loads((tmp_path / "out" / "timeline.json").read_text("utf-8"))["events"] == []


def test_baseline_file_is_read_with_the_baseline_module(tmp_path: Path) -> None:
    baseline = make_baseline()
    baseline["inbound_connectors"][0]["colour"] = "blue"
    paths = write_inputs(tmp_path, baseline=baseline)
    line = _error(_run("respond", paths["report"], "--baseline", paths["baseline"], "--output", tmp_path / "out"))
    assert "baseline.yaml" in line and "colour" in line
    assert yaml.safe_load(paths["baseline"].read_text("utf-8"))["version"] == 1
