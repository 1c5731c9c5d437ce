"""Write the rule pack's healthy base fixture and the demo tenant, deterministically.

    python examples/make_fixtures.py            # rewrite both files
    python examples/make_fixtures.py --check    # exit 1 if a committed file is stale

Both snapshots describe the same hybrid tenant, Contoso, at 2026-11-20T12:00:00Z:

* `rules/tests/base.json` is the healthy tenant every rule test starts from: one
  OnPremises inbound connector from the on-premises servers (certificate-restricted,
  TLS required), an outbound connector, accepted domains, an approved admin's audit
  trail and 30 days of ordinary diurnal mail. No shipped rule may find anything in it.
* `connguard/demo/snapshot.json` is the same tenant after an attacker phished a Global
  Administrator, created a connector, opened it up and relayed spam through it until
  Defender blocked it, so that every one of the twelve symptoms shows on that connector
  while the healthy connector beside it shows nothing.

Values are computed from the hour's position, never from a random source or the clock,
so the same script always writes the same bytes (and sha256).
"""

from __future__ import annotations

import argparse
import copy
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from connguard import snapshot
from connguard.normalize import format_time

ROOT = Path(__file__).resolve().parent.parent
BASE_PATH = ROOT / "rules" / "tests" / "base.json"
DEMO_PATH = ROOT / "connguard" / "demo" / "snapshot.json"

COLLECTED_AT = datetime(2026, 11, 20, 12, 0, 0, tzinfo=timezone.utc)
WINDOW_DAYS = 30
WINDOW_START = COLLECTED_AT - timedelta(days=WINDOW_DAYS)

HEALTHY = "Inbound from Contoso on-prem"
HEALTHY_GUID = "5f1c2a7e-3b8d-4e0f-9a61-2d4c8e7b1f03"
HEALTHY_IPS = ["203.0.113.5/32", "203.0.113.6/32"]
HEALTHY_TRAFFIC_IPS = ["203.0.113.5", "203.0.113.6"]  # mail rows carry single addresses
APPROVED_ADMIN = "exo-admin@contoso.com"

ROGUE = "Contoso Relay 02"
ROGUE_GUID = "a9e4d6b2-71c3-4f58-8e0d-c35b19f2a7e6"
ROGUE_IPS = ["198.51.100.77/32", "198.51.100.78/32"]
ROGUE_TRAFFIC_IPS = ["198.51.100.77", "198.51.100.78"]
PHISHED_ADMIN = "adele.vance@contoso.com"
ATTACKER_SIGN_IN_IP = "198.51.100.23"
# Look-alike domains the spam claimed to come from: none is an accepted domain.
SPOOFED_DOMAINS = [
    "contoso-payroll.com",
    "m1crosoft-billing.com",
    "parcel-track-notify.info",
    "secure-docsign.net",
]
# The attacker hides behind a plausible comment that also tries to break report markup.
ROGUE_COMMENT = "Backup relay | approved per INC-20331 <img src=x onerror=alert(1)> `rm -rf /`"


def ts(moment: datetime) -> str:
    """The snapshot's timestamp form."""
    return format_time(moment)


def hours(start: datetime, end: datetime) -> list[datetime]:
    """Every hour start in [start, end)."""
    out, moment = [], start
    while moment < end:
        out.append(moment)
        moment += timedelta(hours=1)
    return out


def source(count: int, origin: str) -> dict[str, Any]:
    """A source record for a fact set read completely."""
    return {"status": "ok", "reason": None, "count": count, "origin": origin, "unavailable_fields": []}


def healthy_volume(moment: datetime, index: int) -> int:
    """Outbound messages relayed by the on-premises servers in one hour.

    Office hours on weekdays carry most mail; nights and weekends still carry system
    mail (alerts, reports), so no hour is empty and the median hour is meaningful.
    """
    hod, weekend = moment.hour, moment.weekday() >= 5
    if weekend:
        level = 22 if 8 <= hod < 20 else 9
    elif 8 <= hod < 18:
        level = 110
    elif hod == 7 or 18 <= hod < 21:
        level = 45
    else:
        level = 12
    jitter = (index * 7919) % 13 - 6
    return max(1, level + jitter)


