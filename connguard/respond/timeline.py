"""What happened to each affected connector, in time order, from the snapshot's facts.

The timeline answers the responder's first questions (who created or changed the
connector, when, from where, when did Defender alert and block it, when did the volume
take off) and gives the message-trace step its window. Times are the snapshot's own
(UTC, `...Z`); nothing here reads the wall clock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from connguard.normalize import floor_hour, format_time, parse_time

# Same defaults as the outbound-spike rule (CG-0004): a spike hour carries at least this
# many messages and this many times the median hour of the days before the last 24 hours.
SPIKE_RATIO = 10
SPIKE_MIN_MESSAGES = 200
RECENT_HOURS = 24
RISKY_LEVELS = frozenset({"medium", "high"})
# Sorting ties: creation before change before alert before block, as they usually happen.
KIND_ORDER: dict[str, int] = {
    "created": 0, "changed": 1, "removed": 2, "audit": 3, "risky-sign-in": 4,
    "spike-start": 5, "alert": 6, "blocked": 7,
}


@dataclass(frozen=True)
class Event:
    """One timeline entry. `time` is None only for a block whose time Exchange did not give."""

    time: str | None
    kind: str
    summary: str
    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[int, str, int, str]:
        return (self.time is None, self.time or "", KIND_ORDER.get(self.kind, 9), self.summary)

    def as_json(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "actor": self.actor,
                "summary": self.summary, "details": self.details}


@dataclass(frozen=True)
class HourPoint:
    """Outbound messages (and those filtered as spam, where known) in one UTC hour."""

    hour: str
    outbound: int
    spam: int | None


@dataclass(frozen=True)
class ConnectorTimeline:
    """Events, hourly volume and the spike figures for one connector."""

    identity: str
    guid: str | None
    names: tuple[str, ...]
    events: tuple[Event, ...]
    series: tuple[HourPoint, ...]
    spike_start: str | None
    peak: int
    spam_share: float | None
    trace_start: str
    trace_end: str
    sender_ips: tuple[str, ...]
    actors: tuple[str, ...]


def _lower(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def _group_by(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Iterable[str]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        for value in key(row):
            if value:
                groups.setdefault(value, []).append(row)
    return groups


def _renamed_to(event: dict[str, Any]) -> str | None:
    new_name = (event.get("parameters") or {}).get("Name")
    return new_name.lower() if isinstance(new_name, str) and new_name.strip() else None


class FactIndex:
    """The snapshot's facts indexed once by connector name and GUID (lower case), so that
    each affected connector's timeline reads only its own rows: a tenant has hundreds of
    thousands of mail-statistics rows and audit events."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        facts = snapshot["facts"]
        self.audit_by_target = _group_by(facts["audit_events"], lambda e: [_lower(e.get("target"))])
        self.audit_by_new_name = _group_by(facts["audit_events"], lambda e: [_renamed_to(e) or ""])
        self.stats_by_name = _group_by(facts["mail_stats"], lambda r: [_lower(r.get("connector"))])
        self.stats_by_guid = _group_by(facts["mail_stats"], lambda r: [_lower(r.get("connector_guid"))])
        self.alerts_by_name = _group_by(facts["alerts"], lambda a: {n.lower() for n in a.get("connector_names") or []})
        self.blocked: list[dict[str, Any]] = facts["blocked_connectors"]
        self.admins: dict[str, dict[str, Any]] = {a["upn"]: a for a in facts["admins"]}

    def audit_trail(self, names: set[str]) -> tuple[list[dict[str, Any]], set[str]]:
        """(audit events for the connector in time order, every name it had).

        Renames (`Set-InboundConnector -Name`) are followed both ways: back to the name the
        connector was created under, forward to the name it has now.
        """
        known, pending = set(names), list(names)
        while pending:
            name = pending.pop()
            linked = [_renamed_to(e) for e in self.audit_by_target.get(name, [])]
            linked += [_lower(e.get("target")) for e in self.audit_by_new_name.get(name, [])]
            for other in linked:
                if other and other not in known:
                    known.add(other)
                    pending.append(other)
        events = sorted((e for n in known for e in self.audit_by_target.get(n, [])), key=lambda e: (e["time"], e["id"]))
        return events, known

    def stats(self, names: set[str], guid: str | None) -> list[dict[str, Any]]:
        """Mail-statistics rows of the connector (by GUID or any of its names), each once."""
        rows = {id(r): r for n in names for r in self.stats_by_name.get(n, [])}
        if guid:
            rows.update((id(r), r) for r in self.stats_by_guid.get(guid.lower(), []))
        return list(rows.values())


