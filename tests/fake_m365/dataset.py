"""The fake tenant's contents, with a planted connector compromise.

Story: `mallory.admin@contoso.com` (an Exchange Administrator whose account is at high
risk after a sign-in from 198.51.100.50) created the OnPremises inbound connector
"Partner relay 7" 30 hours before `now`, accepting any sender domain from
198.51.100.23 without TLS. Since then it relays a surge of outbound spam whose
envelope sender is `bulk-mailer.example` while the header From is contoso.com, to
hundreds of new recipient domains; Defender raised "Suspicious connector activity"
and the connector is on the Restricted entities list. The legitimate connector
"Inbound from on-prem" carries a steady 20 messages an hour.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

TENANT_ID = "6f1c2a4e-1b7d-4c39-9a2e-5d8f0c3b7a11"
TENANT_DOMAIN = "contoso.onmicrosoft.com"
GOOD = "Inbound from on-prem"
BAD = "Partner relay 7"
GOOD_GUID = "0b7d6a5e-8f0c-4a3e-9c1b-2d4e6f8a0b1c"
BAD_GUID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
MALLORY = "mallory.admin@contoso.com"
EXO_ADMIN = "exo-admin@contoso.com"
GLOBAL_ADMIN = "ga@contoso.com"
ATTACKER_IP = "198.51.100.50"
RELAY_IP = "198.51.100.23"
ONPREM_IP = "203.0.113.5"
ACCEPTED = ("contoso.com", "contoso.onmicrosoft.com")


def _ex_time(moment: dt.datetime) -> str:
    """Exchange's seven-digit fractional seconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _graph_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


@dataclass
class Dataset:
    """All records the fake serves. Lists are mutable so a test can add or remove rows."""

    now: dt.datetime
    inbound: list[dict[str, Any]] = field(default_factory=list)
    outbound: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[dict[str, Any]] = field(default_factory=list)
    email_events: list[dict[str, Any]] = field(default_factory=list)
    message_trace: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    role_members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    risky_users: list[dict[str, Any]] = field(default_factory=list)
    sign_ins: list[dict[str, Any]] = field(default_factory=list)


def _inbound(name: str, guid: str, created: dt.datetime, *, ips: list[str], require_tls: bool,
             restrict: bool, comment: str) -> dict[str, Any]:
    return {
        "Enabled": True, "ConnectorType": "OnPremises", "ConnectorSource": "AdminUI", "Comment": comment,
        "SenderIPAddresses": ips, "SenderDomains": ["smtp:*;1"], "TrustedOrganizations": [],
        "ClientHostNames": [], "AssociatedAcceptedDomains": [], "RequireTls": require_tls,
        "RestrictDomainsToIPAddresses": restrict, "RestrictDomainsToCertificate": False,
        "CloudServicesMailEnabled": True, "TreatMessagesAsInternal": False, "TlsSenderCertificateName": None,
        "EFTestMode": False, "ScanAndDropRecipients": [], "EFSkipLastIP": False, "EFSkipIPs": [],
        "EFSkipMailGateway": [], "EFUsers": [], "AdminDisplayName": "", "Name": name, "Identity": name,
        "WhenChangedUTC": _ex_time(created), "WhenCreatedUTC": _ex_time(created), "Guid": guid, "IsValid": True,
    }


