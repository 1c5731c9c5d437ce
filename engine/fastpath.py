"""JMESPath compiled to Python closures: the same semantics as jmespath's TreeInterpreter, faster.

The reference interpreter walks the AST for every search, dispatching on node type by
dictionary lookups; a rule pack over 200,000 audit events runs millions of searches, so
that walk dominated scan time (docs/benchmarks.md). Here each parsed expression becomes
a tree of closures once, at load. Semantics follow jmespath 1.1's `visitor.py` node by
node (truthiness, the 0/1-vs-boolean equality rule, ordering only between numbers or
strings, projections dropping nulls); tests/test_engine_fastpath.py checks every
expression of the shipped pack against the reference interpreter on generated data.
Functions are not reimplemented: calls go to the rule's `Functions` object, with
argument type checks, exactly as in the reference.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import jmespath
from jmespath import functions as jfunctions
from jmespath.functions import REVERSE_TYPES_MAP
from jmespath.parser import ParsedResult
from jmespath.visitor import _equals, _is_actual_number, _is_comparable

Fn = Callable[[Any, jfunctions.Functions], Any]
_DEFAULT_FUNCTIONS = jfunctions.Functions()
_ORDERING = {"lt": operator.lt, "gt": operator.gt, "lte": operator.le, "gte": operator.ge}


class _Expression:
    """An `&expr` argument. Named like jmespath's own so function type checks accept it."""

    __slots__ = ("expression", "functions")

    def __init__(self, expression: Fn, functions: jfunctions.Functions) -> None:
        self.expression = expression
        self.functions = functions

    def visit(self, node: Fn, value: Any) -> Any:
        return node(value, self.functions)


_PLAIN = (str, int, float, type(None))


def _eq(a: Any, b: Any) -> bool:
    """jmespath's `_equals`; same-typed plain values skip its 0/1-vs-boolean special case."""
    kind = type(a)
    if kind is type(b) and kind in _PLAIN:
        return a == b
    return _equals(a, b)


def _comparable(a: Any, b: Any) -> bool:
    kinds = (type(a), type(b))
    if kinds[0] in (int, float, str) and kinds[1] in (int, float, str):
        return True
    return _is_comparable(a) and _is_comparable(b)


def _is_false(value: Any) -> bool:
    return value == "" or value == [] or value == {} or value is None or value is False


def _field(key: str) -> Fn:
    def run(value: Any, fns: Any) -> Any:
        try:
            return value.get(key)
        except AttributeError:
            return None
    return run


def _fields(keys: tuple[str, ...]) -> Fn:
    def run(value: Any, fns: Any) -> Any:
        for key in keys:
            try:
                value = value.get(key)
            except AttributeError:
                return None
        return value
    return run


def _field_equals(key: str, literal: Any, negate: bool) -> Fn:
    """`field == 'literal'` in one call: the shape of nearly every filter over audit events."""
    def run(value: Any, fns: Any) -> Any:
        try:
            found = value.get(key)
        except AttributeError:
            found = None
        return _eq(found, literal) is not negate
    return run


def _chain(parts: list[Fn]) -> Fn:
    if len(parts) == 1:
        return parts[0]

    def run(value: Any, fns: Any) -> Any:
        for part in parts:
            value = part(value, fns)
        return value
    return run


def _compile(node: dict[str, Any]) -> Fn:
    kind = node["type"]
    children = node.get("children", [])
    if kind == "field":
        return _field(node["value"])
    if kind in ("subexpression", "index_expression", "pipe"):
        if all(c["type"] == "field" for c in children):
            return _fields(tuple(c["value"] for c in children))
        return _chain([_compile(c) for c in children])
    if kind in ("current", "identity"):
        return lambda value, fns: value
    if kind == "literal":
        literal = node["value"]
        return lambda value, fns: literal
    if kind == "index":
        position = node["value"]

        def index(value: Any, fns: Any) -> Any:
            if not isinstance(value, list):
                return None
            try:
                return value[position]
            except IndexError:
                return None
        return index
    if kind == "slice":
        bounds = slice(*children)
        return lambda value, fns: value[bounds] if isinstance(value, list) else None
    if kind == "comparator":
        op = node["value"]
        if op in ("eq", "ne") and children[0]["type"] == "field" and children[1]["type"] == "literal":
            return _field_equals(children[0]["value"], children[1]["value"], op == "ne")
        left, right = _compile(children[0]), _compile(children[1])
        if op == "eq":
            return lambda value, fns: _eq(left(value, fns), right(value, fns))
        if op == "ne":
            return lambda value, fns: not _eq(left(value, fns), right(value, fns))
        compare = _ORDERING[op]

        def ordering(value: Any, fns: Any) -> Any:
            a, b = left(value, fns), right(value, fns)
            if not _comparable(a, b):
                return None
            return compare(a, b)
        return ordering
    if kind == "or_expression":
        left, right = _compile(children[0]), _compile(children[1])

        def either(value: Any, fns: Any) -> Any:
            matched = left(value, fns)
            return right(value, fns) if _is_false(matched) else matched
        return either
    if kind == "and_expression":
        left, right = _compile(children[0]), _compile(children[1])

        def both(value: Any, fns: Any) -> Any:
            matched = left(value, fns)
            return matched if _is_false(matched) else right(value, fns)
        return both
    if kind == "not_expression":
        inner = _compile(children[0])

        def negate(value: Any, fns: Any) -> Any:
            result = inner(value, fns)
            if _is_actual_number(result) and result == 0:
                return False
            return not result
        return negate
    if kind == "function_expression":
        return _function(node["value"], [_compile(c) for c in children])
    if kind == "expref":
        inner = _compile(children[0])
        return lambda value, fns: _Expression(inner, fns)
    if kind in ("projection", "value_projection", "filter_projection"):
        return _projection(kind, children)
    if kind == "flatten":
        base = _compile(children[0])

        def flatten(value: Any, fns: Any) -> Any:
            items = base(value, fns)
            if not isinstance(items, list):
                return None
            merged: list[Any] = []
            for element in items:
                if isinstance(element, list):
                    merged.extend(element)
                else:
                    merged.append(element)
            return merged
        return flatten
    if kind == "multi_select_list":
        parts = [_compile(c) for c in children]
        return lambda value, fns: None if value is None else [p(value, fns) for p in parts]
    if kind == "multi_select_dict":
        pairs = [(c["value"], _compile(c["children"][0])) for c in children]
        return lambda value, fns: None if value is None else {k: p(value, fns) for k, p in pairs}
    raise NotImplementedError(f"JMESPath node type {kind!r}")