def _audit_kind(operation: str) -> str:
    verb = operation.split("-", 1)[0].lower()
    return {"new": "created", "set": "changed", "remove": "removed"}.get(verb, "audit")


def _audit_event(event: dict[str, Any]) -> Event:
    operation = event["operation"]
    actor = event.get("actor")
    outcome = "" if event.get("succeeded") is not False else " (failed)"
    params = {k: v for k, v in sorted((event.get("parameters") or {}).items())}
    details: dict[str, Any] = {"operation": operation, "parameters": params, "audit_id": event["id"]}
    if event.get("client_ip"):
        details["client_ip"] = event["client_ip"]
    if event.get("succeeded") is not None:
        details["succeeded"] = event["succeeded"]
    return Event(time=event["time"], kind=_audit_kind(operation), actor=actor,
                 summary=f"{operation} by {actor or 'unknown account'}{outcome}", details=details)


def _hours(start: datetime, end: datetime) -> list[datetime]:
    hours = []
    moment = floor_hour(start)
    while moment <= end:
        hours.append(moment)
        moment += timedelta(hours=1)
    return hours


def hourly_series(rows: Iterable[dict[str, Any]], window_start: str, collected_at: str) -> tuple[HourPoint, ...]:
    """Every hour of the window with the rows' outbound and spam totals (0 when quiet)."""
    outbound: dict[str, int] = {}
    spam: dict[str, int] = {}
    for row in rows:
        hour = row["hour"] if row["hour"].endswith(":00:00Z") else format_time(floor_hour(parse_time(row["hour"])))
        outbound[hour] = outbound.get(hour, 0) + row["outbound"]
        if row.get("spam") is not None:
            spam[hour] = spam.get(hour, 0) + row["spam"]
    start, end = parse_time(window_start), parse_time(collected_at)
    if outbound:
        start = min(start, parse_time(min(outbound)))
        end = max(end, parse_time(max(outbound)))
    return tuple(
        HourPoint(hour=h, outbound=outbound.get(h, 0), spam=spam.get(h))
        for h in (format_time(m) for m in _hours(start, end))
    )


def find_spike(series: tuple[HourPoint, ...], collected_at: str, flagged: bool) -> tuple[str | None, int]:
    """(first spike hour, peak hour volume) in the last 24 hours.

    The rule's test: an hour at or above max(SPIKE_RATIO x the median earlier hour,
    SPIKE_MIN_MESSAGES). When the scan flagged a spike (its thresholds may be configured
    differently) and that test finds none, the spike starts at the first recent hour
    carrying at least half the peak.
    """
    cutoff = parse_time(collected_at) - timedelta(hours=RECENT_HOURS)
    recent = [p for p in series if parse_time(p.hour) >= cutoff]
    earlier = [p.outbound for p in series if parse_time(p.hour) < cutoff]
    peak = max((p.outbound for p in recent), default=0)
    threshold = max(SPIKE_RATIO * (median(earlier) if earlier else 0), SPIKE_MIN_MESSAGES)
    for point in recent:
        if point.outbound >= threshold:
            return point.hour, peak
    if flagged and peak > 0:
        for point in recent:
            if point.outbound * 2 >= peak:
                return point.hour, peak
    return None, peak


def spam_share(series: tuple[HourPoint, ...], since: str) -> float | None:
    """Share of outbound messages filtered as spam from `since` on (None: no spam data)."""
    rows = [p for p in series if p.hour >= since and p.spam is not None]
    total = sum(p.outbound for p in rows)
    if not rows or total == 0:
        return None
    return sum(p.spam or 0 for p in rows) / total


