"""Generate export files the way Windows, PowerShell and the portals write them.

No binary fixtures: every test writes its exports here, in the encoding and serialisation
under test (UTF-8 with/without BOM, UTF-16LE with BOM; PowerShell 5.1 `\\/Date(ms)\\/` and
`\\u003c` escapes, PowerShell 7 ISO dates; Export-Csv quoting and CRLF; en-US dates).
`compromised_tenant(folder)` writes a full set of exports of a tenant whose attacker
created a relay connector and sent a spam run through it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16")  # utf-16 = UTF-16LE with BOM, as PS 5.1 writes
AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
ONPREM = "Inbound from on-prem"
ROGUE = "Relay via partner"
ROGUE_IP = "198.51.100.7"
ONPREM_IP = "203.0.113.5"


# ---------------------------------------------------------------- serialisers

def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write text as bytes in `encoding` (`utf-16` writes UTF-16LE with a BOM)."""
    data = text.encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding)
    if encoding == "utf-16":
        data = b"\xff\xfe" + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ps_date(moment: datetime, style: str) -> str:
    """A DateTime as ConvertTo-Json writes it: PS 5.1 `/Date(ms)/`, PS 7 ISO 8601."""
    if style == "ps51":
        return f"/Date({int(moment.timestamp() * 1000)})/"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def us_date(moment: datetime) -> str:
    """en-US culture: `11/25/2026 3:04:05 PM` (what Export-Csv writes on an en-US machine)."""
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {'PM' if moment.hour >= 12 else 'AM'}"


def ps_json(records: list[dict[str, Any]], style: str = "ps7") -> str:
    """ConvertTo-Json output: a bare object for one record, PS 5.1 escapes `<>&'` and `/`."""
    value: Any = records[0] if len(records) == 1 else records
    text = json.dumps(value, indent=4, ensure_ascii=False)
    if style == "ps51":
        text = text.replace("/Date(", "\\/Date(").replace(")/\"", ")\\/\"")
        for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
            text = text.replace(char, escape)
    return text


def ps_csv(rows: Iterable[dict[str, Any]], columns: list[str], *, type_line: bool = False) -> str:
    """Export-Csv output: every field quoted, CRLF line ends, optional `#TYPE` line."""
    out = io.StringIO()
    if type_line:
        out.write("#TYPE Deserialized.Microsoft.Exchange.Data\r\n")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()


