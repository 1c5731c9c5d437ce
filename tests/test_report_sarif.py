"""SARIF 2.1.0: valid against the official schema and shaped the way GitHub code scanning needs."""

from __future__ import annotations

import json

import pytest

from connguard import snapshot as snapshot_module
from connguard.engine.model import Suppression
from connguard.reports import render
from connguard.reports.sarif import path_uri
from helpers_report import (
    RULES,
    FakePack,
    FakeRule,
    coverage,
    finding,
    full_report,
    make_report,
    make_snapshot,
    sarif_validator,
    uri_problems,
)

R = {rule.id: rule for rule in RULES}


def _sarif(report) -> dict:
    doc = json.loads(render("sarif", report))
    errors = sorted(sarif_validator().iter_errors(doc), key=str)
    assert errors == [], errors[0].message if errors else ""
    assert uri_problems(doc) == []
    return doc


def _reports():
    return {
        "findings": make_report([finding(R["CG-0001"], "Partner relay", 1), finding(R["CG-0010"], None)]),
        "suppressed": make_report([finding(R["CG-0001"], "Partner relay", 1, suppressed=True,
                                           suppression=Suppression("accepted risk", None))]),
        "coverage gaps": full_report(),
        "zero findings": make_report([]),
    }


@pytest.mark.parametrize("name", ["findings", "suppressed", "coverage gaps", "zero findings"])
def test_valid_against_official_schema_and_github_rules(name: str) -> None:
    report = _reports()[name]
    doc = _sarif(report)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["semanticVersion"]) == ("connguard", "0.1.0", "0.1.0")
    assert driver["informationUri"].startswith("https://")
    assert [rule["id"] for rule in driver["rules"]] == sorted(r.id for r in RULES)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        severity = rule["properties"]["security-severity"]
        assert isinstance(severity, str) and 0.0 <= float(severity) <= 10.0
        assert "security" in rule["properties"]["tags"]
        assert rule["properties"]["precision"] in {"very-high", "high", "medium", "low"}
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    assert run["automationDetails"]["id"] == "connguard/contoso.onmicrosoft.com/"
    assert run["invocations"][0]["executionSuccessful"] is True
    assert len(run["results"]) == len(report.result.findings)
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert result["partialFingerprints"]["connguardFingerprint/v1"]


