"""A snapshot seen as a baseline: the one normalised shape that save, diff and drift share.

Both a baseline file (`load.load_baseline`) and a snapshot (`from_snapshot`) become the
same dict: `version`, `tenant`, and the sections they can speak for (`approved_admins`,
`accepted_domains`, `inbound_connectors`, `outbound_connectors`). A section whose source
the snapshot could not read is left out, so missing data is never mistaken for "every
connector was removed".
"""

from __future__ import annotations

from typing import Any

from connguard.baseline.fields import DIRECTIONS, FIELDS, FieldValueError, normalise
from connguard.baseline.load import BASELINE_VERSION, BaselineError
from connguard.normalize import normalize_domain, normalize_upn

# Sources whose facts are complete enough to stand for "what the tenant has".
_READABLE = ("ok", "partial")


def _readable(snapshot: dict[str, Any], source: str) -> bool:
    return snapshot.get("sources", {}).get(source, {}).get("status") in _READABLE


def _connector_record(section: str, fact: dict[str, Any], where: str = "<snapshot>",
                      unavailable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The baseline record of one snapshot connector: identity, guid and every compared
    field the snapshot has. A field the collector could not read (absent, or listed in the
    source's `unavailable_fields`) stays absent, so it is not compared.

    `where` (origin and JSON path of the fact) names the value in a BaselineError.
    """
    record: dict[str, Any] = {"identity": " ".join(str(fact["identity"]).split())}
    if fact.get("guid"):
        record["guid"] = str(fact["guid"]).strip().lower()
    for name, field in FIELDS[section].items():
        if name in fact and name not in unavailable:
            try:
                record[name] = normalise(field, fact[name])
            except FieldValueError as exc:
                raise BaselineError(f"{where}.{name}: {exc}") from None
    return record


def from_snapshot(snapshot: dict[str, Any], *, origin: str = "<snapshot>") -> dict[str, Any]:
    """The snapshot's tenant in baseline form (raises BaselineError on a duplicate connector)."""
    tenant = snapshot["tenant"]
    result: dict[str, Any] = {
        "version": BASELINE_VERSION,
        "tenant": {"id": (tenant.get("id") or "").strip().lower() or None, "domain": normalize_domain(tenant["domain"])},
    }
    facts = snapshot.get("facts", {})
    if _readable(snapshot, "admins"):
        # Holders of a directory role are the starting point; the reviewer prunes the list.
        result["approved_admins"] = sorted(
            {normalize_upn(a["upn"]) for a in facts.get("admins", []) if a.get("roles") and normalize_upn(a["upn"])}
        )
    if _readable(snapshot, "accepted_domains"):
        result["accepted_domains"] = dict(sorted(
            (normalize_domain(d["domain"]), d.get("domain_type")) for d in facts.get("accepted_domains", [])
        ))
    for section in DIRECTIONS:
        if not _readable(snapshot, section):
            continue
        records: dict[str, dict[str, Any]] = {}
        unavailable = frozenset(snapshot["sources"][section].get("unavailable_fields") or [])
        for index, fact in enumerate(facts.get(section, [])):
            record = _connector_record(section, fact, f"{origin}: $.facts.{section}[{index}]", unavailable)
            key = record["identity"].casefold()
            if key in records:
                raise BaselineError(f"{origin}: $.facts.{section}[{index}]: connector {record['identity']!r} "
                                    "appears twice in the snapshot")
            records[key] = record
        result[section] = [records[k] for k in sorted(records)]
    return result


def same_tenant(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Tenant ids decide when both sides have one; otherwise the primary domains."""
    if a.get("id") and b.get("id"):
        return bool(a["id"] == b["id"])
    return bool(a["domain"] == b["domain"])


def describe_tenant(tenant: dict[str, Any]) -> str:
    return f"{tenant['domain']} ({tenant['id']})" if tenant.get("id") else tenant["domain"]