def plain_csv(rows: Iterable[dict[str, Any]], columns: list[str]) -> str:
    """RFC 4180 CSV as the Defender portal writes it (quotes only where needed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()


def graph_body(records: list[dict[str, Any]]) -> str:
    """A Graph response body."""
    return json.dumps({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x", "value": records}, indent=2)


# ---------------------------------------------------------------- records

def inbound_connector(name: str, *, ips: list[str], domains: list[str], require_tls: bool,
                      changed: datetime, created: datetime, style: str = "ps7") -> dict[str, Any]:
    """A Get-InboundConnector object."""
    return {
        "Enabled": True, "ConnectorType": "OnPremises", "ConnectorSource": "AdminUI", "Comment": "",
        "SenderIPAddresses": ips, "SenderDomains": [f"smtp:{d};1" for d in domains], "TrustedOrganizations": [],
        "AssociatedAcceptedDomains": [], "RequireTls": require_tls, "RestrictDomainsToIPAddresses": bool(ips),
        "RestrictDomainsToCertificate": False, "CloudServicesMailEnabled": True, "TreatMessagesAsInternal": False,
        "TlsSenderCertificateName": None, "Name": name, "Identity": name,
        "WhenChangedUTC": ps_date(changed, style), "WhenCreatedUTC": ps_date(created, style),
        "Guid": f"00000000-0000-0000-0000-{abs(hash(name)) % 10**12:012d}", "IsValid": True,
    }


def accepted_domain(domain: str, *, default: bool = False, initial: bool = False) -> dict[str, Any]:
    """A Get-AcceptedDomain object."""
    return {"DomainName": domain, "DomainType": "Authoritative", "Default": default, "InitialDomain": initial,
            "MatchSubDomains": False, "Name": domain}


def audit_data(record_id: str, operation: str, actor: str, target: str, when: datetime,
               parameters: dict[str, str]) -> dict[str, Any]:
    """An ExchangeAdmin AuditData object."""
    params = [{"Name": "Identity", "Value": target}] + [{"Name": k, "Value": v} for k, v in parameters.items()]
    return {
        "CreationTime": when.strftime("%Y-%m-%dT%H:%M:%S"), "Id": record_id, "Operation": operation,
        "OrganizationId": "4f1a0000-0000-0000-0000-000000000001", "RecordType": 1, "ResultStatus": "True",
        "UserKey": "10030000", "UserType": 2, "Version": 1, "Workload": "Exchange",
        "ClientIP": "[2001:db8::66]:443", "ObjectId": target, "UserId": actor,
        "OrganizationName": "contoso.onmicrosoft.com", "Parameters": params, "SessionId": "s",
    }


def search_audit_row(data: dict[str, Any], when: datetime) -> dict[str, Any]:
    """A Search-UnifiedAuditLog output row (AuditData a JSON string)."""
    return {"RecordType": "ExchangeAdmin", "CreationDate": us_date(when), "UserIds": data["UserId"],
            "Operations": data["Operation"], "AuditData": json.dumps(data), "ResultIndex": 1, "ResultCount": 1}


SEARCH_AUDIT_COLUMNS = ["RecordType", "CreationDate", "UserIds", "Operations", "AuditData", "ResultIndex",
                        "ResultCount"]
PURVIEW_AUDIT_COLUMNS = ["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData",
                         "AssociatedAdminUnits", "AssociatedAdminUnitsNames"]
TRACE_COLUMNS = ["MessageId", "Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "ToIP",
                 "FromIP", "Size", "MessageTraceId", "StartDate", "EndDate", "Index"]
EVENT_COLUMNS = ["Timestamp", "NetworkMessageId", "InternetMessageId", "SenderMailFromAddress",
                 "SenderFromAddress", "SenderIPv4", "SenderIPv6", "RecipientEmailAddress", "Subject",
                 "EmailDirection", "Connectors", "DeliveryAction", "DeliveryLocation", "ThreatTypes"]


def trace_row(n: int, when: datetime, sender: str, recipient: str, ip: str, status: str = "Delivered",
              date_style: str = "us") -> dict[str, Any]:
    """A Get-MessageTraceV2 row."""
    received = us_date(when) if date_style == "us" else when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    return {"MessageId": f"<m{n}@contoso.com>", "Received": received, "SenderAddress": sender,
            "RecipientAddress": recipient, "Subject": f"message {n}", "Status": status, "ToIP": "", "FromIP": ip,
            "Size": 1000 + n, "MessageTraceId": f"{n:08x}-0000-0000-0000-000000000000", "StartDate": "",
            "EndDate": "", "Index": n}


def event_row(n: int, when: datetime, p1: str, p2: str, recipient: str, ip: str, connector: str,
              *, junk: bool = False, direction: str = "Outbound") -> dict[str, Any]:
    """An EmailEvents row as the Advanced hunting export writes it."""
    return {"Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "NetworkMessageId": f"e{n:07x}-0000-0000-0000-000000000000", "InternetMessageId": f"<e{n}@x>",
            "SenderMailFromAddress": p1, "SenderFromAddress": p2, "SenderIPv4": ip, "SenderIPv6": "",
            "RecipientEmailAddress": recipient, "Subject": f"event {n}", "EmailDirection": direction,
            "Connectors": connector, "DeliveryAction": "Junked" if junk else "Delivered",
            "DeliveryLocation": "Junk folder" if junk else "Inbox/folder", "ThreatTypes": "Spam" if junk else ""}


# ---------------------------------------------------------------- a compromised tenant

def compromised_tenant(folder: Path) -> dict[str, Path]:
    """Write a mixed set of exports of a tenant whose attacker (mallory, a risky Exchange
    admin) created the rogue connector `Relay via partner` and pushed a spam run through it.

    Encodings and serialisations are mixed on purpose, as a real evidence folder is.
    Returns the paths by role (names are deliberately unhelpful: recognition is by content).
    """
    recent = AS_OF - timedelta(hours=3)
    created = AS_OF - timedelta(hours=30)
    files: dict[str, Path] = {}
    connectors = [
        inbound_connector(ONPREM, ips=["203.0.113.0/28"], domains=["contoso.com"], require_tls=True,
                          changed=AS_OF - timedelta(days=200), created=AS_OF - timedelta(days=400), style="ps51"),
        inbound_connector(ROGUE, ips=[ROGUE_IP], domains=["*"], require_tls=False, changed=created,
                          created=created, style="ps51"),
    ]
    files["inbound"] = write(folder / "export1.json", ps_json(connectors, "ps51"), "utf-16")
    outbound = {"Enabled": True, "ConnectorType": "OnPremises", "SmartHosts": ["mail.contoso.com"],
                "RecipientDomains": ["*"], "UseMXRecord": False, "RouteAllMessagesViaOnPremises": False,
                "IsTransportRuleScoped": False, "AllAcceptedDomains": False, "TlsSettings": "EncryptionOnly",
                "TlsDomain": None, "Name": "Outbound to on-prem", "Identity": "Outbound to on-prem",
                "WhenChangedUTC": ps_date(AS_OF - timedelta(days=300), "ps7"), "Guid": "o-1"}
    files["outbound"] = write(folder / "export2.json", ps_json([outbound], "ps7"), "utf-8-sig")
    domains = [accepted_domain("contoso.com", default=True), accepted_domain("contoso.onmicrosoft.com", initial=True)]
    files["accepted"] = write(folder / "export3.json", ps_json(domains, "ps51"), "utf-16")
    blocked = {"ConnectorId": connectors[1]["Guid"], "ConnectorName": ROGUE, "Reason": "Suspicious connector activity",
               "CreatedTime": ps_date(recent, "ps7")}
    files["blocked"] = write(folder / "export4.json", ps_json([blocked], "ps7"), "utf-8")
    audit = [
        audit_data("a-1", "New-InboundConnector", "Mallory@Contoso.com", ROGUE, created,
                   {"SenderIPAddresses": ROGUE_IP, "ConnectorType": "OnPremises"}),
        audit_data("a-2", "Set-InboundConnector", "Mallory@Contoso.com", ONPREM, created + timedelta(minutes=5),
                   {"RequireTls": "False"}),
        audit_data("a-3", "Set-Mailbox", "admin@contoso.com", "someone", created, {}),
    ]
    files["audit"] = write(folder / "audit.csv",
                           ps_csv([search_audit_row(a, created) for a in audit], SEARCH_AUDIT_COLUMNS), "utf-8-sig")
    alert = {"id": "da1", "title": "Suspicious connector activity", "severity": "high", "status": "new",
             "serviceSource": "microsoftDefenderForOffice365", "category": "Exfiltration",
             "description": f"Suspicious connector activity was detected on connector '{ROGUE}'.",
             "alertWebUrl": "https://security.microsoft.com/alerts/da1",
             "createdDateTime": recent.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "evidence": [{"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": ROGUE_IP}]}
    files["alerts"] = write(folder / "graph1.json", graph_body([alert]))
    risky = {"id": "u-m", "userPrincipalName": "mallory@contoso.com", "riskLevel": "high", "riskState": "atRisk",
             "riskDetail": "none", "riskLastUpdatedDateTime": recent.strftime("%Y-%m-%dT%H:%M:%SZ")}
    files["risky"] = write(folder / "graph2.json", graph_body([risky]))
    roles = [{"id": "ra1", "roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de", "principalId": "u-m",
              "principal": {"id": "u-m", "userPrincipalName": "mallory@contoso.com", "displayName": "Mallory"}},
             {"id": "ra2", "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "principalId": "u-a",
              "principal": {"id": "u-a", "userPrincipalName": "admin@contoso.com", "displayName": "Admin"}}]
    files["roles"] = write(folder / "graph3.json", ps_json(roles, "ps7"))
    # A quiet week through the on-prem connector, then a spam run through the rogue one.
    rows = []
    n = 0
    for hour in range(24, 24 * 8):
        moment = AS_OF - timedelta(hours=hour, minutes=-7)
        for k in range(2):
            n += 1
            rows.append(trace_row(n, moment, f"user{k}@contoso.com", f"partner{k}@fabrikam.com", ONPREM_IP))
    for k in range(300):
        n += 1
        rows.append(trace_row(n, recent + timedelta(seconds=k), f"ceo@spoof{k % 7}.example",
                              f"victim{k}@target{k % 40}.example", ROGUE_IP, status="FilteredAsSpam"))
    files["trace"] = write(folder / "trace.csv", ps_csv(rows, TRACE_COLUMNS), "utf-16")
    # EmailEvents for the first 120 spam messages: same NetworkMessageId (= MessageTraceId) and
    # recipient as their trace rows, so each message counts once, with its P2 from here.
    events = []
    for row in rows[-300:-180]:
        k = row["Index"] - rows[-300]["Index"]
        event = event_row(k, recent + timedelta(seconds=k), f"bounce@spoof{k % 7}.example", "ceo@contoso.com",
                          row["RecipientAddress"], ROGUE_IP, ROGUE, junk=True)
        event["NetworkMessageId"] = row["MessageTraceId"]
        events.append(event)
    files["events"] = write(folder / "events.csv", plain_csv(events, EVENT_COLUMNS), "utf-8")
    return files


def strip_json_escapes(text: str) -> str:
    """Undo `\\u003c`-style escapes (to compare PS 5.1 output with the original)."""
    return re.sub(r"\\u00(3c|3e|26|27)", lambda m: chr(int(m.group(1), 16)), text)
