"""Facts every writer derives the same way: finding order, grouping, summary counts.

Kept in one place so that the JSON summary, the SARIF run, the table and the Markdown
headline can never disagree about how many findings there are or what was not checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connguard.engine.model import SEVERITIES, SEVERITY_RANK, SYMPTOMS, Coverage, Finding
from connguard.reports.model import RuleInfo, ScanReport

TENANT_WIDE = "tenant-wide"


def finding_key(finding: Finding) -> tuple[Any, ...]:
    """Unsuppressed first, then most severe, then rule, connector and fingerprint: a total
    order, so output never depends on the order the engine happened to produce."""
    connector = finding.connector
    return (
        finding.suppressed,
        -SEVERITY_RANK.get(finding.severity, -1),
        finding.rule_id,
        connector is None,
        (connector.identity.casefold(), connector.identity, connector.guid or "") if connector else (),
        finding.fingerprint,
        finding.message,
    )


def sorted_findings(report: ScanReport) -> list[Finding]:
    return sorted(report.result.findings, key=finding_key)


def sorted_coverage(report: ScanReport) -> list[Coverage]:
    return sorted(report.result.coverage, key=lambda c: (c.rule_id, c.rule_version, c.status))


def sorted_rules(report: ScanReport) -> list[RuleInfo]:
    return sorted(report.pack.rules, key=lambda rule: rule.id)


def group_by_connector(findings: Iterable[Finding]) -> list[tuple[str | None, list[Finding]]]:
    """Findings per connector identity, in the order each connector first appears in the
    (already sorted) findings, so the connector with the worst finding comes first;
    tenant-wide findings (connector null) form the last group."""
    groups: dict[str | None, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.connector.identity if finding.connector else None, []).append(finding)
    ordered = [key for key in groups if key is not None] + ([None] if None in groups else [])
    return [(key, groups[key]) for key in ordered]


def not_checked(report: ScanReport) -> list[Coverage]:
    """Rules that did not run to completion: the coverage a clean result must not hide."""
    return [c for c in sorted_coverage(report) if c.status != "evaluated"]


def coverage_reason(coverage: Coverage) -> str:
    """Why a rule did not run, in one phrase: the engine's reason, plus any missing data
    the reason does not already name (or just the missing data when there is no reason)."""
    reason = (coverage.reason or "").strip()
    unnamed = [item for item in sorted(coverage.missing) if item not in reason]
    parts = [reason] if reason else []
    if unnamed:
        parts.append(", ".join(unnamed) + (" unavailable" if not reason else ""))
    if reason and unnamed:
        parts[-1] = "missing " + parts[-1]
    return "; ".join(parts) or ("not evaluated" if coverage.status == "not_evaluated" else "error")


def summary(report: ScanReport) -> dict[str, Any]:
    """Counts a CI job or dashboard reads without walking the findings.

    Severity and symptom counts are of unsuppressed findings (what `--fail-on` judges);
    suppressed ones are counted separately. `symptoms_not_evaluated` lists every symptom
    id for which no rule was evaluated, whether its rules lacked data, failed or were
    disabled: the symptoms this scan says nothing about.
    """
    findings = report.result.findings
    active = [f for f in findings if not f.suppressed]
    by_severity = {severity: 0 for severity in SEVERITIES}
    by_symptom = {symptom: 0 for symptom in SYMPTOMS}
    for finding in active:
        by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
        by_symptom[finding.symptom] = by_symptom.get(finding.symptom, 0) + 1
    statuses = {"evaluated": 0, "not_evaluated": 0, "error": 0}
    for coverage in report.result.coverage:
        statuses[coverage.status] = statuses.get(coverage.status, 0) + 1
    evaluated_symptoms = {c.symptom for c in report.result.coverage if c.status == "evaluated"}
    highest = max(active, key=lambda f: SEVERITY_RANK.get(f.severity, -1), default=None)
    return {
        "total": len(findings),
        "unsuppressed": len(active),
        "suppressed": len(findings) - len(active),
        "highest_severity": highest.severity if highest else None,
        "by_severity": by_severity,
        "by_symptom": by_symptom,
        "rules": len(report.result.coverage),
        "evaluated": statuses["evaluated"],
        "not_evaluated": statuses["not_evaluated"],
        "error": statuses["error"],
        "symptoms_not_evaluated": [s for s in SYMPTOMS if s not in evaluated_symptoms],
    }


def tenant_domain(report: ScanReport) -> str:
    return str(report.snapshot.get("tenant", {}).get("domain") or "unknown-tenant")
