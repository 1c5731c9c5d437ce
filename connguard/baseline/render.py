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
        return "connector added"
    if change.kind == "removed":
        return "connector removed"
    if change.added or change.removed:
        return summarise(change).split(": ", 1)[1]
    return f"{format_value(change.before)} -> {format_value(change.after)}"


def rows(changes: list[Change]) -> list[tuple[str, str, str, str]]:
    """(what, name, field, detail) per change: the columns of the table and Markdown forms."""
    return [(_SECTION_LABEL[c.section], _subject(c), c.field or "-", _detail(c)) for c in changes]


def _heading(changes: list[Change], old: str, new: str, markdown: bool) -> str:
    quote = "`" if markdown else ""
    if not changes:
        return f"no differences between {quote}{old}{quote} and {quote}{new}{quote}."
    return f"{len(changes)} difference(s) between {quote}{old}{quote} (old) and {quote}{new}{quote} (new):"


def render_table(changes: list[Change], old: str, new: str, heading: str | None = None) -> str:
    title = heading or _heading(changes, old, new, markdown=False)
    if not changes:
        return title[0].upper() + title[1:] + "\n"
    header = ("WHAT", "NAME", "FIELD", "CHANGE")
    table = [header, *rows(changes)]
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    lines = [title[0].upper() + title[1:], ""]
    for r in table:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(changes: list[Change], old: str, new: str, heading: str | None = None) -> str:
    title = heading or f"**connguard baseline diff**: {_heading(changes, old, new, markdown=True)}"
    if not changes:
        return title + "\n"
    lines = [title, "", "| what | name | field | change |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(_md(cell) for cell in r)} |" for r in rows(changes)]
    return "\n".join(lines) + "\n"


def render_json(changes: list[Change], old: str, new: str, heading: str | None = None) -> str:
    del heading  # JSON readers have `old`, `new` and `differs`
    document: dict[str, Any] = {"old": old, "new": new, "differs": bool(changes),
                                "changes": [c.to_dict() for c in changes]}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(fmt: str, changes: list[Change], old: str, new: str, *, heading: str | None = None) -> str:
    """Render in `fmt` (one of FORMATS); `heading` replaces the summary line of table and Markdown."""
    writer = {"table": render_table, "json": render_json, "markdown": render_markdown}[fmt]
    return writer(changes, old, new, heading)
