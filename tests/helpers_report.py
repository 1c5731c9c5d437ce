"""Hand-made inputs for the report writer tests: fake rules satisfying the RuleInfo
protocol, a small valid snapshot, and findings/coverage built with engine.model types."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from connguard import snapshot as snapshot_module
from connguard.engine.model import ConnectorRef, Coverage, Finding, ScanResult, Suppression
from connguard.reports import ScanReport

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent


@dataclass
class FakeRule:
    id: str
    symptom: str
    severity: str
    title: str = "A rule"
    version: str = "1.0.0"
    status: str = "stable"
    description: str = "Checks something and explains its thresholds."
    remediation: list[str] = field(default_factory=lambda: ["Disable the connector.", "Review its sender IPs."])
    references: list[str] = field(default_factory=lambda: ["https://learn.microsoft.com/defender-office-365/connectors"])
    tags: list[str] = field(default_factory=lambda: ["attack.t1566"])
    params: dict[str, Any] = field(default_factory=dict)
    requires: list[str] = field(default_factory=list)
    path: str | None = None
    line: int | None = 1


@dataclass
class FakePack:
    rules: list[FakeRule]


RULES = [
    FakeRule("CG-0001", "permissive-connector", "high", "Permissive OnPremises connector", path="rules/CG-0001.yaml"),
    FakeRule("CG-0002", "sender-mismatch", "medium", "P1/P2 sender mismatch", path="rules/CG-0002.yaml"),
    FakeRule("CG-0004", "outbound-spike", "critical", "Outbound volume spike", path="rules/CG-0004.yaml"),
    FakeRule("CG-0008", "spam-surge", "low", "Spam surge", status="experimental", path="rules/CG-0008.yaml"),
    FakeRule("CG-0010", "connector-alert", "info", "Defender connector alert", references=[],
             path="rules/CG-0010.yaml", line=3),
]
CONNECTORS = ["Inbound from on-prem", "Partner relay", "Fabrikam relay"]


def make_snapshot(connectors: list[str] = CONNECTORS, domain: str = "contoso.onmicrosoft.com") -> dict[str, Any]:
    data = snapshot_module.empty(
        tenant_domain=domain,
        tenant_id="00000000-0000-0000-0000-000000000001",
        collected_at="2026-11-20T12:00:00Z",
        window_start="2026-11-11T12:00:00Z",
        window_end="2026-11-20T12:00:00Z",
        mode="fixture",
        version="0.1.0",
    )
    data["sources"]["inbound_connectors"] = {"status": "ok", "reason": None, "count": len(connectors)}
    data["sources"]["mail_stats"] = {
        "status": "partial", "reason": "message trace has no P2", "count": 0, "unavailable_fields": ["p1_p2_mismatch"],
    }
    data["facts"]["inbound_connectors"] = [
        {
            "identity": name,
            "guid": f"guid-{i}",
            "enabled": True,
            "connector_type": "OnPremises",
            "sender_ip_addresses": ["203.0.113.0/28"],
            "sender_domains": ["*"],
        }
        for i, name in enumerate(connectors)
    ]
    snapshot_module.validate(data)
    return data


def finding(rule: FakeRule, connector: str | None, index: int | None = None, **changes: Any) -> Finding:
    values: dict[str, Any] = dict(
        rule_id=rule.id,
        rule_version=rule.version,
        symptom=rule.symptom,
        severity=rule.severity,
        title=rule.title,
        message=f"{connector or 'tenant'}: {rule.title.lower()}",
        connector=ConnectorRef(connector, f"guid-{index}") if connector is not None else None,
        evidence={"peak_hour_messages": 4000, "ips": ["198.51.100.7"]},
        fingerprint=hashlib.sha256(f"{rule.id}|{connector}".encode()).hexdigest()[:32],
        remediation=list(rule.remediation),
        pointer=f"/facts/inbound_connectors/{index}" if index is not None else None,
    )
    values.update(changes)
    return Finding(**values)


def coverage(rule: FakeRule, status: str = "evaluated", findings: int = 0, **changes: Any) -> Coverage:
    return Coverage(rule.id, rule.version, rule.symptom, status, findings=findings, **changes)


def make_report(findings: list[Finding], coverages: list[Coverage] | None = None, *, warnings: list[str] | None = None,
                data: dict[str, Any] | None = None, text: str | None = None, path: str = "snapshots/contoso.json",
                pack: FakePack | None = None) -> ScanReport:
    data = data if data is not None else make_snapshot()
    text = text if text is not None else snapshot_module.dumps(data)
    return ScanReport(
        result=ScanResult(findings=findings,
                          coverage=coverages if coverages is not None else [coverage(r) for r in RULES],
                          warnings=warnings or []),
        pack=pack or FakePack(RULES),
        snapshot=data,
        snapshot_path=path,
        snapshot_sha256=hashlib.sha256(text.encode()).hexdigest(),
        snapshot_text=text,
        tool_version="0.1.0",
        config_path="connguard.yaml",
        baseline_path=None,
    )


def full_report() -> ScanReport:
    """Findings on two connectors and tenant-wide, one suppressed, one rule not evaluated,
    one errored: every branch a writer has."""
    r = {rule.id: rule for rule in RULES}
    findings = [
        finding(r["CG-0001"], "Partner relay", 1),
        finding(r["CG-0004"], "Inbound from on-prem", 0),
        finding(r["CG-0001"], "Inbound from on-prem", 0),
        finding(r["CG-0010"], None),
        finding(r["CG-0001"], "Fabrikam relay", 2, suppressed=True,
                suppression=Suppression("known partner relay, ticket 42", "2027-03-31")),
    ]
    coverages = [
        coverage(r["CG-0001"], findings=3),
        coverage(r["CG-0002"], "not_evaluated", reason="mail_stats.p1_p2_mismatch is unavailable",
                 missing=["mail_stats.p1_p2_mismatch"]),
        coverage(r["CG-0004"], findings=1),
        coverage(r["CG-0008"], "error", reason="JMESPath error: unknown function"),
        coverage(r["CG-0010"], findings=1),
    ]
    return make_report(findings, coverages, warnings=["suppression for CG-0009 expired on 2026-10-01"])


def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


_URI_REFERENCE = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def uri_problems(doc: Any, path: str = "$") -> list[str]:
    """The SARIF schema's `format: uri` / `uri-reference` values that are not RFC 3986
    (jsonschema only checks these formats when optional packages are installed)."""
    problems: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{key}"
            if key in ("uri", "helpUri", "informationUri", "$schema") and isinstance(value, str):
                if not _URI_REFERENCE.match(value):
                    problems.append(f"{here}: not a URI reference: {value!r}")
                if key != "uri" and not _ABSOLUTE.match(value):
                    problems.append(f"{here}: not an absolute URI: {value!r}")
            problems += uri_problems(value, here)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            problems += uri_problems(value, f"{path}[{i}]")
    return problems


def report_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((REPO / "connguard" / "schemas" / "report-v1.schema.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)
