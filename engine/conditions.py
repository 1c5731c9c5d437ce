"""The `where` condition language: leaves `{key, op, value|param|value_key}` and and/or/not.

Conditions are compiled once at load: JMESPath compiled, literal regexes, globs, CIDRs and
durations parsed (a bad one is a load error with its line), so evaluation only compares.
Operands that arrive at run time (a param overridden by config, a `value_key`) go through
the same parsers, cached.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, Protocol

from connguard.engine.expr import Path, Problems, compile_expr
from connguard.engine.fastpath import Expr
from connguard.engine.functions import (
    as_cidr_tuple,
    epoch,
    lies_within,
    parse_cidr_list,
)

from connguard.normalize import NormalizationError, parse_duration

OPS: tuple[str, ...] = (
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "not-in", "contains", "intersect", "glob", "regex",
    "cidr-in", "cidr-not-in", "older-than", "newer-than", "absent", "present",
)
NO_OPERAND = ("absent", "present")


class Scope(Protocol):
    """What a condition reads while testing one candidate."""

    now: float
    params: dict[str, Any]
    prepared: dict[Any, Any]

    def search(self, compiled: Expr) -> Any: ...


class Condition(Protocol):
    def test(self, scope: Scope) -> bool: ...


def _norm(value: Any) -> Any:
    """Comparable form: strings case-folded, bools kept apart from numbers, containers deep."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), repr(_norm(v))) for k, v in value.items()))
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=256)
def _duration(text: str) -> timedelta:
    return parse_duration(text)


# Each op: (prepare operand -> prepared, test(key, prepared) -> bool). `prepare` raises
# ValueError for an operand the op cannot use; at load that becomes a load error.
def _prep_any(value: Any) -> Any:
    return _norm(value)


def _prep_number(value: Any) -> float:
    if not _number(value):
        raise ValueError(f"expects a number, got {value!r}")
    return value


def _prep_list(value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise ValueError(f"expects a list, got {value!r}")
    return tuple(_norm(v) for v in value)


def _prep_glob(value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise ValueError(f"expects a glob string, got {value!r}")
    return _glob(value)


def _prep_regex(value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise ValueError(f"expects a regex string, got {value!r}")
    try:
        return _regex(value)
    except re.error as exc:
        raise ValueError(f"invalid regex {value!r}: {exc}") from None


def _prep_cidrs(value: Any) -> tuple[Any, ...]:
    cidrs = as_cidr_tuple(value)
    if not isinstance(value, (str, list)) or len(cidrs) != (1 if isinstance(value, str) else len(value)):
        raise ValueError(f"expects a CIDR or list of CIDRs, got {value!r}")
    nets = parse_cidr_list(cidrs)
    if len(cidrs) and not nets:
        raise ValueError(f"no valid CIDR in {value!r}")
    return nets


def _prep_duration(value: Any) -> float:
    if not isinstance(value, str):
        raise ValueError(f"expects a duration such as 36h, 9d or P9D, got {value!r}")
    try:
        return _duration(value).total_seconds()
    except NormalizationError as exc:
        raise ValueError(str(exc)) from None


def _eq(key: Any, value: Any) -> bool:
    return _norm(key) == value


def _contains(key: Any, value: Any) -> bool:
    if isinstance(key, list):
        return any(_norm(k) == value for k in key)
    if isinstance(key, str) and isinstance(value, str):
        return value in key.casefold()
    return False


def _elements(key: Any) -> list[Any]:
    return key if isinstance(key, list) else ([] if key is None else [key])


def _cidr_in(key: Any, nets: Any) -> bool:
    items = _elements(key)
    return bool(items) and all(lies_within(v, nets) for v in items)


def _cidr_not_in(key: Any, nets: Any) -> bool:
    return any(not lies_within(v, nets) for v in _elements(key))


def _empty(key: Any) -> bool:
    return key is None or key == [] or key == {}


def _older(key: Any, seconds: float, now: float) -> bool:
    stamp = epoch(key) if isinstance(key, str) else None
    return stamp is not None and now - stamp > seconds


def _newer(key: Any, seconds: float, now: float) -> bool:
    stamp = epoch(key) if isinstance(key, str) else None
    return stamp is not None and now - stamp < seconds


# op -> (prepare the operand, check(key, prepared operand, the snapshot's time)).
OPERATORS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any, float], bool]]] = {
    "eq": (_prep_any, lambda k, v, now: _eq(k, v)),
    "ne": (_prep_any, lambda k, v, now: not _eq(k, v)),
    "gt": (_prep_number, lambda k, v, now: _number(k) and k > v),
    "gte": (_prep_number, lambda k, v, now: _number(k) and k >= v),
    "lt": (_prep_number, lambda k, v, now: _number(k) and k < v),
    "lte": (_prep_number, lambda k, v, now: _number(k) and k <= v),
    "in": (_prep_list, lambda k, v, now: _norm(k) in v),
    "not-in": (_prep_list, lambda k, v, now: _norm(k) not in v),
    "contains": (_prep_any, lambda k, v, now: _contains(k, v)),
    "intersect": (_prep_list, lambda k, v, now: isinstance(k, list) and any(_norm(x) in v for x in k)),
    "glob": (_prep_glob, lambda k, v, now: isinstance(k, str) and v.match(k) is not None),
    "regex": (_prep_regex, lambda k, v, now: isinstance(k, str) and v.search(k) is not None),
    "cidr-in": (_prep_cidrs, lambda k, v, now: _cidr_in(k, v)),
    "cidr-not-in": (_prep_cidrs, lambda k, v, now: _cidr_not_in(k, v)),
    "older-than": (_prep_duration, _older),
    "newer-than": (_prep_duration, _newer),
    "absent": (lambda v: None, lambda k, v, now: _empty(k)),
    "present": (lambda v: None, lambda k, v, now: not _empty(k)),
}


