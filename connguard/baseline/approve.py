"""Fold intended changes from a snapshot into the baseline, one named connector at a time.

Approval is a file edit, not a state change in connguard: the command rewrites the
baseline, and the team reviews and merges that diff like any other code change. Only what
was asked for moves: the named connectors (or `--all`), and for a connector already in
the baseline only the fields the baseline names, so a field deliberately left out of
comparison stays out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from connguard.baseline.diff import Change, diff, match_connectors
from connguard.baseline.fields import DIRECTIONS, FIELDS
from connguard.baseline.load import BaselineError


def _approve_section(section: str, records: list[dict[str, Any]], current: list[dict[str, Any]],
                     wanted: set[str] | None, note: str | None, found: set[str]) -> list[dict[str, Any]]:
    """The section's new records. `wanted` is the casefolded names to approve (None: all)."""

    def chosen(*names: str) -> bool:
        if wanted is None:
            return True
        hits = {n.casefold() for n in names} & wanted
        found.update(hits)
        return bool(hits)

    pairing = match_connectors(records, current)
    result = []
    for old, new in pairing.pairs:
        if not chosen(old["identity"], new["identity"]):
            result.append(old)
            continue
        updated = dict(old)
        updated["identity"] = new["identity"]
        if new.get("guid"):
            updated["guid"] = new["guid"]
        for name in FIELDS[section]:
            if name in old and name in new:
                updated[name] = new[name]
        if note is not None and updated != old:
            updated["note"] = note  # the note explains a change: an unchanged connector keeps its own
        result.append(updated)
    for old in pairing.only_old:
        if not chosen(old["identity"]):
            result.append(old)
    for new in pairing.only_new:
        if chosen(new["identity"]):
            result.append({**new, **({"note": note} if note is not None else {})})
    return sorted(result, key=lambda r: r["identity"].casefold())


def approve(baseline: dict[str, Any], current: dict[str, Any], *, connectors: Iterable[str] = (),
            all_connectors: bool = False, accepted_domains: bool = False,
            note: str | None = None) -> tuple[dict[str, Any], list[Change]]:
    """Return the updated baseline and what changed in it.

    `current` is the snapshot in baseline form (`model.from_snapshot`). A named connector
    present in the snapshot is added or updated; one present only in the baseline is
    removed (its removal was intended). Raises BaselineError for a name found in neither.
    """
    wanted = None if all_connectors else {n.strip().casefold() for n in connectors}
    updated = copy.deepcopy(baseline)
    found: set[str] = set()
    for section in DIRECTIONS:
        if section in baseline and section in current:
            updated[section] = _approve_section(section, baseline[section], current[section], wanted, note, found)
    if wanted is not None:
        missing = sorted(wanted - found)
        if missing:
            raise BaselineError(f"--connector {missing[0]!r}: no such connector in the baseline or the snapshot "
                                "(or the snapshot could not read that kind of connector)")
    if accepted_domains:
        if "accepted_domains" not in current:
            raise BaselineError("--accepted-domains: the snapshot could not read the accepted domains")
        updated["accepted_domains"] = dict(current["accepted_domains"])
    return updated, diff(baseline, updated)
