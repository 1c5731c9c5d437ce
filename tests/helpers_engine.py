"""Builders for engine tests: a small valid snapshot and inline rule files.

Engine tests write their own small rules so they do not depend on the shipped pack.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

from connguard import snapshot

COLLECTED_AT = "2026-11-20T12:00:00Z"


def connector(identity: str = "Hybrid relay", **fields: Any) -> dict[str, Any]:
    """An inbound connector record as the snapshot stores it."""
    record = {
        "identity": identity, "name": identity, "guid": f"guid-{identity.lower().replace(' ', '-')}",
        "enabled": True, "connector_type": "OnPremises", "sender_ip_addresses": ["203.0.113.5/32"],
        "sender_domains": ["*"], "require_tls": True, "restrict_domains_to_ip_addresses": True,
    }
    record.update(fields)
    return record


def make_snapshot(**facts: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid snapshot with every source `ok` and the given facts (others empty)."""
    data = snapshot.empty(tenant_domain="contoso.onmicrosoft.com", collected_at=COLLECTED_AT,
                          window_start="2026-11-10T12:00:00Z", window_end=COLLECTED_AT, version="0.0.0")
    for name in snapshot.FACT_SETS:
        data["sources"][name] = {"status": "ok", "count": 0}
    for name, records in facts.items():
        data["facts"][name] = copy.deepcopy(records)
        data["sources"][name]["count"] = len(records)
    snapshot.validate(data)
    return data


RULE_HEADER = """\
id: {id}
version: 1.0.0
status: stable
symptom: {symptom}
severity: {severity}
title: Test rule {id}
description: A rule written inline by a test.
remediation: [Look at it.]
"""


def rule_text(rule_id: str = "T-0001", body: str = "", *, symptom: str = "permissive-connector",
              severity: str = "high") -> str:
    """Rule YAML: the standard header plus `body` (select, where, message, ...)."""
    return RULE_HEADER.format(id=rule_id, symptom=symptom, severity=severity) + textwrap.dedent(body)


def write_rule(directory: Path, rule_id: str = "T-0001", body: str = "", **kwargs: Any) -> Path:
    """Write one rule file into `directory` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{rule_id}.yaml"
    path.write_text(rule_text(rule_id, body, **kwargs), encoding="utf-8")
    return path


SIMPLE_BODY = """\
requires: [inbound_connectors]
select: facts.inbound_connectors
as: connector
where: {key: connector.sender_domains, op: contains, value: "*"}
message: "{connector.identity} accepts any sender domain"
connector: connector
fingerprint: [connector.identity]
"""