def _events(now: dt.datetime, days: int, message_volume: int) -> list[dict[str, Any]]:
    """EmailEvents rows (one per recipient): steady on-prem relay, then the spam surge."""
    rows: list[dict[str, Any]] = []
    start = now - dt.timedelta(days=days)
    hours = days * 24
    for h in range(hours):
        hour = start + dt.timedelta(hours=h)
        bad = hour >= now - dt.timedelta(hours=29)
        for i in range(20):  # legitimate relay traffic
            t = hour + dt.timedelta(seconds=i * 170 + 7)
            nid = _uuid(f"good-{h}-{i}")
            rows.append({"Timestamp": _graph_time(t), "NetworkMessageId": nid, "EmailDirection": "Outbound",
                         "SenderMailFromAddress": f"user{i % 5}@contoso.com", "SenderFromAddress": f"user{i % 5}@contoso.com",
                         "SenderMailFromDomain": "contoso.com", "SenderFromDomain": "contoso.com",
                         "SenderIPv4": ONPREM_IP, "SenderIPv6": "", "RecipientEmailAddress": f"buyer{i % 3}@fabrikam.com",
                         "Connectors": GOOD, "DeliveryAction": "Delivered", "DeliveryLocation": "Inbox/folder",
                         "ThreatTypes": ""})
        if bad:
            for i in range(message_volume):
                t = hour + dt.timedelta(seconds=(i * 3599) // message_volume)
                nid = _uuid(f"bad-{h}-{i}")
                for r in range(2):  # two recipients per message: dcount(NetworkMessageId) matters
                    rows.append({"Timestamp": _graph_time(t), "NetworkMessageId": nid, "EmailDirection": "Outbound",
                                 "SenderMailFromAddress": f"promo{i % 7}@bulk-mailer.example",
                                 "SenderFromAddress": "billing@contoso.com",
                                 "SenderMailFromDomain": "bulk-mailer.example", "SenderFromDomain": "contoso.com",
                                 "SenderIPv4": RELAY_IP, "SenderIPv6": "",
                                 "RecipientEmailAddress": f"victim{r}@target{(h * message_volume + i) % 5000}.example",
                                 "Connectors": BAD, "DeliveryAction": "Junked" if i % 3 == 0 else "Delivered",
                                 "DeliveryLocation": "Junk folder" if i % 3 == 0 else "Inbox/folder",
                                 "ThreatTypes": "Spam" if i % 3 == 0 else ""})
    return rows


def _trace_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Get-MessageTraceV2 rows for the same mail (no P2, no connector), newest first."""
    rows = []
    for ev in events:
        t = dt.datetime.strptime(ev["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        rows.append({
            "MessageTraceId": ev["NetworkMessageId"], "MessageId": f"<{ev['NetworkMessageId']}@mail>",
            "Received@data.type": "System.DateTime", "Received": _ex_time(t),
            "SenderAddress": ev["SenderMailFromAddress"], "RecipientAddress": ev["RecipientEmailAddress"],
            "FromIP": ev["SenderIPv4"], "ToIP": "", "Subject": "Invoice",
            "Status": "FilteredAsSpam" if ev["ThreatTypes"] == "Spam" else "Delivered",
            "Size@data.type": "System.Int32", "Size": 4096,
        })
    return rows


def _audit(now: dt.datetime) -> list[dict[str, Any]]:
    def record(op: str, who: str, target: str, when: dt.datetime, ip: str, params: list[dict[str, str]]) -> dict[str, Any]:
        return {"CreationTime": when.strftime("%Y-%m-%dT%H:%M:%S"), "Id": _uuid(f"audit-{op}-{target}-{when}"),
                "Operation": op, "OrganizationId": TENANT_ID, "RecordType": 1, "ResultStatus": "True",
                "UserKey": "10032000" + _uuid(who)[:8], "UserType": 2, "Version": 1,
                "Workload": "Exchange", "ClientIP": ip, "ObjectId": target, "UserId": who, "AppId": "",
                "ClientAppId": "", "ExternalAccess": False, "OrganizationName": TENANT_DOMAIN,
                "OriginatingServer": "CH3PR10MB7864 (15.20.6813.027)", "Parameters": params, "SessionId": _uuid(f"s-{when}")}
    return [
        record("Set-InboundConnector", EXO_ADMIN, GOOD, now - dt.timedelta(days=5, hours=3), f"{ONPREM_IP}:51234",
               [{"Name": "Identity", "Value": GOOD}, {"Name": "RequireTls", "Value": "True"}]),
        record("New-InboundConnector", MALLORY, BAD, now - dt.timedelta(hours=30), f"{ATTACKER_IP}:40112",
               [{"Name": "Name", "Value": BAD}, {"Name": "ConnectorType", "Value": "OnPremises"},
                {"Name": "SenderIPAddresses", "Value": RELAY_IP}, {"Name": "SenderDomains", "Value": "*"},
                {"Name": "RequireTls", "Value": "False"}]),
    ]


def build(now: dt.datetime, *, days: int = 9, spam_per_hour: int = 150) -> Dataset:
    """The planted tenant as seen at `now` (floored to the hour)."""
    now = now.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    data = Dataset(now=now)
    data.inbound = [
        _inbound(GOOD, GOOD_GUID, now - dt.timedelta(days=200), ips=["203.0.113.0/28"], require_tls=True,
                 restrict=True, comment="Hybrid relay"),
        _inbound(BAD, BAD_GUID, now - dt.timedelta(hours=30), ips=[RELAY_IP], require_tls=False,
                 restrict=False, comment=""),
    ]
    data.outbound = [{
        "Enabled": True, "ConnectorType": "Partner", "Name": "Outbound to partner", "Identity": "Outbound to partner",
        "Guid": _uuid("outbound"), "SmartHosts": ["mx.partner.example"], "RecipientDomains": ["partner.example"],
        "UseMXRecord": False, "RouteAllMessagesViaOnPremises": False, "IsTransportRuleScoped": False,
        "AllAcceptedDomains": False, "SenderRewritingEnabled": False, "TestMode": False, "TlsSettings": "DomainValidation",
        "TlsDomain": "partner.example", "ValidationRecipients": [], "IsValidated": True,
        "LastValidationTimestamp": (now - dt.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S"), "Comment": "",
        "WhenCreatedUTC": _ex_time(now - dt.timedelta(days=300)), "WhenChangedUTC": _ex_time(now - dt.timedelta(days=90)),
    }]
    data.accepted = [
        {"DomainName": "contoso.com", "DomainType": "Authoritative", "Default": True, "InitialDomain": False,
         "MatchSubDomains": False, "Name": "contoso.com", "Identity": "contoso.com"},
        {"DomainName": TENANT_DOMAIN, "DomainType": "Authoritative", "Default": False, "InitialDomain": True,
         "MatchSubDomains": False, "Name": TENANT_DOMAIN, "Identity": TENANT_DOMAIN},
    ]
    data.blocked = [{"ConnectorId": BAD_GUID, "ConnectorName": BAD, "Reason": "Suspicious connector activity",
                     "CreatedTime": _ex_time(now - dt.timedelta(hours=2))}]
    data.email_events = _events(now, days, spam_per_hour)
    data.message_trace = _trace_rows(data.email_events)
    data.audit = _audit(now)
    data.alerts = [
        {"id": "da637000000000000001_-1", "providerAlertId": "p1", "incidentId": "12", "status": "new",
         "severity": "high", "classification": None, "determination": None,
         "serviceSource": "microsoftDefenderForOffice365", "detectionSource": "microsoftDefenderForOffice365",
         "title": "Suspicious connector activity", "category": "Exfiltration",
         "description": f"Connector '{BAD}' sent a suspicious volume of mail and was restricted.",
         "alertWebUrl": "https://security.microsoft.com/alerts/da637000000000000001_-1",
         "createdDateTime": _graph_time(now - dt.timedelta(hours=2)),
         "lastUpdateDateTime": _graph_time(now - dt.timedelta(hours=2)),
         "evidence": [{"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": RELAY_IP},
                      {"@odata.type": "#microsoft.graph.security.mailboxEvidence", "displayName": BAD}]},
        {"id": "da637000000000000002_-1", "status": "resolved", "severity": "low", "serviceSource": "microsoftDefenderForOffice365",
         "title": "Email reported by user as malware or phish", "category": "InitialAccess", "description": "User report",
         "alertWebUrl": None, "createdDateTime": _graph_time(now - dt.timedelta(days=3)),
         "lastUpdateDateTime": _graph_time(now - dt.timedelta(days=3)), "evidence": []},
    ]
    user = lambda upn, name: {"@odata.type": "#microsoft.graph.user", "id": _uuid(upn), "userPrincipalName": upn,
                              "displayName": name}
    data.role_members = {
        "62e90394-69f5-4237-9190-012177145e10": [user(GLOBAL_ADMIN, "Global Admin")],
        "29232cdf-9323-42fd-ade2-1d097af3e4de": [user(EXO_ADMIN, "Exchange Admin"), user(MALLORY, "Mallory Admin")],
    }
    data.risky_users = [
        {"id": _uuid(MALLORY), "userPrincipalName": MALLORY, "userDisplayName": "Mallory Admin", "riskLevel": "high",
         "riskState": "atRisk", "riskDetail": "none", "riskLastUpdatedDateTime": _graph_time(now - dt.timedelta(hours=31))},
        {"id": _uuid("someone"), "userPrincipalName": "someone@contoso.com", "riskLevel": "low",
         "riskState": "remediated", "riskDetail": "userPerformedSecuredPasswordReset",
         "riskLastUpdatedDateTime": _graph_time(now - dt.timedelta(days=20))},
    ]
    data.sign_ins = [
        {"id": _uuid("si-1"), "createdDateTime": _graph_time(now - dt.timedelta(hours=31)), "userPrincipalName": MALLORY,
         "ipAddress": ATTACKER_IP, "appDisplayName": "Microsoft Exchange Online Remote PowerShell", "clientAppUsed": "Browser",
         "status": {"errorCode": 0}, "riskLevelDuringSignIn": "high", "riskState": "atRisk",
         "riskEventTypes_v2": ["unfamiliarFeatures"], "location": {"countryOrRegion": "ZZ", "city": "Elsewhere"}},
        {"id": _uuid("si-2"), "createdDateTime": _graph_time(now - dt.timedelta(days=5, hours=4)), "userPrincipalName": EXO_ADMIN,
         "ipAddress": ONPREM_IP, "appDisplayName": "Azure Portal", "clientAppUsed": "Browser",
         "status": {"errorCode": 0}, "riskLevelDuringSignIn": "none", "riskState": "none",
         "riskEventTypes_v2": [], "location": {"countryOrRegion": "US", "city": "Redmond"}},
    ]
    return data
