"""Field-level differences between two normalised baselines (either may come from a snapshot).

Only what both sides name is compared: a section or connector field one side leaves out
(a baseline that dropped `comment`, a snapshot whose collector could not read outbound
connectors, a field Microsoft added later) is skipped, never reported as drift. Values are
already normalised (`fields.normalise`), so what remains different is a real change.
Connectors are matched by GUID when both sides know it (so a rename shows as a changed
`identity`), otherwise by name, case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from dataclasses import field as _dc_field
from typing import Any

from connguard.baseline.fields import DIRECTIONS, FIELDS, IDENTITY, Field, compare_key
from connguard.baseline.model import describe_tenant

SECTION_ORDER = ("tenant", "approved_admins", "accepted_domains", *DIRECTIONS)


@dataclass(frozen=True)
class Change:
    """One difference. `kind` is `changed` (a field), `added` or `removed` (a whole connector).

    For list fields `added`/`removed` say which entries; for scalars they are empty and
    `before`/`after` tell the story.
    """

    section: str
    kind: str
    field: str | None = None
    connector: str | None = None
    guid: str | None = None
    old_identity: str | None = None
    before: Any = None
    after: Any = None
    added: list[str] = _dc_field(default_factory=list)
    removed: list[str] = _dc_field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Pairing:
    """How the connectors of one section line up between old and new."""

    pairs: list[tuple[dict[str, Any], dict[str, Any]]]
    only_old: list[dict[str, Any]]
    only_new: list[dict[str, Any]]


def match_connectors(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Pairing:
    """Pair connectors by GUID where both sides have one, then by name (case-insensitive)."""
    new_by_guid = {r["guid"]: r for r in new if r.get("guid")}
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    used: set[int] = set()
    unmatched_old = []
    for record in old:
        partner = new_by_guid.get(record.get("guid") or "")
        if partner is not None and id(partner) not in used:
            pairs.append((record, partner))
            used.add(id(partner))
        else:
            unmatched_old.append(record)
    # By name only against connectors whose GUID did not already identify someone else.
    old_guids = {r["guid"] for r in old if r.get("guid")}
    new_by_name = {
        r["identity"].casefold(): r
        for r in new
        if id(r) not in used and not (r.get("guid") and r["guid"] in old_guids)
    }
    only_old = []
    for record in unmatched_old:
        partner = new_by_name.get(record["identity"].casefold())
        guids_conflict = partner is not None and record.get("guid") and partner.get("guid")
        if partner is not None and id(partner) not in used and not guids_conflict:
            pairs.append((record, partner))
            used.add(id(partner))
        else:
            only_old.append(record)
    only_new = [r for r in new if id(r) not in used]
    return Pairing(pairs, only_old, only_new)


def _list_change(before: list[str], after: list[str]) -> tuple[list[str], list[str]]:
    after_set, before_set = set(after), set(before)
    return [v for v in after if v not in before_set], [v for v in before if v not in after_set]


def compare_field(spec: Field, before: Any, after: Any) -> tuple[list[str], list[str]] | None:
    """None when equal; else (added, removed) (both empty for a scalar field)."""
    if compare_key(spec, before) == compare_key(spec, after):
        return None
    return _list_change(before, after) if spec.is_list else ([], [])


def connector_changes(section: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    """Changes between two matched connector records, in the field table's order."""
    ids = {"connector": new["identity"], "guid": new.get("guid") or old.get("guid"), "old_identity": old["identity"]}
    if compare_field(IDENTITY, old["identity"], new["identity"]) is not None:
        yield Change(section, "changed", "identity", before=old["identity"], after=new["identity"], **ids)
    for name, spec in FIELDS[section].items():
        if name not in old or name not in new:
            continue
        delta = compare_field(spec, old[name], new[name])
        if delta is not None:
            yield Change(section, "changed", name, before=old[name], after=new[name],
                         added=delta[0], removed=delta[1], **ids)


def _connector_section(section: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    pairing = match_connectors(old, new)
    changes = [c for o, n in pairing.pairs for c in connector_changes(section, o, n)]
    changes += [Change(section, "added", connector=r["identity"], guid=r.get("guid"), after=r)
                for r in pairing.only_new]
    changes += [Change(section, "removed", connector=r["identity"], guid=r.get("guid"), before=r)
                for r in pairing.only_old]
    return changes


def _accepted_domains(old: dict[str, str | None], new: dict[str, str | None]) -> list[Change]:
    changes = []
    added = [d for d in new if d not in old]
    removed = [d for d in old if d not in new]
    if added or removed:
        changes.append(Change("accepted_domains", "changed", "accepted_domains",
                              before=sorted(old), after=sorted(new), added=added, removed=removed))
    for domain in sorted(set(old) & set(new)):
        # A hand-written list of domains has no types: a type is compared only when both name one.
        before, after = old[domain], new[domain]
        if before and after and before.casefold() != after.casefold():
            changes.append(Change("accepted_domains", "changed", f"accepted_domains[{domain}].domain_type",
                                  before=before, after=after))
    return changes


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every difference between two normalised baselines, sorted for stable output.

    The caller decides whether different tenants may be compared (see `same_tenant`);
    when they differ anyway, that is the first change listed.
    """
    changes: list[Change] = []
    if old["tenant"] != new["tenant"]:
        changes.append(Change("tenant", "changed", "tenant", before=describe_tenant(old["tenant"]),
                              after=describe_tenant(new["tenant"])))
    if "approved_admins" in old and "approved_admins" in new:
        added, removed = _list_change(old["approved_admins"], new["approved_admins"])
        if added or removed:
            changes.append(Change("approved_admins", "changed", "approved_admins", before=old["approved_admins"],
                                  after=new["approved_admins"], added=added, removed=removed))
    if "accepted_domains" in old and "accepted_domains" in new:
        changes += _accepted_domains(old["accepted_domains"], new["accepted_domains"])
    for section in DIRECTIONS:
        if section in old and section in new:
            changes += _connector_section(section, old[section], new[section])
    return sorted(changes, key=_sort_key)


_KIND_ORDER = {"removed": 0, "changed": 1, "added": 2}


def _sort_key(change: Change) -> tuple[Any, ...]:
    fields_order = list(FIELDS.get(change.section, {}))
    position = -1 if change.field == "identity" else (
        fields_order.index(change.field) if change.field in fields_order else len(fields_order))
    return (SECTION_ORDER.index(change.section), (change.connector or "").casefold(),
            _KIND_ORDER[change.kind], position, change.field or "")
