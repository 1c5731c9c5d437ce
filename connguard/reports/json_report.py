"""The JSON report (`--format json`): the machine-readable record of one scan.

Its fields are a promise to users (contracts.md) and the input of `connguard respond`;
`connguard/schemas/report-v1.schema.json` describes them and docs/reports.md explains
them. Output is canonical: the same scan gives the same bytes, with no wall-clock time
(the only times are the snapshot's own).
"""

from __future__ import annotations

from typing import Any

from connguard.engine.model import Coverage, Finding
from connguard.reports.common import sorted_coverage, sorted_findings, summary
from connguard.reports.model import ScanReport
from connguard.reports.text import canonical_json, jsonable

SCHEMA_VERSION = "1.0"
_SOURCE_FIELDS = ("status", "reason", "count")


def connector_dict(finding: Finding) -> dict[str, Any] | None:
    """`{identity, guid}` of the finding's connector, or None for a tenant-wide finding."""
    if finding.connector is None:
        return None
    return {"identity": finding.connector.identity, "guid": finding.connector.guid}


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding with the contract's field names; `suppression` only when suppressed."""
    item: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "rule_version": finding.rule_version,
        "symptom": finding.symptom,
        "severity": finding.severity,
        "title": finding.title,
        "message": finding.message,
        "connector": connector_dict(finding),
        "evidence": jsonable(finding.evidence),
        "fingerprint": finding.fingerprint,
        "remediation": list(finding.remediation),
        "suppressed": finding.suppressed,
        "pointer": finding.pointer,
    }
    if finding.suppressed:
        suppression = finding.suppression
        item["suppression"] = {
            "reason": suppression.reason if suppression else None,
            "expires": suppression.expires if suppression else None,
        }
    return item


def coverage_dict(coverage: Coverage) -> dict[str, Any]:
    return {
        "rule_id": coverage.rule_id,
        "rule_version": coverage.rule_version,
        "symptom": coverage.symptom,
        "status": coverage.status,
        "reason": coverage.reason,
        "missing": sorted(coverage.missing),
        "findings": coverage.findings,
    }


def sources_summary(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Per fact source: whether it was read, how many records, and which fields it lacks.
    File lists and row errors stay in the snapshot; the report only says what was there."""
    result: dict[str, Any] = {}
    for name, source in sorted(snapshot.get("sources", {}).items()):
        entry = {field: source.get(field) for field in _SOURCE_FIELDS}
        entry["unavailable_fields"] = sorted(source.get("unavailable_fields", []))
        result[name] = entry
    return result


def _collector(snapshot: dict[str, Any]) -> dict[str, Any] | None:
    """Which tool wrote the snapshot, and how (live, import, demo): provenance a responder
    cites when the findings are questioned."""
    collector = snapshot.get("collector")
    if not isinstance(collector, dict):
        return None
    return {key: collector.get(key) for key in ("name", "version", "mode")}


def build(report: ScanReport) -> dict[str, Any]:
    """The report as a JSON-ready dict (the `respond` command reads the same shape)."""
    snapshot = report.snapshot
    tenant = snapshot.get("tenant", {})
    window = snapshot.get("window", {})
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "connguard", "version": report.tool_version},
        "tenant": {"id": tenant.get("id"), "domain": tenant.get("domain"), "name": tenant.get("name")},
        "snapshot": {
            "path": report.snapshot_path,
            "sha256": report.snapshot_sha256,
            "collected_at": snapshot.get("collected_at"),
            "window": {"start": window.get("start"), "end": window.get("end")},
            "collector": _collector(snapshot),
            "sources": sources_summary(snapshot),
        },
        "inputs": {"config": report.config_path, "baseline": report.baseline_path},
        "findings": [finding_dict(f) for f in sorted_findings(report)],
        "coverage": [coverage_dict(c) for c in sorted_coverage(report)],
        "summary": summary(report),
        "warnings": sorted(report.result.warnings),
    }


def render(report: ScanReport) -> str:
    return canonical_json(build(report))