_CHECKS: dict[tuple[type, str], Any] = {}


def _checks(functions: jfunctions.Functions, name: str) -> Any:
    """Per function: (callable, arity, per-argument allowed Python type names or None).

    jmespath re-derives the allowed types on every call; deriving them once is most of
    the cost of a call in a filter over 200,000 rows. Variadic or subtyped signatures
    (e.g. `array-number`) get None and always go through jmespath's own checks.
    """
    key = (type(functions), name)
    if key not in _CHECKS:
        spec = type(functions).FUNCTION_TABLE.get(name)
        plan = None
        if spec is not None:
            signature = spec["signature"]
            simple = all("-" not in t for arg in signature for t in arg.get("types", [])) and not any(
                arg.get("variadic") for arg in signature)
            if simple:
                allowed = [frozenset(n for t in arg["types"] for n in REVERSE_TYPES_MAP[t]) if arg.get("types")
                           else None for arg in signature]
                plan = (spec["function"], len(signature), allowed)
        _CHECKS[key] = plan
    return _CHECKS[key]


def _function(name: str, args: list[Fn]) -> Fn:
    def call(value: Any, fns: Any) -> Any:
        resolved = [a(value, fns) for a in args]
        plan = _checks(fns, name)
        if plan is not None and len(resolved) == plan[1]:
            for arg, allowed in zip(resolved, plan[2]):
                if allowed is not None and type(arg).__name__ not in allowed:
                    break
            else:
                return plan[0](fns, *resolved)
        # Unknown function, wrong arity or type: jmespath raises its own precise error.
        return fns.call_function(name, resolved)
    return call


def root_names(node: dict[str, Any]) -> set[str] | None:
    """The context names an expression reads at its top level (None: it reads `@`, i.e. all).

    Fields inside projections, filters and `&expr` apply to elements, not to the context,
    so `events[?actor == 'x']` reads `events` only. Used to evaluate a rule's `where`
    before the joins and lets it does not need.
    """
    names: set[str] = set()

    def walk(n: dict[str, Any], at_root: bool) -> bool:
        kind, children = n["type"], n.get("children", [])
        if kind == "field":
            if at_root:
                names.add(n["value"])
            return True
        if kind in ("current", "identity"):
            return not at_root
        if kind in ("subexpression", "index_expression", "pipe"):
            return all(walk(c, at_root and i == 0) for i, c in enumerate(children))
        if kind in ("projection", "value_projection", "filter_projection", "flatten"):
            return all(walk(c, at_root and i == 0) for i, c in enumerate(children) if isinstance(c, dict))
        if kind == "expref":
            return all(walk(c, False) for c in children)
        if kind == "literal":
            return True
        return all(walk(c, at_root) for c in children if isinstance(c, dict))

    return names if walk(node, True) else None


def _projection(kind: str, children: list[dict[str, Any]]) -> Fn:
    base, rhs = _compile(children[0]), _compile(children[1])
    identity = children[1]["type"] == "identity"
    if kind == "filter_projection":
        condition = _compile(children[2])

        def filtered(value: Any, fns: Any) -> Any:
            items = base(value, fns)
            if not isinstance(items, list):
                return None
            collected = []
            for element in items:
                if not _is_false(condition(element, fns)):
                    current = element if identity else rhs(element, fns)
                    if current is not None:
                        collected.append(current)
            return collected
        return filtered

    def projected(value: Any, fns: Any) -> Any:
        items = base(value, fns)
        if kind == "value_projection":
            try:
                items = list(items.values())
            except AttributeError:
                return None
        elif not isinstance(items, list):
            return None
        collected = []
        for element in items:
            current = element if identity else rhs(element, fns)
            if current is not None:
                collected.append(current)
        return collected
    return projected


class Expr:
    """A compiled expression with ParsedResult's interface (`expression`, `parsed`, `search`)."""

    __slots__ = ("_run", "expression", "parsed")

    def __init__(self, parsed: ParsedResult) -> None:
        self.expression: str = parsed.expression
        self.parsed: dict[str, Any] = parsed.parsed
        self._run = _compile(parsed.parsed)

    def run(self, value: Any, functions: jfunctions.Functions) -> Any:
        """The search without the Options indirection, for the evaluator's hot loop."""
        return self._run(value, functions)

    def search(self, value: Any, options: jmespath.Options | None = None) -> Any:
        functions = options.custom_functions if options is not None and options.custom_functions else None
        return self._run(value, functions or _DEFAULT_FUNCTIONS)

    def __repr__(self) -> str:
        return f"Expr({self.expression!r})"


def compile(text: str) -> Expr:
    """Parse with jmespath (its syntax errors) and compile to closures."""
    return Expr(jmespath.compile(text))
