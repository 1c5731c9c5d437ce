"""Loading rule directories: safe YAML, schema, semantic checks, compile once.

Every rule in every directory is read and checked before any rule runs, and every
problem is collected, so a rule author fixes a pack in one pass instead of one error per
run. Each problem is `file:line: message`, the line taken from the YAML node of the
offending field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path as FsPath
from typing import Any

import jsonschema
from connguard.engine import template as templates
from connguard.engine import yamlsafe
from connguard.engine.conditions import Condition, compile_condition, expressions
from connguard.engine.expr import Problems, compile_expr, simple_field
from connguard.engine.fastpath import Expr, root_names
from connguard.engine.model import Rule, RulePack, RuleParam

from connguard import snapshot
from connguard.errors import InputError

ROOT_NAMES: frozenset[str] = frozenset({"facts", "tenant", "window", "collected_at", "org", "baseline"})
ORG_REQUIREMENTS: frozenset[str] = frozenset({"org.onprem_ips", "org.approved_admins"})
PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "list": (list,),
}


class RuleLoadError(InputError):
    """One or more rules cannot be used. `problems` holds every `file:line: message`;
    the message lists them one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Join:
    """`name: {from, on, equals, first}`, compiled. `key` identifies the shared index."""

    name: str
    source: Expr
    on: Expr
    on_field: str | None
    equals: Expr
    first: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.source.expression, self.on.expression)


Step = Join | tuple[str, Expr]  # a join, or a let as (name, expression)


@dataclass(frozen=True)
class CompiledRule:
    """A rule's logic with every expression compiled once.

    `before_where` are the joins and lets that `where` reads (directly or through other
    lets), in rule order; `after_where` the rest, computed only for candidates that pass:
    on 200,000 audit events most candidates never need their message or evidence lets.
    """

    select: Expr
    as_name: str
    joins: tuple[Join, ...]
    lets: tuple[tuple[str, Expr], ...]
    where: Condition | None
    message: templates.Template
    evidence: tuple[tuple[str, Expr], ...]
    connector: Expr | None
    fingerprint: tuple[Expr, ...]
    before_where: tuple[Step, ...] = ()
    after_where: tuple[Step, ...] = ()


def stage(steps: list[Step], where: Condition | None) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """Split joins/lets into those `where` depends on and the rest, each in rule order."""
    if where is None:
        return (), tuple(steps)
    needed: set[str] = set()
    for expr in expressions(where):
        names = root_names(expr.parsed)
        if names is None:
            return tuple(steps), ()
        needed |= names
    for step in reversed(steps):
        name, expr = (step.name, step.equals) if isinstance(step, Join) else step
        if name in needed:
            names = root_names(expr.parsed)
            if names is None:
                return tuple(steps), ()
            needed |= names
    before = tuple(s for s in steps if (s.name if isinstance(s, Join) else s[0]) in needed)
    return before, tuple(s for s in steps if s not in before)


def shipped_rules_dir() -> Traversable:
    """The default pack, found through the installed package (works outside a checkout)."""
    return resources.files("connguard.rules")


def param_type_ok(kind: str, value: Any) -> bool:
    """Whether `value` has param type `kind` (booleans are not numbers here)."""
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, PARAM_TYPES[kind])


@lru_cache(maxsize=1)
def rule_schema_validator() -> jsonschema.Draft7Validator:
    text = resources.files("connguard").joinpath("schemas/rule-v1.schema.json").read_text("utf-8")
    return jsonschema.Draft7Validator(json.loads(text))


@lru_cache(maxsize=1)
def known_requirements() -> frozenset[str]:
    """Every valid `requires` entry: sources, `<source>.<field>`, org settings, baseline."""
    facts = snapshot.schema()["properties"]["facts"]["properties"]
    names = set(snapshot.FACT_SETS) | ORG_REQUIREMENTS | {"baseline"}
    for source in snapshot.FACT_SETS:
        names |= {f"{source}.{f}" for f in facts[source]["items"]["properties"]}
    return frozenset(names)


def _rule_files(directory: Traversable | str | FsPath) -> tuple[str, list[Traversable]]:
    base: Traversable = FsPath(directory) if isinstance(directory, (str, FsPath)) else directory
    if not base.is_dir():
        raise RuleLoadError([f"{base}: rule directory not found"])
    files = [f for f in base.iterdir() if f.is_file() and f.name.endswith((".yaml", ".yml"))]
    return str(base), sorted(files, key=lambda f: f.name)


def load_rules(dirs: Iterable[Traversable | str | FsPath] | None = None) -> RulePack:
    """Load and check every rule file in `dirs` (default: the shipped pack).

    Raises RuleLoadError listing every problem in every file; returns rules sorted by id.
    """
    directories = [shipped_rules_dir()] if dirs is None else list(dirs)
    messages: list[tuple[str, int, str]] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    names: list[str] = []
    for directory in directories:
        try:
            name, files = _rule_files(directory)
        except RuleLoadError as exc:
            messages.append((exc.problems[0], 0, ""))
            continue
        names.append(name)
        for file in files:
            origin = str(file)
            rule, problems, marks = _load_file(file, origin)
            for path, message in problems:
                messages.append((origin, marks.line(path) if marks else 1, message))
            if rule is None:
                continue
            if rule.id in seen:
                messages.append((origin, marks.line(("id",)) if marks else 1,
                                 f"duplicate rule id {rule.id} (also in {seen[rule.id]})"))
                continue
            seen[rule.id] = f"{origin}:{rule.line}"
            rules.append(rule)
    if messages:
        messages.sort(key=lambda m: (m[0], m[1]))
        raise RuleLoadError([f"{origin}:{line}: {text}" if text else origin for origin, line, text in messages])
    return RulePack(rules=tuple(sorted(rules, key=lambda r: r.id)), dirs=tuple(names))


