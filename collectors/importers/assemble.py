"""Turn the gathered facts and the ledger into a snapshot v1 document.

Every source gets a status a rule can trust: `missing` when no export of that kind was
given (its rules are then not evaluated), `partial` when rows were rejected or a file
could not be read to its end, `ok` otherwise. Facts are sorted so the same exports always
give the same snapshot bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connguard.collectors.importers.ledger import Ledger
from connguard.collectors.importers.state import ImportState

from connguard import snapshot
from connguard.errors import InputError
from connguard.normalize import format_time, parse_time

COLLECTOR_NAME = "connguard-import"
# Without both, the admin facts cannot say who holds a role or who is at risk.
_ADMIN_EXPORTS = ("roleAssignments", "riskyUsers")


class NoTimeError(InputError):
    """Nothing in the exports says when they were taken, and --as-of was not given."""


def _tenant_domain(state: ImportState) -> str:
    domains = sorted(state.accepted.values(), key=lambda d: d["domain"])
    for test in (lambda d: d.get("initial"), lambda d: d["domain"].endswith(".onmicrosoft.com"),
                 lambda d: d.get("default")):
        for domain in domains:
            if test(domain):
                return domain["domain"]
    if state.tenant_name:
        return state.tenant_name.lower()
    return domains[0]["domain"] if domains else "unknown"


def _span(state: ImportState, as_of: datetime | None) -> tuple[datetime, datetime]:
    """(window start, collected_at): --as-of or the newest event, back to the oldest."""
    earliest, latest = state.earliest, state.latest
    if state.mail is not None and state.mail.earliest is not None:
        earliest = min(filter(None, (earliest, state.mail.earliest)))
        latest = max(filter(None, (latest, state.mail.latest)))
    if latest is None:
        changed = [parse_time(c["when_changed"]) for c in [*state.inbound.values(), *state.outbound.values()]
                   if c.get("when_changed")]
        latest = max(changed) if changed else None
        earliest = min(changed) if changed else None
    end = as_of or latest
    if end is None:
        raise NoTimeError("the exports hold no timestamps to date the snapshot by: pass --as-of TIMESTAMP")
    start = min(earliest, end) if earliest is not None else end
    return start, end


def _source(ledger: Ledger, name: str, count: int) -> dict[str, Any]:
    log = ledger.sources.get(name)
    if log is None or not log.files:
        return {"status": "missing", "reason": "no export of this kind was imported", "count": 0,
                "origin": "import", "files": [], "errors": [], "errors_total": 0}
    status = "partial" if log.errors_total else "ok"
    reason = f"{log.errors_total} rejected row(s) or unreadable part(s)" if log.errors_total else None
    return {
        "status": status, "reason": reason, "count": count, "origin": "import",
        "files": [f.as_snapshot() for f in sorted(log.files, key=lambda f: f.name)],
        "errors": list(log.errors), "errors_total": log.errors_total,
    }


def build(state: ImportState, ledger: Ledger, *, as_of: datetime | None) -> dict[str, Any]:
    """The snapshot dict (validated later by `snapshot.save`)."""
    start, end = _span(state, as_of)
    data = snapshot.empty(
        tenant_domain=_tenant_domain(state), tenant_id=state.tenant_id, tenant_name=None,
        collected_at=format_time(end), window_start=format_time(start), window_end=format_time(end),
        collector=COLLECTOR_NAME, mode="import",
    )
    facts = {
        "inbound_connectors": sorted(state.inbound.values(), key=lambda c: c["identity"].lower()),
        "outbound_connectors": sorted(state.outbound.values(), key=lambda c: c["identity"].lower()),
        "accepted_domains": sorted(state.accepted.values(), key=lambda d: d["domain"]),
        "blocked_connectors": sorted(state.blocked.values(),
                                     key=lambda b: (b["connector_name"] or "", b["connector_id"] or "")),
        "audit_events": sorted(state.audit.values(), key=lambda e: (e["time"], e["id"])),
        "alerts": sorted(state.alerts.values(), key=lambda a: (a["created"], a["id"])),
        "admins": state.admins.facts(),
        "mail_stats": state.mail.facts() if state.mail is not None else [],
    }
    data["facts"] = facts
    data["sources"] = {name: _source(ledger, name, len(facts[name])) for name in snapshot.FACT_SETS}
    mail_source = data["sources"]["mail_stats"]
    if state.mail is not None and mail_source["status"] != "missing":
        mail_source["unavailable_fields"] = state.mail.unavailable_fields()
    admins = data["sources"]["admins"]
    absent = [part for part in _ADMIN_EXPORTS if part not in state.admin_kinds]
    if admins["status"] == "ok" and absent:
        admins["status"] = "partial"
        admins["reason"] = f"no {' or '.join(absent)} export was imported"
    return data
