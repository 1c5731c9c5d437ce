"""Baseline differences as a terminal table, JSON, or Markdown for a pull-request comment."""

from __future__ import annotations

import json
from typing import Any

from connguard.baseline.diff import Change
from connguard.baseline.drift import format_value, summarise

FORMATS = ("table", "json", "markdown")
_SECTION_LABEL = {
    "tenant": "tenant",
    "approved_admins": "approved admins",
    "accepted_domains": "accepted domains",
    "inbound_connectors": "inbound connector",
    "outbound_connectors": "outbound connector",
}


def _subject(change: Change) -> str:
    if change.connector is None:
        return "-"
    if change.old_identity and change.old_identity != change.connector:
        return f"{change.connector} (was {change.old_identity})"
    return change.connector


def _detail(change: Change) -> str:
    if change.kind == "added":
        return "connector added (not in OLD)"
    if change.kind == "removed":
        return "connector removed (not in NEW)"
    if change.added or change.removed:
        return summarise(change).split(": ", 1)[1]
    return f"{format_value(change.before)} -> {format_value(change.after)}"


def rows(changes: list[Change]) -> list[tuple[str, str, str, str]]:
    """(what, name, field, detail) per change: the columns of the table and Markdown forms."""
    return [(_SECTION_LABEL[c.section], _subject(c), c.field or "-", _detail(c)) for c in changes]


def render_table(changes: list[Change], old: str, new: str) -> str:
    if not changes:
        return f"No differences between {old} and {new}.\n"
    header = ("WHAT", "NAME", "FIELD", "CHANGE")
    table = [header, *rows(changes)]
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    lines = [f"{len(changes)} difference(s) between {old} (OLD) and {new} (NEW):", ""]
    for r in table:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(changes: list[Change], old: str, new: str) -> str:
    if not changes:
        return f"**connguard baseline diff**: no differences between `{old}` and `{new}`.\n"
    lines = [f"**connguard baseline diff**: {len(changes)} difference(s) between `{old}` (old) and `{new}` (new)",
             "", "| what | name | field | change |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(_md(cell) for cell in r)} |" for r in rows(changes)]
    return "\n".join(lines) + "\n"


def render_json(changes: list[Change], old: str, new: str) -> str:
    document: dict[str, Any] = {"old": old, "new": new, "differs": bool(changes),
                                "changes": [c.to_dict() for c in changes]}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(fmt: str, changes: list[Change], old: str, new: str) -> str:
    """Render in `fmt` (one of FORMATS)."""
    return {"table": render_table, "json": render_json, "markdown": render_markdown}[fmt](changes, old, new)
