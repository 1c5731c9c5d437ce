"""Finding message templates: `{name}`, `{dotted.path}`, `{{`/`}}` for literal braces.

Parsed once at load so a placeholder naming nothing in the context is a load error; at
run time a value that is missing renders as `?` instead of failing the rule, because a
finding with an imperfect message is worth more than no finding.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*$")


@dataclass(frozen=True)
class Template:
    """A message as literal text and dotted paths, alternating."""

    parts: tuple[str | tuple[str, ...], ...]

    def render(self, context: dict[str, Any], params: dict[str, Any]) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(_text(_lookup(part, context, params)))
        return "".join(out)


def parse(text: str) -> tuple[Template | None, list[str]]:
    """Parse a template; return it (or None) and the problems found."""
    parts: list[str | tuple[str, ...]] = []
    problems: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        literal = text[pos : m.start()]
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            parts.append(literal + token[0])
            continue
        if m.group(1) is None:
            problems.append(f"unbalanced {token!r} in message (write {token * 2} for a literal brace)")
            continue
        name = m.group(1).strip()
        if not _NAME.match(name):
            problems.append(f"bad placeholder {{{m.group(1)}}} in message (use {{name}} or {{dotted.path}})")
            continue
        parts.extend([literal, tuple(name.split("."))])
    parts.append(text[pos:])
    merged: list[str | tuple[str, ...]] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return (None if problems else Template(tuple(merged))), problems


def placeholders(template: Template) -> list[tuple[str, ...]]:
    """The dotted paths a template reads (for load-time checks)."""
    return [p for p in template.parts if isinstance(p, tuple)]


_MISSING = object()


def _lookup(path: tuple[str, ...], context: dict[str, Any], params: dict[str, Any]) -> Any:
    head = path[0]
    value: Any = context.get(head, _MISSING)
    if value is _MISSING:
        value = params.get(head, _MISSING)
    for step in path[1:]:
        if isinstance(value, dict):
            value = value.get(step, _MISSING)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def _text(value: Any) -> str:
    if value is _MISSING or value is None:
        return "?"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0")
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)
