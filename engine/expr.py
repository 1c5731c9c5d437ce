"""Compiling a rule's JMESPath expressions once, with checks JMESPath itself defers.

`jmespath.compile` catches syntax errors, but an unknown function name or a
`param('typo')` only fails when the expression first runs, which for a rule may be the
one scan that mattered. Walking the parsed tree at load time turns both into load errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jmespath
from connguard.engine.fastpath import Expr
from connguard.engine.functions import NAMES
from jmespath import exceptions as jexc
from jmespath import functions as jfunctions

BUILTINS: frozenset[str] = frozenset(jfunctions.Functions.FUNCTION_TABLE)
Path = tuple[Any, ...]


@dataclass
class Problems:
    """Load problems collected for one file as (path within the document, message)."""

    items: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, path: Path, message: str) -> None:
        self.items.append((tuple(path), message))


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.get("children", []):
            yield from _nodes(child)


def compile_expr(text: Any, path: Path, problems: Problems, params: dict[str, Any]) -> Expr | None:
    """Compile `text` (to closures, see fastpath); record a problem and return None if it cannot work."""
    if not isinstance(text, str) or not text.strip():
        problems.add(path, "expected a JMESPath expression")
        return None
    try:
        compiled = jmespath.compile(text)
    except jexc.JMESPathError as exc:
        msg, pos = getattr(exc, "msg", None), getattr(exc, "lex_position", None)
        detail = f"{msg} at character {pos}" if msg and pos is not None else str(exc).splitlines()[0]
        problems.add(path, f"JMESPath syntax error in {text!r}: {detail}")
        return None
    for node in _nodes(compiled.parsed):
        if node.get("type") != "function_expression":
            continue
        name = node.get("value")
        if name not in BUILTINS and name not in NAMES:
            problems.add(path, f"unknown JMESPath function {name}() in {text!r}")
        elif name == "param":
            args = node.get("children", [])
            if len(args) == 1 and args[0].get("type") == "literal" and args[0].get("value") not in params:
                problems.add(path, f"param({args[0].get('value')!r}) names no param of this rule")
    return Expr(compiled)


def simple_field(compiled: Expr) -> str | None:
    """The field name when an expression is just `name` (lets joins skip JMESPath per row)."""
    parsed = compiled.parsed
    return parsed["value"] if parsed.get("type") == "field" else None