def _host(text: str) -> str | None:
    """The address of a single-host entry (`198.51.100.7`, `198.51.100.7/32`); None for a range."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return str(network.network_address) if network.num_addresses == 1 else None


def _sender_ips(rows: Iterable[dict[str, Any]], since: str, record: dict[str, Any] | None) -> tuple[str, ...]:
    """Addresses that sent through the connector since `since`; else its configured single
    addresses (message trace's FromIP takes one address, not a range)."""
    seen: set[str] = set()
    for row in rows:
        if row["hour"] >= since:
            seen.update(filter(None, (_host(ip) for ip in row.get("sender_ips") or [] if ip)))
    if not seen and record is not None:
        seen.update(filter(None, (_host(cidr) for cidr in record.get("sender_ip_addresses") or [])))
    return tuple(sorted(seen, key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a))))


def build(snapshot: dict[str, Any], index: FactIndex, identity: str, guid: str | None,
          record: dict[str, Any] | None, flagged_spike: bool) -> ConnectorTimeline:
    """The timeline of one connector (`record` is its inbound_connectors entry, if it still exists)."""
    collected_at = snapshot["collected_at"]
    names = {identity.lower()}
    if record is not None:
        names.update(n.lower() for n in (record.get("identity"), record.get("name")) if n)
    trail, names = index.audit_trail(names)
    events = [_audit_event(e) for e in trail]
    if record is not None and record.get("when_created") and not any(e.kind == "created" for e in events):
        events.append(Event(time=record["when_created"], kind="created",
                            summary="Connector created (WhenCreated; no audit record in the window)"))
    actors = sorted({e["actor"] for e in trail if e.get("actor") and e.get("succeeded") is not False})
    alerts = {id(a): a for n in names for a in index.alerts_by_name.get(n, [])}
    for alert in alerts.values():
        events.append(Event(time=alert["created"], kind="alert",
                            summary=f"Alert: {alert['title']}" + (f" ({alert['severity']})" if alert.get("severity") else ""),
                            details={k: alert[k] for k in ("id", "status", "ip_addresses", "domains", "url") if alert.get(k)}))
    for blocked in index.blocked:
        by_guid = guid and _lower(blocked.get("connector_id")) == guid.lower()
        if by_guid or _lower(blocked.get("connector_name")) in names:
            events.append(Event(time=blocked.get("blocked_at"), kind="blocked",
                                summary="Blocked: added to Restricted entities",
                                details={k: blocked[k] for k in ("reason", "connector_id") if blocked.get(k)}))
    for admin in (index.admins[a] for a in actors if a in index.admins):
        for sign_in in admin.get("sign_ins") or []:
            level = _lower(sign_in.get("risk_level"))
            if level in RISKY_LEVELS or sign_in.get("risk_event_types"):
                events.append(Event(time=sign_in["time"], kind="risky-sign-in", actor=admin["upn"],
                                    summary=f"Risky sign-in by {admin['upn']} (risk {level or 'flagged'})",
                                    details={k: sign_in[k] for k in ("ip", "country", "app", "risk_event_types") if sign_in.get(k)}))
    rows = index.stats(names, guid)
    series = hourly_series(rows, snapshot["window"]["start"], collected_at)
    spike_start, peak = find_spike(series, collected_at, flagged_spike)
    if spike_start is not None:
        events.append(Event(time=spike_start, kind="spike-start",
                            summary=f"Outbound spike starts (peak {peak} messages in an hour)"))
    trace_end = collected_at
    default_start = format_time(parse_time(collected_at) - timedelta(hours=48))
    trace_start = max(spike_start or default_start, format_time(parse_time(collected_at) - timedelta(days=10)))
    return ConnectorTimeline(
        identity=identity, guid=guid, names=tuple(sorted(names)),
        events=tuple(sorted(events, key=Event.sort_key)), series=series,
        spike_start=spike_start, peak=peak, spam_share=spam_share(series, trace_start),
        trace_start=trace_start, trace_end=trace_end,
        sender_ips=_sender_ips(rows, trace_start, record), actors=tuple(actors),
    )