@dataclass(frozen=True)
class Leaf:
    """`{key, op, value|param|value_key}`; the operand is prepared once when literal."""

    key: Expr
    op: str
    literal: Any = None
    has_literal: bool = False
    param: str | None = None
    value_key: Expr | None = None

    def test(self, scope: Scope) -> bool:
        prepare, check = OPERATORS[self.op]
        key = scope.search(self.key)
        if self.op in NO_OPERAND:
            return check(key, None, scope.now)
        if self.has_literal:
            operand = self.literal
        else:
            raw = scope.params[self.param] if self.param is not None else scope.search(self.value_key)  # type: ignore[arg-type]
            if self.value_key is not None and raw is None:
                return False  # nothing to compare with (e.g. a median of no data)
            # Candidates usually share the operand object (a param, org.approved_admins):
            # prepare it once per rule. The raw object is kept so its id stays unique.
            cached = scope.prepared.get((id(self), id(raw)))
            if cached is not None and cached[0] is raw:
                operand = cached[1]
            else:
                operand = prepare(raw)
                scope.prepared[(id(self), id(raw))] = (raw, operand)
        return check(key, operand, scope.now)


@dataclass(frozen=True)
class All:
    parts: tuple[Condition, ...]

    def test(self, scope: Scope) -> bool:
        return all(p.test(scope) for p in self.parts)


@dataclass(frozen=True)
class Any_:
    parts: tuple[Condition, ...]

    def test(self, scope: Scope) -> bool:
        return any(p.test(scope) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Condition

    def test(self, scope: Scope) -> bool:
        return not self.part.test(scope)


def expressions(condition: Condition) -> list[Expr]:
    """Every expression a condition evaluates (keys and value_keys), for dependency analysis."""
    if isinstance(condition, Leaf):
        return [condition.key] + ([condition.value_key] if condition.value_key is not None else [])
    if isinstance(condition, Not):
        return expressions(condition.part)
    return [e for part in condition.parts for e in expressions(part)]  # type: ignore[attr-defined]


def compile_condition(tree: Any, path: Path, problems: Problems, params: dict[str, Any]) -> Condition | None:
    """Compile a condition tree; record every problem (returns None when any were found)."""
    if not isinstance(tree, dict):
        problems.add(path, "a condition must be a mapping (a leaf or and/or/not)")
        return None
    for combinator in ("and", "or"):
        if combinator in tree:
            parts = tree[combinator]
            if len(tree) != 1 or not isinstance(parts, list) or not parts:
                problems.add(path, f"'{combinator}' must be the only key and hold a non-empty list")
                return None
            compiled = [compile_condition(p, path + (combinator, i), problems, params) for i, p in enumerate(parts)]
            if any(c is None for c in compiled):
                return None
            return All(tuple(compiled)) if combinator == "and" else Any_(tuple(compiled))  # type: ignore[arg-type]
    if "not" in tree:
        if len(tree) != 1:
            problems.add(path, "'not' must be the only key")
            return None
        inner = compile_condition(tree["not"], path + ("not",), problems, params)
        return Not(inner) if inner is not None else None
    return _compile_leaf(tree, path, problems, params)


def _compile_leaf(tree: dict[str, Any], path: Path, problems: Problems, params: dict[str, Any]) -> Leaf | None:
    before = len(problems.items)
    unknown = sorted(set(tree) - {"key", "op", "value", "param", "value_key"})
    for name in unknown:
        problems.add(path + (name,), f"unknown key {name!r} in condition")
    op = tree.get("op")
    if op not in OPERATORS:
        problems.add(path + ("op",), f"unknown op {op!r} (expected one of: {', '.join(OPS)})")
    key = compile_expr(tree.get("key"), path + ("key",), problems, params)
    given = [k for k in ("value", "param", "value_key") if k in tree]
    if op in NO_OPERAND and given:
        problems.add(path + (given[0],), f"op {op!r} takes no value, param or value_key")
    elif op in OPERATORS and op not in NO_OPERAND and len(given) != 1:
        problems.add(path, f"op {op!r} needs exactly one of value, param or value_key (got {len(given)})")
    value_key = None
    literal, has_literal = None, False
    if op in OPERATORS and op not in NO_OPERAND and len(given) == 1:
        prepare = OPERATORS[op][0]
        if "value" in tree:
            try:
                literal, has_literal = prepare(tree["value"]), True
            except ValueError as exc:
                problems.add(path + ("value",), f"op {op!r} {exc}")
        elif "param" in tree:
            name = tree["param"]
            if name not in params:
                problems.add(path + ("param",), f"param {name!r} is not defined in params")
            else:
                try:
                    prepare(params[name])
                except ValueError as exc:
                    problems.add(path + ("param",), f"op {op!r} {exc} (default of param {name!r})")
        else:
            value_key = compile_expr(tree["value_key"], path + ("value_key",), problems, params)
    if len(problems.items) != before or key is None:
        return None
    return Leaf(key=key, op=str(op), literal=literal, has_literal=has_literal,
                param=tree.get("param"), value_key=value_key)
