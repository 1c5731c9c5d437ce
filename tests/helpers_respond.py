"""Inputs for the respond tests: a small compromised tenant, as snapshot + scan report.

Contoso's approved connector "Inbound from on-prem" was changed by a compromised admin,
who also created "Relay 365" and pushed a spam spike through it until Defender alerted
and blocked it. Names and UPNs are parameters so that the hostile-name tests can put
attacker-chosen text everywhere the tenant supplies text.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from connguard import snapshot as snapshot_mod

TENANT_ID = "11111111-2222-3333-4444-555555555555"
TENANT_DOMAIN = "contoso.onmicrosoft.com"
COLLECTED_AT = "2026-11-20T12:00:00Z"
WINDOW_START = "2026-11-13T12:00:00Z"
ONPREM_GUID = "aaaaaaaa-0000-0000-0000-000000000001"
RELAY_GUID = "bbbbbbbb-0000-0000-0000-000000000002"
SPIKE_START = "2026-11-19T23:00:00Z"


def _hours(start: str, end: str) -> list[str]:
    moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    stop = datetime.fromisoformat(end.replace("Z", "+00:00"))
    out = []
    while moment < stop:
        out.append(moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        moment += timedelta(hours=1)
    return out


def make_snapshot(relay: str = "Relay 365", onprem: str = "Inbound from on-prem",
                  attacker: str = "it-admin@contoso.com", attacker_ip: str = "203.0.113.77",
                  relay_guid: str | None = RELAY_GUID) -> dict[str, Any]:
    """A valid v1 snapshot of the compromised tenant (`relay_guid=None`: commands must
    address the attacker's connector by its name)."""
    data = snapshot_mod.empty(tenant_domain=TENANT_DOMAIN, tenant_id=TENANT_ID, tenant_name="Contoso",
                              collected_at=COLLECTED_AT, window_start=WINDOW_START, window_end=COLLECTED_AT,
                              mode="fixture")
    for key in data["sources"]:
        data["sources"][key] = {"status": "ok", "count": 0}
    facts = data["facts"]
    facts["inbound_connectors"] = [
        {"identity": onprem, "name": onprem, "guid": ONPREM_GUID, "enabled": True, "connector_type": "OnPremises",
         "sender_ip_addresses": ["192.0.2.0/28", "198.51.100.0/24"], "sender_domains": ["*"],
         "require_tls": False, "restrict_domains_to_ip_addresses": False, "restrict_domains_to_certificate": False,
         "comment": "Hybrid mail flow", "when_created": "2025-03-01T09:00:00Z", "when_changed": "2026-11-19T22:05:00Z"},
        {"identity": relay, "name": relay, "guid": relay_guid, "enabled": True, "connector_type": "OnPremises",
         "sender_ip_addresses": [f"{attacker_ip}/32"], "sender_domains": ["*"], "require_tls": False,
         "when_created": "2026-11-19T22:10:00Z", "when_changed": "2026-11-19T22:10:00Z"},
    ]
    facts["audit_events"] = [
        {"id": "evt-1", "time": "2026-11-19T22:05:00Z", "operation": "Set-InboundConnector", "actor": attacker,
         "target": onprem, "parameters": {"Identity": onprem, "SenderIPAddresses": "192.0.2.0/28;198.51.100.0/24",
                                          "RequireTls": "False"},
         "succeeded": True, "client_ip": attacker_ip},
        {"id": "evt-2", "time": "2026-11-19T22:10:00Z", "operation": "New-InboundConnector", "actor": attacker,
         "target": relay, "parameters": {"Name": relay, "ConnectorType": "OnPremises", "SenderIPAddresses": attacker_ip},
         "succeeded": True, "client_ip": attacker_ip},
    ]
    facts["alerts"] = [
        {"id": "alert-1", "title": "Suspicious connector activity", "severity": "high", "status": "new",
         "created": "2026-11-20T06:00:00Z", "connector_names": [relay], "ip_addresses": [attacker_ip]},
    ]
    facts["blocked_connectors"] = [
        {"connector_id": RELAY_GUID, "connector_name": relay, "reason": "Suspicious connector activity",
         "blocked_at": "2026-11-20T06:01:00Z"},
    ]
    facts["admins"] = [
        {"upn": attacker, "roles": ["Exchange Administrator"], "risk_level": "high", "risk_state": "atRisk",
         "sign_ins": [{"time": "2026-11-19T21:58:00Z", "ip": attacker_ip, "country": "XX", "risk_level": "high",
                       "risk_event_types": ["unfamiliarFeatures"]}]},
    ]
    stats = []
    for hour in _hours(WINDOW_START, "2026-11-20T12:00:00Z"):
        stats.append({"hour": hour, "connector": onprem, "connector_guid": ONPREM_GUID, "outbound": 20, "spam": 0,
                      "sender_ips": ["192.0.2.5"]})
        if hour >= SPIKE_START:
            stats.append({"hour": hour, "connector": relay, "connector_guid": relay_guid,
                          "outbound": 0 if hour >= "2026-11-20T06:00:00Z" else 1500,
                          "spam": 0 if hour >= "2026-11-20T06:00:00Z" else 600, "sender_ips": [attacker_ip]})
    facts["mail_stats"] = stats
    for key, values in facts.items():
        data["sources"][key]["count"] = len(values)
    snapshot_mod.validate(data)
    return data


def _finding(rule: str, symptom: str, severity: str, connector: str | None, guid: str | None,
             evidence: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"rule_id": rule, "rule_version": "1.0.0", "symptom": symptom, "severity": severity,
            "title": symptom.replace("-", " ").capitalize(), "message": f"{connector or 'tenant'}: {symptom}",
            "connector": {"identity": connector, "guid": guid} if connector is not None else None,
            "evidence": evidence or {}, "fingerprint": f"{rule}:{guid or connector or 'tenant'}", "remediation": ["Respond."],
            "suppressed": False, "pointer": None}


def make_report(relay: str = "Relay 365", onprem: str = "Inbound from on-prem",
                attacker: str = "it-admin@contoso.com", snapshot_path: str = "snapshot.json",
                sha256: str | None = None, relay_guid: str | None = RELAY_GUID) -> dict[str, Any]:
    """A `connguard scan --format json` report of the snapshot above (contract shape)."""
    findings = [
        _finding("CG-0004", "outbound-spike", "high", relay, relay_guid, {"peak_hour_messages": 1500}),
        _finding("CG-0005", "unapproved-connector", "critical", relay, relay_guid, {"created_by": attacker}),
        _finding("CG-0006", "connector-blocked", "high", relay, relay_guid),
        _finding("CG-0007", "connector-changed", "high", onprem, ONPREM_GUID, {"changed_by": attacker}),
        _finding("CG-0008", "admin-compromised", "high", None, None, {"upn": attacker, "risk_level": "high"}),
    ]
    severities = ("critical", "high", "medium", "low", "info")
    return {
        "schema_version": "1.0", "tool": {"name": "connguard", "version": "0.1.0"},
        "tenant": {"id": TENANT_ID, "domain": TENANT_DOMAIN, "name": "Contoso"},
        "snapshot": {"path": snapshot_path, "sha256": sha256 or "0" * 64, "collected_at": COLLECTED_AT,
                     "window": {"start": WINDOW_START, "end": COLLECTED_AT}, "sources": {}},
        "inputs": {"config": None, "baseline": None},
        "findings": findings, "coverage": [], "warnings": [],
        "summary": {"total": len(findings), "unsuppressed": len(findings), "suppressed": 0,
                    "highest_severity": "critical",
                    "by_severity": {s: sum(f["severity"] == s for f in findings) for s in severities},
                    "by_symptom": {}, "rules": 0, "evaluated": 0, "not_evaluated": 0, "error": 0,
                    "symptoms_not_evaluated": []},
    }


def make_baseline(onprem: str = "Inbound from on-prem") -> dict[str, Any]:
    """The approved state: only the on-prem connector, TLS on, one sender range."""
    return {
        "version": 1,
        "tenant": {"id": TENANT_ID, "domain": TENANT_DOMAIN},
        "inbound_connectors": [
            {"identity": onprem, "guid": ONPREM_GUID, "enabled": True, "connector_type": "OnPremises",
             "sender_ip_addresses": ["192.0.2.0/28"], "sender_domains": ["*"], "require_tls": True,
             "restrict_domains_to_ip_addresses": False, "restrict_domains_to_certificate": False,
             "comment": "Hybrid mail flow"},
        ],
    }


def write_inputs(folder: Path, *, report: dict[str, Any] | None = None, snapshot: dict[str, Any] | None = None,
                 baseline: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write report.json, snapshot.json (and baseline.yaml) into `folder`; return their paths."""
    import yaml

    snap = snapshot if snapshot is not None else make_snapshot()
    paths = {"snapshot": folder / "snapshot.json", "report": folder / "report.json"}
    snapshot_mod.save(paths["snapshot"], snap)
    rep = report if report is not None else make_report()
    if rep["snapshot"].get("sha256") == "0" * 64:  # the report of exactly this snapshot file
        rep["snapshot"]["sha256"] = hashlib.sha256(paths["snapshot"].read_bytes()).hexdigest()
    paths["report"].write_text(json.dumps(rep, indent=2), encoding="utf-8")
    if baseline is not None:
        paths["baseline"] = folder / "baseline.yaml"
        paths["baseline"].write_text(yaml.safe_dump(baseline, sort_keys=True, allow_unicode=True), encoding="utf-8")
    return paths
