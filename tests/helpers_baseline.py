"""Small snapshots for the baseline tests: a healthy hybrid tenant and the events that change it."""

from __future__ import annotations

import copy
from typing import Any

from connguard.snapshot import FACT_SETS, empty

COLLECTED_AT = "2026-11-20T12:00:00Z"
TENANT_ID = "7a3c1e0f-1111-4222-8333-944455556666"
ADMIN = "exo-admin@contoso.com"
INTRUDER = "helpdesk7@contoso.com"


def inbound(identity: str, **fields: Any) -> dict[str, Any]:
    """An inbound connector fact with every compared field set (as a live collector writes it)."""
    record: dict[str, Any] = {
        "identity": identity,
        "name": identity,
        "guid": None,
        "enabled": True,
        "connector_type": "OnPremises",
        "connector_source": "HybridWizard",
        "comment": None,
        "sender_ip_addresses": [],
        "sender_domains": ["*"],
        "trusted_organizations": [],
        "associated_accepted_domains": [],
        "require_tls": True,
        "restrict_domains_to_ip_addresses": True,
        "restrict_domains_to_certificate": False,
        "tls_sender_certificate_name": None,
        "treat_messages_as_internal": False,
        "cloud_services_mail_enabled": True,
        "when_created": "2025-03-01T09:00:00Z",
        "when_changed": "2025-03-01T09:00:00Z",
    }
    record.update(fields)
    return record


def outbound(identity: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "identity": identity,
        "name": identity,
        "guid": None,
        "enabled": True,
        "connector_type": "OnPremises",
        "smart_hosts": ["mail.contoso.com"],
        "recipient_domains": [],
        "use_mx_record": False,
        "route_all_messages_via_on_premises": False,
        "is_transport_rule_scoped": False,
        "all_accepted_domains": False,
        "tls_settings": "EncryptionOnly",
        "tls_domain": None,
        "comment": None,
    }
    record.update(fields)
    return record


def healthy_snapshot() -> dict[str, Any]:
    """A hybrid tenant as an approved admin left it: two inbound, one outbound connector."""
    data = empty(tenant_domain="contoso.com", tenant_id=TENANT_ID, collected_at=COLLECTED_AT,
                 window_start="2026-11-10T12:00:00Z", window_end=COLLECTED_AT, mode="fixture")
    for source in FACT_SETS:
        data["sources"][source] = {"status": "ok", "count": 0}
    facts = data["facts"]
    facts["inbound_connectors"] = [
        inbound("Hybrid relay", guid="0f5d2a6e-0000-4000-8000-000000000001",
                sender_ip_addresses=["203.0.113.5/32", "203.0.113.16/28"],
                comment="On-premises Exchange 2019"),
        inbound("Inbound from Fabrikam", guid="0f5d2a6e-0000-4000-8000-000000000002",
                connector_type="Partner", sender_domains=["fabrikam.com"], sender_ip_addresses=[],
                restrict_domains_to_ip_addresses=False, restrict_domains_to_certificate=True,
                tls_sender_certificate_name="mail.fabrikam.com"),
    ]
    facts["outbound_connectors"] = [outbound("Outbound to on-prem", guid="0f5d2a6e-0000-4000-8000-000000000003")]
    facts["accepted_domains"] = [
        {"domain": "contoso.com", "domain_type": "Authoritative", "default": True},
        {"domain": "contoso.onmicrosoft.com", "domain_type": "Authoritative", "initial": True},
    ]
    facts["admins"] = [
        {"upn": ADMIN, "roles": ["Exchange Administrator"], "risk_level": "none", "risk_state": "none",
         "sign_ins": []},
    ]
    for source in FACT_SETS:
        data["sources"][source]["count"] = len(facts[source])
    return data


def audit_event(event_id: str, operation: str, target: str, actor: str, time: str,
                **parameters: str) -> dict[str, Any]:
    return {"id": event_id, "time": time, "operation": operation, "actor": actor, "target": target,
            "parameters": {"Identity": target, **parameters}, "succeeded": True,
            "client_ip": "198.51.100.40", "record_type": "ExchangeAdmin", "source": "fixture"}


def drifted_snapshot() -> dict[str, Any]:
    """The Done-when scenario: one sender IP added to the hybrid relay and a new connector,
    each with the audit event that did it (made by an account that is not an approved admin)."""
    data = copy.deepcopy(healthy_snapshot())
    facts = data["facts"]
    relay = facts["inbound_connectors"][0]
    relay["sender_ip_addresses"] = sorted(relay["sender_ip_addresses"] + ["192.0.2.77/32"])
    facts["inbound_connectors"].append(
        inbound("Backup relay", guid="0f5d2a6e-0000-4000-8000-000000000009", sender_ip_addresses=["192.0.2.78/32"],
                restrict_domains_to_ip_addresses=False, require_tls=False))
    facts["audit_events"] = [
        audit_event("e-1", "Set-InboundConnector", "Hybrid relay", INTRUDER, "2026-11-20T03:14:00Z",
                    SenderIPAddresses="203.0.113.5;203.0.113.16/28;192.0.2.77"),
        audit_event("e-2", "New-InboundConnector", "Backup relay", INTRUDER, "2026-11-20T03:20:00Z",
                    Name="Backup relay", SenderIPAddresses="192.0.2.78"),
    ]
    for source in ("inbound_connectors", "audit_events"):
        data["sources"][source]["count"] = len(facts[source])
    return data
