"""SARIF 2.1.0 (`--format sarif`) for GitHub code scanning and other SARIF viewers.

Valid against the OASIS errata01 schema and shaped for GitHub's subset: every rule carries
the descriptions, help and `security-severity` GitHub shows; every result has a location
and `partialFingerprints` (the engine's stable fingerprint, so an alert keeps its identity
across scans); `automationDetails.id` names the tenant, so several tenants uploaded from
one repository stay separate categories. What was not checked is reported as tool
execution notifications, never silently dropped.
"""

from __future__ import annotations

import re
from pathlib import PurePath, PureWindowsPath
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

from connguard.engine.model import Coverage, Finding
from connguard.reports.common import (
    coverage_reason,
    sorted_coverage,
    sorted_findings,
    sorted_rules,
    tenant_domain,
)
from connguard.reports.json_report import connector_dict
from connguard.reports.locator import locate_lines
from connguard.reports.model import RuleInfo, ScanReport
from connguard.reports.text import canonical_json, jsonable

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/connguard/connguard"
RULES_BASE_ID = "CONNGUARD_RULES"
FINGERPRINT_KEY = "connguardFingerprint/v1"

# GitHub reads `security-severity` as a score: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9
# medium, 0.1-3.9 low. Each value sits inside its band, away from the edges.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# Rules carry no precision of their own; a stable rule's logic has been reviewed and tested
# against the rule tests, an experimental one has not earned that yet.
PRECISION = {"stable": "high", "experimental": "medium", "deprecated": "medium"}
# GitHub's hard limits: an upload with more tags per rule or results per run is rejected.
GITHUB_MAX_TAGS = 20
GITHUB_MAX_RESULTS = 25_000
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def _quote(text: str) -> str:
    # A path read from the file system may carry undecodable bytes as surrogate escapes:
    # give back those bytes; any other lone surrogate is spelled out rather than crash.
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "backslashreplace")
    return quote_from_bytes(raw, safe="/-._~!$&'()*+,;=:@")


def path_uri(path: str) -> str:
    """A path as the user gave it, as a URI reference: relative paths stay relative with
    forward slashes (GitHub matches them against the repository), absolute ones become
    `file:` URIs. Characters that are not URI characters are percent-encoded."""
    windows = PureWindowsPath(path)
    if windows.drive and windows.is_absolute():
        unc = windows.drive.startswith(("\\\\", "//"))
        return ("file:" if unc else "file:///") + _quote(windows.as_posix())
    if path.startswith("/"):
        return "file://" + _quote("/" + path.lstrip("/"))
    uri = _quote(path.replace("\\", "/"))
    # A colon in the first segment would read as a scheme ("connguard:demo/x.json").
    first, slash, rest = uri.partition("/")
    return first.replace(":", "%3A") + slash + rest


def _is_web_uri(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in text)


def _rule_name(rule: RuleInfo) -> str:
    """A readable identifier from the title ("Outbound volume spike" -> OutboundVolumeSpike)."""
    words = re.findall(r"[A-Za-z0-9]+", rule.title)
    return "".join(word[:1].upper() + word[1:] for word in words) or rule.id


def _help(rule: RuleInfo) -> dict[str, str]:
    steps = list(rule.remediation)
    text = [rule.description.strip(), "", "Remediation:", *(f"{i}. {s}" for i, s in enumerate(steps, 1))]
    markdown = [rule.description.strip(), "", "## Remediation", "", *(f"{i}. {s}" for i, s in enumerate(steps, 1))]
    references = [ref for ref in rule.references if _is_web_uri(ref)]
    if references:
        text += ["", "References:", *references]
        markdown += ["", "## References", "", *(f"- <{ref}>" for ref in references)]
    return {"text": "\n".join(text), "markdown": "\n".join(markdown)}


def rule_descriptor(rule: RuleInfo) -> dict[str, Any]:
    """A reportingDescriptor with everything GitHub shows for a rule."""
    tags = ["security", rule.symptom, *rule.tags]
    unique_tags = list(dict.fromkeys(tags))[:GITHUB_MAX_TAGS]
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": _rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description.strip() or rule.title},
        "help": _help(rule),
        "defaultConfiguration": {"level": LEVEL.get(rule.severity, "warning")},
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(rule.severity, "5.5"),
            "precision": PRECISION.get(rule.status, "medium"),
            "tags": unique_tags,
            "symptom": rule.symptom,
            "severity": rule.severity,
            "version": rule.version,
            "status": rule.status,
        },
    }
    web = [ref for ref in rule.references if _is_web_uri(ref)]
    if web:
        descriptor["helpUri"] = web[0]
    return descriptor


class _FallbackRule:
    """Descriptor source for a finding or coverage whose rule is not in the pack (a custom
    engine, a stale pack): GitHub still needs a rule with a severity for every result."""

    def __init__(self, item: Finding | Coverage) -> None:
        self.id = item.rule_id
        self.version = item.rule_version
        self.status = "experimental"
        self.symptom = item.symptom
        self.severity = getattr(item, "severity", "medium")
        self.title = getattr(item, "title", "") or f"{item.rule_id} ({item.symptom})"
        self.description = self.title
        self.remediation = list(getattr(item, "remediation", []))
        self.references: list[str] = []
        self.tags: list[str] = []
        self.path: str | None = None
        self.line: int | None = None


