"""Mail statistics from Defender advanced hunting, aggregated by the service.

One `runHuntingQuery` call returns one row per connector (or, for mail through no
connector, per sender IP) and hour, instead of one row per recipient: a tenant sending
millions of messages a day costs a few hundred rows. The counting rules are those of
`connguard.collectors.mailstats` (recipient rows, P1/P2 domains, accepted domains), so
a live snapshot and an imported one agree; this module only turns the summary rows
into `mail_stats` facts.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from connguard.normalize import format_time, parse_time

RETENTION = timedelta(days=30)  # advanced hunting keeps 30 days of EmailEvents
RECIPIENT_DOMAIN_CAP = 500   # per connector and hour, server side (make_set_if's max size)
_LIST_LIMIT = 50


def build_query(start: datetime, end: datetime, accepted: Iterable[str]) -> str:
    """The KQL the collector sends (the fake test server checks its shape)."""
    domains = json.dumps(sorted({d.lower() for d in accepted}))
    return f"""let accepted = dynamic({domains});
EmailEvents
| where Timestamp between (datetime({format_time(start)}) .. datetime({format_time(end)}))
| where EmailDirection == "Outbound"
| extend P1 = tolower(SenderMailFromDomain), P2 = tolower(SenderFromDomain),
         RecipientDomain = tolower(tostring(split(RecipientEmailAddress, "@")[1])),
         SenderIp = iff(isempty(SenderIPv4), SenderIPv6, SenderIPv4)
| extend ForeignP1 = not(P1 in (accepted)), ForeignP2 = not(P2 in (accepted)),
         External = not(RecipientDomain in (accepted)), NoConnectorIp = iff(isempty(Connectors), SenderIp, "")
| summarize Outbound = count(),
            Spam = countif(DeliveryLocation startswith "Junk" or DeliveryAction == "Junked" or ThreatTypes has "Spam"),
            Mismatch = countif(isnotempty(P1) and isnotempty(P2) and P1 != P2),
            NonAcceptedSender = countif(ForeignP1 or ForeignP2),
            RecipientDomains = dcountif(RecipientDomain, External, 4),
            RecipientDomainSet = make_set_if(RecipientDomain, External, {RECIPIENT_DOMAIN_CAP}),
            SenderIps = make_set(SenderIp, {_LIST_LIMIT}),
            BadP1 = make_set_if(P1, ForeignP1, {_LIST_LIMIT}),
            BadP2 = make_set_if(P2, ForeignP2, {_LIST_LIMIT})
    by Connectors, NoConnectorIp, Hour = bin(Timestamp, 1h)
| order by Hour asc, Connectors asc"""


def timespan(start: datetime, end: datetime) -> str:
    """ISO 8601 duration covering the window (the service's default is 30 days)."""
    return f"P{max(1, math.ceil((end - start) / timedelta(days=1)))}D"


def _cell(row: dict[str, Any], name: str) -> Any:
    """Columns are documented both as `Name` and `name`: look up case-insensitively."""
    if name in row:
        return row[name]
    lowered = name.lower()
    for key, value in row.items():
        if key.lower() == lowered:
            return value
    return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):  # dynamic columns sometimes arrive JSON-encoded
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    if not isinstance(value, list):
        return []  # empty dynamic cells arrive as {}
    return [str(v).strip().lower() for v in value if isinstance(v, (str, int)) and str(v).strip()]


class _Connectors:
    """Connector identity and guid by name and by sender IP range."""

    def __init__(self, inbound: list[dict[str, Any]] | None) -> None:
        self.by_name = {c["identity"].lower(): (c["identity"], c.get("guid")) for c in inbound or []}
        self.ranges = []
        for c in inbound or []:
            for cidr in c.get("sender_ip_addresses") or []:
                try:
                    self.ranges.append((ipaddress.ip_network(cidr, strict=False), c["identity"], c.get("guid")))
                except ValueError:
                    continue

    def by_names(self, names: str) -> tuple[str, str | None]:
        parts = [p.strip() for p in names.split(",") if p.strip()]
        for part in parts:
            if part.lower() in self.by_name:
                return self.by_name[part.lower()]
        return (parts[0] if parts else names.strip(), None)

    def by_ip(self, ip: str) -> tuple[str, str | None] | None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for network, identity, guid in self.ranges:
            if address.version == network.version and address in network:
                return identity, guid
        return None


def to_facts(rows: list[dict[str, Any]], inbound: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Summary rows -> mail_stats facts (rows for the same connector and hour are merged)."""
    connectors = _Connectors(inbound)
    buckets: dict[tuple[datetime, str | None, str | None], dict[str, Any]] = {}
    for row in rows:
        hour = parse_time(str(_cell(row, "Hour"))).replace(minute=0, second=0, microsecond=0)
        names = str(_cell(row, "Connectors") or "").strip()
        ip = str(_cell(row, "NoConnectorIp") or "").strip()
        via = connectors.by_names(names) if names else (connectors.by_ip(ip) if ip else None)
        key = (hour, via[0] if via else None, None if via else (ip or None))
        b = buckets.setdefault(key, {"guid": via[1] if via else None, "outbound": 0, "spam": 0, "mismatch": 0,
                                     "non_accepted": 0, "rcpt_count": 0, "rcpt": set(), "ips": set(), "senders": set()})
        b["outbound"] += _int(_cell(row, "Outbound"))
        b["spam"] += _int(_cell(row, "Spam"))
        b["mismatch"] += _int(_cell(row, "Mismatch"))
        b["non_accepted"] += _int(_cell(row, "NonAcceptedSender"))
        b["rcpt_count"] = max(b["rcpt_count"], _int(_cell(row, "RecipientDomains")))
        b["rcpt"].update(_strings(_cell(row, "RecipientDomainSet")))
        b["ips"].update(_strings(_cell(row, "SenderIps")))
        b["senders"].update(_strings(_cell(row, "BadP1")) + _strings(_cell(row, "BadP2")))
    first_seen: dict[tuple[str | None, str | None], dict[str, datetime]] = {}
    for (hour, connector, ip_key), b in sorted(buckets.items(), key=lambda kv: kv[0][0]):
        seen = first_seen.setdefault((connector, ip_key), {})
        for domain in b["rcpt"]:
            seen.setdefault(domain, hour)
    facts = []
    for key in sorted(buckets, key=lambda k: (k[0], k[1] or "", k[2] or "")):
        hour, connector, ip_key = key
        b = buckets[key]
        new = sorted(d for d, first in first_seen[(connector, ip_key)].items() if first == hour)
        facts.append({
            "hour": format_time(hour), "connector": connector, "connector_guid": b["guid"], "sender_ip": ip_key,
            "sender_ips": sorted(b["ips"]), "outbound": b["outbound"], "spam": b["spam"],
            "p1_p2_mismatch": b["mismatch"], "non_accepted_sender": b["non_accepted"],
            "recipient_domains": max(b["rcpt_count"], len(b["rcpt"])),
            "new_recipient_domain_count": len(new), "new_recipient_domains": new[:_LIST_LIMIT],
            "sender_domains": sorted(b["senders"])[:_LIST_LIMIT],
        })
    return facts