def _load_file(file: Traversable, origin: str) -> tuple[Rule | None, list[tuple[Any, str]], yamlsafe.Marks | None]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [((), f"cannot read rule file: {exc}")], None
    try:
        data, marks = yamlsafe.load(text, origin)
    except yamlsafe.YamlError as exc:
        return None, [((), exc.reason)], yamlsafe.Marks(origin, {(): exc.line})
    problems = Problems()
    if not isinstance(data, dict):
        problems.add((), "a rule file must be a YAML mapping")
        return None, problems.items, marks
    _schema_problems(data, problems)
    if problems.items:
        return None, problems.items, marks
    rule = _build(data, origin, marks, problems)
    return (rule if not problems.items else None), problems.items, marks


def _schema_problems(data: dict[str, Any], problems: Problems) -> None:
    for error in sorted(rule_schema_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        if path[:1] == ("where",):
            continue  # compile_condition reports condition problems precisely
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - allowed, key=str):
                problems.add(path + (extra,), f"unknown key {extra!r}" + (f" in {_dotted(path)}" if path else ""))
            continue
        where = _dotted(path)
        problems.add(path, f"{where}: {error.message}" if where else error.message)


def _dotted(path: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


def _build(data: dict[str, Any], origin: str, marks: yamlsafe.Marks, problems: Problems) -> Rule | None:
    params: dict[str, RuleParam] = {}
    for name, spec in (data.get("params") or {}).items():
        if not param_type_ok(spec["type"], spec["default"]):
            problems.add(("params", name, "default"),
                         f"param {name!r}: default {spec['default']!r} is not of type {spec['type']}")
        params[name] = RuleParam(name, spec["type"], spec["default"], spec.get("description"), spec["default"])
    values = {n: p.default for n, p in params.items()}
    for i, need in enumerate(data["requires"]):
        if need not in known_requirements():
            problems.add(("requires", i), f"requires names unknown source or setting {need!r}")
    logic = _compile_logic(data, values, problems)
    if logic is None:
        return None
    return Rule(
        id=data["id"], version=data["version"], status=data["status"], symptom=data["symptom"],
        severity=data["severity"], title=data["title"].strip(), description=data["description"].strip(),
        remediation=tuple(data["remediation"]), references=tuple(data.get("references", [])),
        tags=tuple(data.get("tags", [])), params=params, requires=tuple(data["requires"]),
        path=origin, line=marks.line(("id",)), deprecated=data.get("deprecated"), logic=logic,
    )


def _compile_logic(data: dict[str, Any], params: dict[str, Any], problems: Problems) -> CompiledRule | None:
    before = len(problems.items)
    as_name = data.get("as", "item")
    context = set(ROOT_NAMES)

    def bind(name: str, path: tuple[Any, ...]) -> None:
        if name in context:
            problems.add(path, f"name {name!r} is already used in the context")
        context.add(name)

    select = compile_expr(data["select"], ("select",), problems, params)
    bind(as_name, ("as",))
    joins = []
    for name, spec in (data.get("join") or {}).items():
        source = compile_expr(spec["from"], ("join", name, "from"), problems, params)
        on = compile_expr(spec["on"], ("join", name, "on"), problems, params)
        equals = compile_expr(spec["equals"], ("join", name, "equals"), problems, params)
        bind(name, ("join", name))
        if source and on and equals:
            joins.append(Join(name, source, on, simple_field(on), equals, bool(spec.get("first", False))))
    lets = []
    for name, text in (data.get("let") or {}).items():
        expr = compile_expr(text, ("let", name), problems, params)
        bind(name, ("let", name))
        if expr:
            lets.append((name, expr))
    where = compile_condition(data["where"], ("where",), problems, params) if "where" in data else None
    message, template_problems = templates.parse(data["message"])
    for text in template_problems:
        problems.add(("message",), text)
    if message is not None:
        for path in templates.placeholders(message):
            if path[0] not in context and path[0] not in params:
                problems.add(("message",), f"message placeholder {{{'.'.join(path)}}} names nothing in the "
                                           f"context or params")
    evidence = [(n, compile_expr(t, ("evidence", n), problems, params)) for n, t in (data.get("evidence") or {}).items()]
    connector = compile_expr(data["connector"], ("connector",), problems, params) if "connector" in data else None
    fingerprint = [compile_expr(t, ("fingerprint", i), problems, params) for i, t in enumerate(data["fingerprint"])]
    if len(problems.items) != before or select is None or message is None:
        return None
    first, then = stage([*joins, *lets], where)
    return CompiledRule(
        select=select, as_name=as_name, joins=tuple(joins), lets=tuple(lets), where=where, message=message,
        evidence=tuple((n, e) for n, e in evidence if e is not None), connector=connector,
        fingerprint=tuple(e for e in fingerprint if e is not None), before_where=first, after_where=then,
    )
