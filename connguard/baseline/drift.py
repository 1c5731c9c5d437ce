"""Drift of a snapshot from its baseline, precomputed for the declarative drift rules.

The rule language has no notion of "match these two lists of connectors by GUID and
compare normalised fields", so this module does that once and hands rules a flat view:
`unapproved` (connectors the baseline does not know), `changes` (one entry per connector
and field) and `removed` (baselined connectors that are gone). Each entry says, from the
audit log, who did it and when, and whether that actor is an approved admin; when the
log has no matching record, or was not collected, the entry says so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connguard.baseline.diff import Change, connector_changes, match_connectors
from connguard.baseline.fields import DIRECTIONS, FIELDS, IDENTITY
from connguard.baseline.model import from_snapshot
from connguard.normalize import normalize_upn

_READABLE = ("ok", "partial")
_CONNECTOR_OPERATIONS = frozenset(
    f"{verb}-{noun}".casefold() for verb in ("New", "Set", "Remove") for noun in DIRECTIONS.values()
)


def format_value(value: Any) -> str:
    """A value as a reviewer reads it: `true`, `null`, `a, b` (`(none)` for an empty list)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "(none)"
    return str(value)


def summarise(change: Change) -> str:
    """`sender_ip_addresses: added 198.51.100.9/32` or `require_tls: true -> false`."""
    if change.added or change.removed:
        parts = []
        if change.added:
            parts.append("added " + ", ".join(change.added))
        if change.removed:
            parts.append("removed " + ", ".join(change.removed))
        return f"{change.field}: {'; '.join(parts)}"
    return f"{change.field}: {format_value(change.before)} -> {format_value(change.after)}"


class _AuditIndex:
    """Successful connector cmdlets up to the snapshot's time, newest first per target."""

    def __init__(self, events: Iterable[dict[str, Any]] | None, collected_at: str) -> None:
        self.collected = events is not None
        self.by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for event in events or []:
            operation = event["operation"].casefold()
            if operation not in _CONNECTOR_OPERATIONS or event.get("succeeded") is False or not event.get("target"):
                continue
            # Snapshot times are one fixed-width UTC form, so text order is time order.
            if event["time"] > collected_at:
                continue
            key = (operation, event["target"].strip().casefold())
            self.by_key.setdefault(key, []).append(event)
        for bucket in self.by_key.values():
            bucket.sort(key=lambda e: (e["time"], e["id"]), reverse=True)

    def latest(self, operation: str, targets: Iterable[str], parameter: str | None = None) -> dict[str, Any] | None:
        """The newest `operation` on any of `targets` (that set `parameter`, if given)."""
        found = []
        for target in {t.casefold() for t in targets if t}:
            for event in self.by_key.get((operation.casefold(), target), []):
                names = {str(n).casefold() for n in (event.get("parameters") or {})}
                if parameter is None or parameter.casefold() in names:
                    found.append(event)
                    break
        return max(found, key=lambda e: (e["time"], e["id"])) if found else None


def _attribution(event: dict[str, Any] | None, verb: str, audit_collected: bool,
                 approved: set[str]) -> dict[str, Any]:
    if event is None:
        reason = ("no audit record" if audit_collected
                  else "no audit record: audit events were not collected")
        return {"actor": None, "actor_approved": None, "changed_at": None, "audit_event_id": None,
                "audited": False, "attribution": reason}
    actor = normalize_upn(event.get("actor"))
    if not approved:
        actor_approved, status = None, "no approved admins are listed to check against"
    else:
        actor_approved = actor in approved
        status = "an approved admin" if actor_approved else "NOT an approved admin"
    return {"actor": actor, "actor_approved": actor_approved, "changed_at": event["time"],
            "audit_event_id": event["id"], "audited": True,
            "attribution": f"{verb} by {actor or 'an unknown actor'} at {event['time']} ({status})"}


def _targets(*records: dict[str, Any]) -> list[str]:
    """Names an audit record may give the connector by: its names, and its GUID (an admin
    may run `Set-InboundConnector -Identity <guid>`)."""
    return [value for r in records for value in (r["identity"], r.get("guid")) if value]


def _field_position(change: dict[str, Any]) -> int:
    """Changes of one connector in the order of the field table (identity first)."""
    order = ["identity", *FIELDS[f"{change['direction']}_connectors"]]
    return order.index(change["field"])


def _status(snapshot: dict[str, Any], source: str) -> str | None:
    status = snapshot.get("sources", {}).get(source, {}).get("status")
    return str(status) if status is not None else None


def compute(snapshot_data: dict[str, Any], baseline_doc: dict[str, Any],
            approved_admins: Iterable[str] = ()) -> dict[str, Any]:
    """Drift of `snapshot_data` from the normalised `baseline_doc`.

    `approved_admins` (e.g. config `organization.approved_admins`) adds to the baseline's
    own list. Returns JSON-compatible `{"unapproved", "changes", "removed", "not_compared"}`,
    each list sorted so findings come out in a stable order.
    """
    current = from_snapshot(snapshot_data)
    approved = {upn for a in [*baseline_doc.get("approved_admins", []), *approved_admins]
                if (upn := normalize_upn(a)) is not None}
    audit_ok = _status(snapshot_data, "audit_events") in _READABLE
    audit = _AuditIndex(snapshot_data["facts"].get("audit_events") if audit_ok else None,
                        snapshot_data["collected_at"])
    facts_by_name = {
        section: {" ".join(f["identity"].split()).casefold(): f for f in snapshot_data["facts"].get(section, [])}
        for section in DIRECTIONS
    }
    result: dict[str, list[Any]] = {"unapproved": [], "changes": [], "removed": [], "not_compared": []}
    for section, noun in DIRECTIONS.items():
        direction = section.split("_", 1)[0]
        if section not in baseline_doc:
            result["not_compared"].append(f"{section}: the baseline does not list them")
            continue
        status = _status(snapshot_data, section)
        if section not in current:
            result["not_compared"].append(f"{section}: the snapshot could not read them (source {status})")
            continue
        pairing = match_connectors(baseline_doc[section], current[section])
        for old, new in pairing.pairs:
            for change in connector_changes(section, old, new):
                spec = IDENTITY if change.field == "identity" else FIELDS[section][change.field or ""]
                event = audit.latest(f"Set-{noun}", _targets(old, new), spec.parameter)
                result["changes"].append({
                    "direction": direction, "connector": change.connector, "guid": change.guid,
                    "baseline_identity": change.old_identity, "field": change.field,
                    "before": change.before, "after": change.after,
                    "added": change.added, "removed": change.removed, "summary": summarise(change),
                    **_attribution(event, "changed", audit.collected, approved),
                })
        for record in pairing.only_new:
            fact = dict(facts_by_name[section].get(record["identity"].casefold(), record))
            event = audit.latest(f"New-{noun}", _targets(record))
            result["unapproved"].append({**fact, "direction": direction,
                                         **_attribution(event, "created", audit.collected, approved)})
        if status == "partial" and pairing.only_old:
            # A partial read may simply have missed these: do not claim they were removed.
            result["not_compared"].append(
                f"{section}: removal not judged, the snapshot read them only partially")
        else:
            for record in pairing.only_old:
                event = audit.latest(f"Remove-{noun}", _targets(record))
                result["removed"].append({**record, "direction": direction,
                                          **_attribution(event, "removed", audit.collected, approved)})
    result["changes"].sort(key=lambda c: (c["direction"], c["connector"].casefold(), _field_position(c)))
    for key in ("unapproved", "removed"):
        result[key].sort(key=lambda c: (c["direction"], c["identity"].casefold()))
    return result
