"""Answer the collector's EmailEvents summary query from the fake's rows.

A real KQL engine is out of scope; instead the fake checks that the query has the shape
the collector promises (EmailEvents, outbound only, the time range, the accepted-domain
list, `summarize … by Connectors, bin(Timestamp, 1h)`) and computes the same aggregation
in Python, so the collector's parsing of the result is tested against real values.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from typing import Any

_RANGE = re.compile(r"Timestamp between \(datetime\(([^)]+)\) \.\. datetime\(([^)]+)\)\)")
_ACCEPTED = re.compile(r"let accepted = dynamic\((\[.*?\])\);", re.DOTALL)
_REQUIRED = ("EmailEvents", 'EmailDirection == "Outbound"', "summarize", "by Connectors, NoConnectorIp, Hour = bin(Timestamp, 1h)")

SCHEMA = [{"name": "Connectors", "type": "String"}, {"name": "NoConnectorIp", "type": "String"}, {"name": "Hour", "type": "DateTime"},
          {"name": "Outbound", "type": "Int64"}, {"name": "Spam", "type": "Int64"},
          {"name": "Mismatch", "type": "Int64"}, {"name": "NonAcceptedSender", "type": "Int64"},
          {"name": "RecipientDomains", "type": "Int64"}, {"name": "RecipientDomainSet", "type": "Dynamic"},
          {"name": "SenderIps", "type": "Dynamic"}, {"name": "BadP1", "type": "Dynamic"}, {"name": "BadP2", "type": "Dynamic"}]


class KqlError(ValueError):
    """The query is not one this fake understands (the real service would run it)."""


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


_PARSED: dict[int, tuple[list[dict[str, Any]], list[tuple[dt.datetime, str, dict[str, Any]]]]] = {}


def _parsed(events: list[dict[str, Any]]) -> list[tuple[dt.datetime, str, dict[str, Any]]]:
    """Events with their parsed time and hour, computed once per event list (speed only)."""
    cached = _PARSED.get(id(events))
    if cached is None or cached[0] is not events:
        rows = []
        for ev in events:
            t = _time(ev["Timestamp"])
            rows.append((t, t.replace(minute=0, second=0).strftime("%Y-%m-%dT%H:%M:%SZ"), ev))
        cached = _PARSED[id(events)] = (events, rows)
    return cached[1]


def run(query: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The runHuntingQuery response body for the collector's summary query."""
    missing = [part for part in _REQUIRED if part not in query]
    if missing:
        raise KqlError(f"query lacks {missing[0]!r}")
    rng, acc = _RANGE.search(query), _ACCEPTED.search(query)
    if rng is None or acc is None:
        raise KqlError("query lacks the time range or the accepted-domain list")
    start, end = _time(rng.group(1)), _time(rng.group(2))
    accepted = {d.lower() for d in json.loads(acc.group(1))}
    groups: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(lambda: {
        "rows": 0, "spam": 0, "mismatch": 0, "nonacc": 0, "rcpt": set(), "ips": set(), "p1": set(), "p2": set()})
    for t, hour, ev in _parsed(events):
        if not (start <= t <= end) or ev["EmailDirection"] != "Outbound":
            continue
        ip = ev["SenderIPv4"] or ev["SenderIPv6"]
        g = groups[(ev["Connectors"], "" if ev["Connectors"] else ip, hour)]
        p1, p2 = ev["SenderMailFromDomain"].lower(), ev["SenderFromDomain"].lower()
        rcpt = ev["RecipientEmailAddress"].split("@")[1].lower()
        g["rows"] += 1  # count(): one row per recipient
        if ev["DeliveryLocation"].startswith("Junk") or ev["DeliveryAction"] == "Junked" or "Spam" in ev["ThreatTypes"]:
            g["spam"] += 1
        if p1 and p2 and p1 != p2:
            g["mismatch"] += 1
        if p1 not in accepted or p2 not in accepted:
            g["nonacc"] += 1
            if p1 not in accepted:
                g["p1"].add(p1)
            if p2 not in accepted:
                g["p2"].add(p2)
        if rcpt not in accepted:
            g["rcpt"].add(rcpt)
        g["ips"].add(ip)
    results = []
    for (connectors, ip, hour), g in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        results.append({"Connectors": connectors, "NoConnectorIp": ip, "Hour": hour, "Outbound": g["rows"],
                        "Spam": g["spam"], "Mismatch": g["mismatch"], "NonAcceptedSender": g["nonacc"],
                        "RecipientDomains": len(g["rcpt"]), "RecipientDomainSet": sorted(g["rcpt"])[:500],
                        "SenderIps": sorted(g["ips"])[:50], "BadP1": sorted(g["p1"])[:50], "BadP2": sorted(g["p2"])[:50]})
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
            "schema": SCHEMA, "results": results}
