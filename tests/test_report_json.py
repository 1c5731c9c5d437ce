"""The JSON report: contract fields, schema validity, canonical bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connguard.engine.model import SYMPTOMS
from connguard.reports import FORMATS, UnknownFormatError, render
from connguard.errors import InputError
from helpers_report import RULES, coverage, full_report, make_report, report_validator

CONTRACT_FINDING_FIELDS = {
    "rule_id", "rule_version", "symptom", "severity", "title", "message",
    "connector", "evidence", "fingerprint", "remediation", "suppressed",
}


def _json(report) -> dict:
    return json.loads(render("json", report))


def test_report_has_every_contract_field_and_validates_against_its_schema() -> None:
    doc = _json(full_report())
    assert list(report_validator().iter_errors(doc)) == []
    assert doc["schema_version"] == "1.0"
    assert doc["tool"] == {"name": "connguard", "version": "0.1.0"}
    assert doc["tenant"]["domain"] == "contoso.onmicrosoft.com"
    snap = doc["snapshot"]
    assert snap["path"] == "snapshots/contoso.json"
    assert len(snap["sha256"]) == 64
    assert snap["collected_at"] == "2026-11-20T12:00:00Z"
    assert snap["window"] == {"start": "2026-11-11T12:00:00Z", "end": "2026-11-20T12:00:00Z"}
    assert snap["collector"] == {"name": "connguard", "version": "0.1.0", "mode": "fixture"}
    assert snap["sources"]["mail_stats"] == {
        "status": "partial", "reason": "message trace has no P2", "count": 0, "unavailable_fields": ["p1_p2_mismatch"],
    }
    assert doc["inputs"] == {"config": "connguard.yaml", "baseline": None}
    for item in doc["findings"]:
        assert CONTRACT_FINDING_FIELDS <= set(item)
    assert {c["rule_id"] for c in doc["coverage"]} == {r.id for r in RULES}
    assert doc["warnings"] == ["suppression for CG-0009 expired on 2026-10-01"]


def test_findings_are_most_severe_first_and_suppressed_last_with_their_suppression() -> None:
    findings = _json(full_report())["findings"]
    assert [(f["rule_id"], f["connector"] and f["connector"]["identity"]) for f in findings] == [
        ("CG-0004", "Inbound from on-prem"),
        ("CG-0001", "Inbound from on-prem"),
        ("CG-0001", "Partner relay"),
        ("CG-0010", None),
        ("CG-0001", "Fabrikam relay"),
    ]
    assert findings[-1]["suppressed"] is True
    assert findings[-1]["suppression"] == {"reason": "known partner relay, ticket 42", "expires": "2027-03-31"}
    assert all("suppression" not in f for f in findings[:-1])
    assert findings[3]["connector"] is None
    assert findings[0]["connector"] == {"identity": "Inbound from on-prem", "guid": "guid-0"}
    assert findings[0]["pointer"] == "/facts/inbound_connectors/0"


def test_summary_counts_unsuppressed_findings_and_names_unchecked_symptoms() -> None:
    summary = _json(full_report())["summary"]
    assert summary["total"] == 5 and summary["unsuppressed"] == 4 and summary["suppressed"] == 1
    assert summary["highest_severity"] == "critical"
    assert summary["by_severity"] == {"critical": 1, "high": 2, "medium": 0, "low": 0, "info": 1}
    assert summary["by_symptom"]["permissive-connector"] == 2  # the suppressed third is not counted
    assert set(summary["by_symptom"]) == set(SYMPTOMS)
    assert (summary["evaluated"], summary["not_evaluated"], summary["error"]) == (3, 1, 1)
    assert "sender-mismatch" in summary["symptoms_not_evaluated"]  # its only rule lacked data
    assert "spam-surge" in summary["symptoms_not_evaluated"]  # its only rule errored
    assert "outbound-spike" not in summary["symptoms_not_evaluated"]


def test_coverage_keeps_missing_data_and_reason() -> None:
    cov = {c["rule_id"]: c for c in _json(full_report())["coverage"]}
    assert cov["CG-0002"]["status"] == "not_evaluated"
    assert cov["CG-0002"]["missing"] == ["mail_stats.p1_p2_mismatch"]
    assert cov["CG-0008"]["status"] == "error" and "JMESPath" in cov["CG-0008"]["reason"]


def test_zero_findings_report_is_valid_and_says_nothing_is_unsuppressed() -> None:
    doc = _json(make_report([]))
    assert list(report_validator().iter_errors(doc)) == []
    assert doc["findings"] == [] and doc["summary"]["highest_severity"] is None


def test_output_is_canonical_and_does_not_depend_on_engine_order() -> None:
    report = full_report()
    text = render("json", report)
    assert text == render("json", report)
    assert text.endswith("}\n") and "\n  \"coverage\"" in text
    shuffled = make_report(list(reversed(report.result.findings)), list(reversed(report.result.coverage)),
                           warnings=report.result.warnings)
    assert render("json", shuffled) == text


def test_no_wall_clock_or_absolute_path_in_output() -> None:
    text = render("json", full_report())
    assert str(Path.cwd()) not in text
    assert text.count("2026-11-20T12:00:00Z") >= 1  # the snapshot's own time is the only clock


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_processes_render_byte_identical_output(fmt: str) -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests'); from helpers_report import full_report;"
        f"from connguard.reports import render; sys.stdout.buffer.write(render({fmt!r}, full_report()).encode())"
    )
    root = Path(__file__).parent.parent
    runs = [
        subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, check=True,
                       env={"PYTHONHASHSEED": seed, "PATH": "", "COLUMNS": "40", "FORCE_COLOR": "1"}).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] == render(fmt, full_report()).encode()


def test_unknown_format_is_an_input_error_naming_the_choices() -> None:
    with pytest.raises(InputError, match="--format: unknown report format 'xml'.*sarif"):
        render("xml", full_report())
    assert issubclass(UnknownFormatError, InputError)


def test_evidence_that_json_cannot_hold_is_still_written() -> None:
    report = make_report([], [coverage(r) for r in RULES])
    from helpers_report import finding

    odd = finding(RULES[0], "Inbound from on-prem", 0, evidence={"ratio": float("inf"), "n": float("nan"),
                                                                   "ips": {"b", "a"}, "pair": (1, 2)})
    report.result.findings.append(odd)
    evidence = _json(report)["findings"][0]["evidence"]
    assert evidence == {"ratio": "Infinity", "n": "NaN", "ips": ["a", "b"], "pair": [1, 2]}