def _rules(report: ScanReport, findings: list[Finding]) -> list[RuleInfo]:
    rules: dict[str, RuleInfo] = {rule.id: rule for rule in sorted_rules(report)}
    items: list[Finding | Coverage] = [*findings, *report.result.coverage]
    for item in items:
        rules.setdefault(item.rule_id, _FallbackRule(item))
    return [rules[key] for key in sorted(rules)]


def _location(finding: Finding, rule: RuleInfo, snapshot_uri: str, lines: dict[str, int]) -> dict[str, Any]:
    """Where GitHub anchors the alert: the line of the record in the snapshot; for a finding
    about no single record, the rule's own file (relative to its rule directory)."""
    if finding.pointer is None and rule.path:
        artifact: dict[str, Any] = {"uri": path_uri(PurePath(rule.path).name), "uriBaseId": RULES_BASE_ID}
        line = rule.line if isinstance(rule.line, int) and rule.line > 0 else 1
    else:
        artifact = {"uri": snapshot_uri, "index": 0}
        line = lines.get(finding.pointer, 1) if finding.pointer is not None else 1
    return {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": line}}}


def _result(finding: Finding, index: int, rule: RuleInfo, snapshot_uri: str, lines: dict[str, int]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "symptom": finding.symptom,
        "severity": finding.severity,
        "rule_version": finding.rule_version,
        "connector": connector_dict(finding),
        "evidence": jsonable(finding.evidence),
    }
    if finding.pointer is not None:
        properties["pointer"] = finding.pointer
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": LEVEL.get(finding.severity, "warning"),
        # GitHub rejects an empty message; the title always says something.
        "message": {"text": finding.message or finding.title or finding.rule_id},
        "locations": [_location(finding, rule, snapshot_uri, lines)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }
    if finding.suppressed:
        suppression: dict[str, Any] = {"kind": "external"}
        if finding.suppression is not None:
            suppression["justification"] = finding.suppression.reason
            if finding.suppression.expires:
                suppression["properties"] = {"expires": finding.suppression.expires}
        result["suppressions"] = [suppression]
    return result


def _notification(coverage: Coverage, index: int) -> dict[str, Any]:
    state = "not evaluated" if coverage.status == "not_evaluated" else "failed"
    return {
        "level": "error" if coverage.status == "error" else "warning",
        "message": {"text": f"{coverage.rule_id} ({coverage.symptom}) {state}: {coverage_reason(coverage)}"},
        "associatedRule": {"id": coverage.rule_id, "index": index},
        "properties": {"status": coverage.status, "missing": sorted(coverage.missing)},
    }


def build(report: ScanReport) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    findings = sorted_findings(report)
    rules = _rules(report, findings)
    index = {rule.id: i for i, rule in enumerate(rules)}
    snapshot_uri = path_uri(report.snapshot_path)
    lines = locate_lines(report.snapshot_text, {f.pointer for f in findings if f.pointer is not None})
    notifications = [_notification(c, index[c.rule_id]) for c in sorted_coverage(report) if c.status != "evaluated"]
    notifications += [{"level": "warning", "message": {"text": w}} for w in sorted(report.result.warnings)]
    if len(findings) > GITHUB_MAX_RESULTS:
        # Findings are sorted unsuppressed and most severe first, so the ones dropped are
        # the least important; the JSON report still has every one.
        omitted = len(findings) - GITHUB_MAX_RESULTS
        findings = findings[:GITHUB_MAX_RESULTS]
        notifications.append({"level": "warning", "message": {"text": (
            f"{omitted} least severe findings omitted to stay within GitHub's limit of {GITHUB_MAX_RESULTS} "
            "results per run; the JSON report lists all of them")}})
    driver: dict[str, Any] = {
        "name": "connguard",
        "version": report.tool_version,
        "informationUri": INFORMATION_URI,
        "rules": [rule_descriptor(rule) for rule in rules],
    }
    if _SEMVER.match(report.tool_version):
        driver["semanticVersion"] = report.tool_version
    tenant = report.snapshot.get("tenant", {})
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"connguard/{tenant_domain(report).lower()}/"},
        "originalUriBaseIds": {
            RULES_BASE_ID: {
                "description": {"text": "The rule directory (built-in pack or --rules DIR) holding the rule file."}
            }
        },
        "artifacts": [
            {
                "location": {"uri": snapshot_uri},
                "hashes": {"sha-256": report.snapshot_sha256},
                "mimeType": "application/json",
                "description": {"text": "connguard snapshot the scan read"},
            }
        ],
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": [_result(f, index[f.rule_id], rules[index[f.rule_id]], snapshot_uri, lines) for f in findings],
        "properties": {
            "tenant": {"id": tenant.get("id"), "domain": tenant.get("domain"), "name": tenant.get("name")},
            "collected_at": report.snapshot.get("collected_at"),
            "window": report.snapshot.get("window"),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: ScanReport) -> str:
    return canonical_json(build(report))