def test_rule_metadata_maps_severity_and_help() -> None:
    rules = {r["id"]: r for r in _sarif(full_report())["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["CG-0004"]["properties"]["security-severity"] == "9.5"
    assert rules["CG-0001"]["properties"]["security-severity"] == "8.0"
    assert rules["CG-0002"]["properties"]["security-severity"] == "5.5"
    assert rules["CG-0008"]["properties"]["security-severity"] == "3.0"
    assert rules["CG-0010"]["properties"]["security-severity"] == "0.0"
    assert rules["CG-0004"]["defaultConfiguration"]["level"] == "error"
    assert rules["CG-0008"]["properties"]["precision"] == "medium"  # experimental
    assert rules["CG-0004"]["properties"]["tags"] == ["security", "outbound-spike", "attack.t1566"]
    assert rules["CG-0004"]["helpUri"] == "https://learn.microsoft.com/defender-office-365/connectors"
    assert "helpUri" not in rules["CG-0010"]  # no references
    assert "1. Disable the connector." in rules["CG-0004"]["help"]["markdown"]
    assert rules["CG-0004"]["name"] == "OutboundVolumeSpike"


def test_results_point_at_the_line_where_the_connector_record_starts() -> None:
    data = make_snapshot()
    text = snapshot_module.dumps(data)
    report = make_report([finding(R["CG-0001"], "Fabrikam relay", 2), finding(R["CG-0004"], "Inbound from on-prem", 0)],
                         data=data, text=text)
    lines = text.split("\n")
    for result in _sarif(report)["runs"][0]["results"]:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "snapshots/contoso.json"
        start = location["region"]["startLine"]
        assert lines[start - 1].strip() == "{"
        # the record that starts there is the finding's connector
        identity = result["properties"]["connector"]["identity"]
        assert f'"identity": "{identity}"' in "\n".join(lines[start - 1 : start + 12])


def test_compact_snapshot_text_still_locates_and_missing_text_falls_back_to_line_one() -> None:
    data = make_snapshot()
    compact = json.dumps(data, separators=(",", ":"))
    found = [finding(R["CG-0001"], "Partner relay", 1)]
    result = _sarif(make_report(found, data=data, text=compact))["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    report = make_report(found, data=data)
    report = type(report)(**{**report.__dict__, "snapshot_text": None})
    result = _sarif(report)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_finding_without_a_record_is_anchored_in_its_rule_file() -> None:
    result = _sarif(make_report([finding(R["CG-0010"], None)]))["runs"][0]["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "CG-0010.yaml", "uriBaseId": "CONNGUARD_RULES"}
    assert location["region"]["startLine"] == 3


def test_suppressed_findings_carry_an_external_suppression_with_the_reason() -> None:
    result = _sarif(full_report())["runs"][0]["results"][-1]
    assert result["suppressions"] == [
        {"kind": "external", "justification": "known partner relay, ticket 42", "properties": {"expires": "2027-03-31"}}
    ]
    assert all("suppressions" not in r for r in _sarif(full_report())["runs"][0]["results"][:-1])


def test_rules_not_evaluated_or_failed_become_execution_notifications() -> None:
    run = _sarif(full_report())["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    by_rule = {n["associatedRule"]["id"]: n for n in notes if "associatedRule" in n}
    assert set(by_rule) == {"CG-0002", "CG-0008"}
    assert by_rule["CG-0002"]["level"] == "warning"
    assert "CG-0002" in by_rule["CG-0002"]["message"]["text"]
    assert "mail_stats.p1_p2_mismatch" in by_rule["CG-0002"]["message"]["text"]
    assert by_rule["CG-0008"]["level"] == "error"
    rules = run["tool"]["driver"]["rules"]
    assert rules[by_rule["CG-0008"]["associatedRule"]["index"]]["id"] == "CG-0008"
    assert any(n["message"]["text"].startswith("suppression for CG-0009 expired") for n in notes)


def test_tenants_get_distinct_categories() -> None:
    other = make_report([], data=make_snapshot(domain="Fabrikam.onmicrosoft.com"))
    assert _sarif(other)["runs"][0]["automationDetails"]["id"] == "connguard/fabrikam.onmicrosoft.com/"


def test_finding_from_a_rule_missing_from_the_pack_still_gets_a_rule_descriptor() -> None:
    stray = FakeRule("XY-0001", "connector-alert", "high", "Custom alert rule")
    report = make_report([finding(stray, "Partner relay", 1)], [coverage(stray, findings=1)], pack=FakePack(RULES[:1]))
    run = _sarif(report)["runs"][0]
    rule = run["tool"]["driver"]["rules"][run["results"][0]["ruleIndex"]]
    assert rule["id"] == "XY-0001" and rule["properties"]["security-severity"] == "8.0"


def test_empty_message_is_replaced_by_the_title() -> None:
    result = _sarif(make_report([finding(R["CG-0001"], "Partner relay", 1, message="")]))["runs"][0]["results"][0]
    assert result["message"]["text"] == R["CG-0001"].title


@pytest.mark.parametrize(
    ("given", "uri"),
    [
        ("snap.json", "snap.json"),
        ("out/tenant a/snap.json", "out/tenant%20a/snap.json"),
        ("out\\win\\snap.json", "out/win/snap.json"),
        ("/srv/scans/snap.json", "file:///srv/scans/snap.json"),
        ("C:\\scans\\snap.json", "file:///C:/scans/snap.json"),
        ("connguard:demo/snapshot.json", "connguard%3Ademo/snapshot.json"),
        ("a/b:c.json", "a/b:c.json"),
        ("\\\\server\\share\\snap.json", "file://server/share/snap.json"),
        ("/srv/caf\udce9.json", "file:///srv/caf%E9.json"),
    ],
)
def test_snapshot_path_becomes_a_uri_as_given(given: str, uri: str) -> None:
    assert path_uri(given) == uri
    doc = _sarif(make_report([finding(R["CG-0001"], "Partner relay", 1)], path=given))
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri


def test_semantic_version_only_when_the_version_is_semver() -> None:
    report = make_report([])
    odd = type(report)(**{**report.__dict__, "tool_version": "0.1.0.dev3+g1234"})
    driver = _sarif(odd)["runs"][0]["tool"]["driver"]
    assert driver["version"] == "0.1.0.dev3+g1234" and "semanticVersion" not in driver


def test_more_findings_than_github_accepts_keeps_the_most_severe_and_says_so(monkeypatch) -> None:
    monkeypatch.setattr("connguard.reports.sarif.GITHUB_MAX_RESULTS", 2)
    run = _sarif(full_report())["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["CG-0004", "CG-0001"]
    note = run["invocations"][0]["toolExecutionNotifications"][-1]["message"]["text"]
    assert note.startswith("3 least severe findings omitted") and "JSON report" in note


def test_rule_tags_are_deduplicated_and_cut_at_githubs_limit() -> None:
    noisy = FakeRule("CG-0001", "permissive-connector", "high", tags=["security", *(f"t{i}" for i in range(30))])
    rules = _sarif(make_report([], [coverage(noisy)], pack=FakePack([noisy])))["runs"][0]["tool"]["driver"]["rules"]
    tags = rules[0]["properties"]["tags"]
    assert len(tags) == 20 and tags[:3] == ["security", "permissive-connector", "t0"]


def test_byte_identical_across_renders() -> None:
    assert render("sarif", full_report()) == render("sarif", full_report())