def healthy_mail(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Hourly statistics of the healthy connector: ~2% P1/P2 mismatch (bounce addresses of
    mailing lists), almost no spam, no unaccepted sender domain, and new recipient domains
    that fade as the window fills (every domain is 'new' the first time the window sees it)."""
    rows = []
    counter = 0
    for index, moment in enumerate(hours(start, end)):
        outbound = healthy_volume(moment, index)
        recipients = outbound // 4 + 3
        day = (moment - WINDOW_START).days
        new_count = int(recipients * (0.6 * 0.8**day)) + (1 if index % 3 == 0 else 0)
        new_domains = [f"client{counter + k:05d}.example" for k in range(new_count)]
        counter += new_count
        rows.append(
            {
                "hour": ts(moment),
                "connector": HEALTHY,
                "connector_guid": HEALTHY_GUID,
                "sender_ip": None,
                "sender_ips": [HEALTHY_TRAFFIC_IPS[index % 2]] if outbound < 40 else list(HEALTHY_TRAFFIC_IPS),
                "outbound": outbound,
                "spam": 1 if index % 17 == 0 else 0,
                "p1_p2_mismatch": outbound // 50,
                "non_accepted_sender": 0,
                "recipient_domains": recipients,
                "new_recipient_domain_count": new_count,
                "new_recipient_domains": sorted(new_domains)[:50],
                "sender_domains": [],
            }
        )
    return rows


def inbound_healthy() -> dict[str, Any]:
    """The Hybrid Configuration Wizard's connector: identified by the on-premises servers'
    certificate, TLS required, sending from the on-premises egress addresses."""
    return {
        "identity": HEALTHY,
        "name": HEALTHY,
        "guid": HEALTHY_GUID,
        "enabled": True,
        "connector_type": "OnPremises",
        "connector_source": "HybridWizard",
        "comment": "Created by the Hybrid Configuration Wizard",
        "sender_ip_addresses": list(HEALTHY_IPS),
        "sender_domains": ["*"],
        "trusted_organizations": [],
        "associated_accepted_domains": [],
        "require_tls": True,
        "restrict_domains_to_ip_addresses": False,
        "restrict_domains_to_certificate": True,
        "tls_sender_certificate_name": "mail.contoso.com",
        "treat_messages_as_internal": False,
        "cloud_services_mail_enabled": True,
        "when_created": "2025-09-15T09:12:44Z",
        "when_changed": "2026-11-02T10:05:31Z",
    }


def audit(event_id: str, when: str, operation: str, actor: str, target: str,
          parameters: dict[str, str | None], client_ip: str) -> dict[str, Any]:
    """One ExchangeAdmin audit record in snapshot form."""
    return {
        "id": event_id,
        "time": when,
        "operation": operation,
        "actor": actor,
        "target": target,
        "parameters": {"Identity": target, **parameters},
        "succeeded": True,
        "client_ip": client_ip,
        "record_type": "ExchangeAdmin",
        "source": "unified_audit_log",
    }


def sign_in(when: str, ip: str, country: str, app: str, risk: str = "none",
            state: str = "none", events: list[str] | None = None) -> dict[str, Any]:
    """One interactive sign-in of an admin account."""
    return {"time": when, "ip": ip, "country": country, "app": app, "risk_level": risk,
            "risk_state": state, "risk_event_types": events or [], "error_code": 0}


def admin(upn: str, object_id: str, name: str, role: str, sign_ins: list[dict[str, Any]]) -> dict[str, Any]:
    """A directory role holder with no Identity Protection risk."""
    return {"upn": upn, "id": object_id, "display_name": name, "roles": [role],
            "risk_level": "none", "risk_state": "none", "risk_detail": None,
            "risk_last_updated": None, "sign_ins": sign_ins}


def build_base() -> dict[str, Any]:
    """The healthy hybrid tenant."""
    data = snapshot.empty(
        tenant_domain="contoso.com", tenant_id="3f6b9d52-8c41-4a7e-b2d0-6e18f4c9a735", tenant_name="Contoso",
        collected_at=ts(COLLECTED_AT), window_start=ts(WINDOW_START), window_end=ts(COLLECTED_AT),
        collector="connguard-fixtures", mode="fixture", version="1",
    )
    office = "203.0.113.20"
    facts = data["facts"]
    facts["inbound_connectors"] = [inbound_healthy()]
    facts["outbound_connectors"] = [
        {
            "identity": "Outbound to Contoso on-prem",
            "name": "Outbound to Contoso on-prem",
            "guid": "c0d7e2f4-6a15-4b9e-8f23-7e41a5b6c9d8",
            "enabled": True,
            "connector_type": "OnPremises",
            "smart_hosts": ["mail.contoso.com"],
            "recipient_domains": ["contoso.mail.onmicrosoft.com"],
            "use_mx_record": False,
            "route_all_messages_via_on_premises": False,
            "is_transport_rule_scoped": False,
            "all_accepted_domains": False,
            "tls_settings": "DomainValidation",
            "tls_domain": "mail.contoso.com",
            "comment": "Created by the Hybrid Configuration Wizard",
            "when_created": "2025-09-15T09:12:51Z",
            "when_changed": "2025-09-15T09:12:51Z",
        }
    ]
    facts["accepted_domains"] = [
        {"domain": "contoso.com", "domain_type": "Authoritative", "default": True, "initial": False,
         "match_subdomains": False},
        {"domain": "contoso.mail.onmicrosoft.com", "domain_type": "Authoritative", "default": False,
         "initial": False, "match_subdomains": False},
        {"domain": "contoso.onmicrosoft.com", "domain_type": "Authoritative", "default": False,
         "initial": True, "match_subdomains": False},
    ]
    facts["audit_events"] = [
        audit("8c1e5a0b-2f47-4d93-a6b1-0e9f3c7d5a21", "2025-09-15T09:12:44Z", "New-InboundConnector",
              APPROVED_ADMIN, HEALTHY,
              {"ConnectorType": "OnPremises", "SenderDomains": "smtp:*;1", "RequireTls": "True",
               "RestrictDomainsToCertificate": "True", "TlsSenderCertificateName": "mail.contoso.com",
               "SenderIPAddresses": "203.0.113.5;203.0.113.6"},
              office),
        audit("d27b9f4e-6a3c-4e81-9b5d-1f0a8c2e7b64", "2026-11-02T10:05:31Z", "Set-InboundConnector",
              APPROVED_ADMIN, HEALTHY, {"TlsSenderCertificateName": "mail.contoso.com"}, office),
    ]
    facts["alerts"] = [
        {
            "id": "da637f1e2b4c5d6e7f80_1187654321",
            "title": "Email messages containing malicious URL removed after delivery",
            "severity": "informational",
            "status": "resolved",
            "created": "2026-11-12T08:31:07Z",
            "service_source": "microsoftDefenderForOffice365",
            "category": "InitialAccess",
            "description": "Emails with a malicious URL were delivered and later removed (ZAP).",
            "url": "https://security.microsoft.com/alerts/da637f1e2b4c5d6e7f80_1187654321",
            "connector_names": [],
            "ip_addresses": [],
            "domains": [],
        }
    ]
    facts["admins"] = [
        admin(APPROVED_ADMIN, "0b7c4e21-9f3a-4d6e-8a15-c2e9b7d40f63", "Exchange Admin", "Exchange Administrator",
              [sign_in("2026-11-02T09:58:12Z", office, "GB", "Microsoft Exchange REST API Based Powershell"),
               sign_in("2026-11-16T08:14:40Z", office, "GB", "Microsoft Exchange Online Admin Center")]),
        admin(PHISHED_ADMIN, "6e2d8a14-3c7f-4b59-9e0a-d41f7b2c8e95", "Adele Vance", "Global Administrator",
              [sign_in("2026-11-17T07:45:03Z", office, "GB", "Microsoft 365 admin center")]),
    ]
    facts["mail_stats"] = healthy_mail(WINDOW_START, COLLECTED_AT)
    origin = "examples/make_fixtures.py"
    data["sources"] = {name: source(len(facts[name]), origin) for name in snapshot.FACT_SETS}
    return data


def rogue_connector() -> dict[str, Any]:
    """The attacker's connector after they opened it: any sender domain, their own
    addresses, no certificate, no TLS."""
    return {
        "identity": ROGUE,
        "name": ROGUE,
        "guid": ROGUE_GUID,
        "enabled": True,
        "connector_type": "OnPremises",
        "connector_source": "AdminUI",
        "comment": ROGUE_COMMENT,
        "sender_ip_addresses": list(ROGUE_IPS),
        "sender_domains": ["*"],
        "trusted_organizations": [],
        "associated_accepted_domains": [],
        "require_tls": False,
        "restrict_domains_to_ip_addresses": False,
        "restrict_domains_to_certificate": False,
        "tls_sender_certificate_name": None,
        "treat_messages_as_internal": False,
        "cloud_services_mail_enabled": False,
        "when_created": "2026-11-18T21:14:07Z",
        "when_changed": "2026-11-19T03:02:51Z",
    }


def rogue_mail() -> list[dict[str, Any]]:
    """A few test messages after the connector was opened, then a spam run from the
    evening of 19 November until Defender blocked the connector at 09:41 on the 20th."""
    rows = []
    test_start = datetime(2026, 11, 19, 3, tzinfo=timezone.utc)
    run_start = datetime(2026, 11, 19, 18, tzinfo=timezone.utc)
    blocked = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    victim = 0
    for index, moment in enumerate(hours(test_start, blocked)):
        if moment < test_start + timedelta(hours=2):
            outbound = 6 + index * 5
        elif moment >= run_start:
            outbound = 2400 + (index * 613) % 2500
        else:
            continue
        spoofed = moment >= run_start
        new_count = outbound // 3 if spoofed else outbound
        new_domains = [f"victim{victim + k:06d}.example" for k in range(min(new_count, 50))]
        victim += new_count
        rows.append(
            {
                "hour": ts(moment),
                "connector": ROGUE,
                "connector_guid": ROGUE_GUID,
                "sender_ip": None,
                "sender_ips": list(ROGUE_TRAFFIC_IPS) if spoofed else [ROGUE_TRAFFIC_IPS[0]],
                "outbound": outbound,
                "spam": outbound * 3 // 5 if spoofed else 0,
                "p1_p2_mismatch": outbound * 17 // 20 if spoofed else 0,
                "non_accepted_sender": outbound * 9 // 10 if spoofed else outbound,
                "recipient_domains": new_count,
                "new_recipient_domain_count": new_count,
                "new_recipient_domains": new_domains,
                "sender_domains": list(SPOOFED_DOMAINS) if spoofed else ["contoso-payroll.com"],
            }
        )
    return rows


def build_demo() -> dict[str, Any]:
    """The healthy tenant plus the compromise, told through every fact set."""
    data = build_base()
    data["collector"] = {"name": "connguard-demo", "version": "1", "mode": "demo"}
    facts = data["facts"]
    facts["inbound_connectors"].append(rogue_connector())
    facts["blocked_connectors"] = [
        {"connector_id": ROGUE_GUID, "connector_name": ROGUE,
         "reason": "Suspicious connector activity: outbound spam", "blocked_at": "2026-11-20T09:41:00Z"}
    ]
    attacker = ATTACKER_SIGN_IN_IP
    facts["audit_events"] += [
        audit("4f90c2d7-1b8e-4a6f-b3c5-92e07d1a6f48", "2026-11-18T21:14:07Z", "New-InboundConnector",
              PHISHED_ADMIN, ROGUE,
              {"ConnectorType": "OnPremises", "SenderDomains": "smtp:contoso.com;1", "RequireTls": "True",
               "RestrictDomainsToCertificate": "True", "TlsSenderCertificateName": "mail.contoso.com",
               "Comment": ROGUE_COMMENT},
              attacker),
        audit("b3a81e6c-5d2f-4c07-8e9a-61f4d2b7c035", "2026-11-19T03:02:51Z", "Set-InboundConnector",
              PHISHED_ADMIN, ROGUE,
              {"SenderDomains": "smtp:*;1", "SenderIPAddresses": "198.51.100.77;198.51.100.78",
               "RequireTls": "False", "RestrictDomainsToCertificate": "False",
               "TlsSenderCertificateName": None, "CloudServicesMailEnabled": "False"},
              attacker),
    ]
    facts["audit_events"].sort(key=lambda event: (event["time"], event["id"]))
    facts["alerts"].append(
        {
            "id": "da6381a4c7e2f05b1d93_2290417733",
            "title": "Suspicious connector activity",
            "severity": "high",
            "status": "new",
            "created": "2026-11-20T09:38:12Z",
            "service_source": "microsoftDefenderForOffice365",
            "category": "Exfiltration",
            "description": f"Suspicious outbound email was sent through the connector {ROGUE}. "
                           "The connector was restricted from sending email.",
            "url": "https://security.microsoft.com/alerts/da6381a4c7e2f05b1d93_2290417733",
            "connector_names": [ROGUE],
            "ip_addresses": list(ROGUE_TRAFFIC_IPS),
            "domains": list(SPOOFED_DOMAINS),
        }
    )
    adele = next(a for a in facts["admins"] if a["upn"] == PHISHED_ADMIN)
    adele.update(
        risk_level="high", risk_state="atRisk", risk_detail="none", risk_last_updated="2026-11-18T20:52:10Z",
    )
    adele["sign_ins"].append(
        sign_in("2026-11-18T20:51:33Z", attacker, "RO", "Microsoft Exchange REST API Based Powershell",
                risk="high", state="atRisk", events=["anonymizedIPAddress", "unfamiliarFeatures"])
    )
    facts["mail_stats"] = sorted(
        facts["mail_stats"] + rogue_mail(), key=lambda row: (row["hour"], row["connector"] or "")
    )
    origin = "examples/make_fixtures.py"
    data["sources"] = {name: source(len(facts[name]), origin) for name in snapshot.FACT_SETS}
    return data


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) both fixtures; every write is validated by snapshot.save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed fixture differs")
    args = parser.parse_args(argv)
    stale = []
    for path, data in ((BASE_PATH, build_base()), (DEMO_PATH, build_demo())):
        if args.check:
            snapshot.validate(data, origin=str(path))
            if not path.exists() or path.read_text("utf-8") != snapshot.dumps(data):
                stale.append(str(path.relative_to(ROOT)))
        else:
            snapshot.save(path, copy.deepcopy(data))
    if stale:
        print("stale fixtures (run python examples/make_fixtures.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
