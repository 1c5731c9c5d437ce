"""Running a rule pack over one snapshot: requirements, joins, conditions, findings, coverage.

Each rule runs in isolation: one that fails at run time is reported as coverage `error`
and the scan goes on. Rules whose data is missing are `not_evaluated`, never silently
clean. Time is the snapshot's `collected_at`, never the wall clock. The result is sorted
so the same snapshot, pack and config always give the same bytes downstream.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import jmespath
from connguard.engine.fastpath import Expr
from connguard.engine.functions import options
from connguard.engine.loader import CompiledRule, Join, Step, param_type_ok
from connguard.engine.model import (
    SEVERITY_RANK,
    ConnectorRef,
    Coverage,
    Finding,
    Rule,
    RulePack,
    ScanResult,
    Suppression,
)

from connguard.config import Config, SuppressionRule
from connguard.normalize import parse_time
from connguard.snapshot import FACT_SETS

_MISSING_STATUSES = ("missing", "error")


def configure(pack: RulePack, config: Config) -> RulePack:
    """Apply `rules:` settings to the pack: enabled flags and type-checked param overrides.

    A config naming a rule or param the pack does not have is an error, so a typo cannot
    leave a noisy rule on or a threshold at its default unnoticed.
    """
    known = {r.id: r for r in pack.rules}
    for rule_id, settings in config.rules.items():
        rule = known.get(rule_id)
        if rule is None:
            raise config.error(settings.line, f"rules: unknown rule id {rule_id!r}")
        for name, value in settings.params.items():
            line = settings.param_lines.get(name, settings.line)
            if name not in rule.params:
                expected = ", ".join(sorted(rule.params)) or "none"
                raise config.error(line, f"rules.{rule_id}.params: unknown param {name!r} (this rule has: {expected})")
            kind = rule.params[name].type
            if not param_type_ok(kind, value):
                raise config.error(line, f"rules.{rule_id}.params.{name}: expected {kind}, got {value!r}")
    for suppression in config.suppressions:
        if suppression.rule not in known:
            raise config.error(suppression.line, f"suppressions: unknown rule id {suppression.rule!r}")
    rules = []
    for rule in pack.rules:
        own = config.rules.get(rule.id)
        if own is None:
            rules.append(_with(rule, enabled=True, overrides={}))
        else:
            rules.append(_with(rule, enabled=own.enabled, overrides=own.params))
    return RulePack(rules=tuple(rules), dirs=pack.dirs)


def _with(rule: Rule, *, enabled: bool, overrides: dict[str, Any]) -> Rule:
    params = {n: replace(p, value=overrides.get(n, p.default)) for n, p in rule.params.items()}
    return replace(rule, enabled=enabled, params=params)


class _Scope:
    """One candidate's context plus what conditions need (time, params, functions)."""

    __slots__ = ("context", "functions", "now", "params", "prepared")

    def __init__(self, context: dict[str, Any], now: float, params: dict[str, Any], functions: Any,
                 prepared: dict[Any, Any]) -> None:
        self.context, self.now, self.params, self.functions = context, now, params, functions
        # Operands prepared from run-time values, shared by a rule's candidates (see Leaf.test).
        self.prepared = prepared

    def search(self, compiled: Expr) -> Any:
        return compiled.run(self.context, self.functions)


def _index_key(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return value
    return None  # null, containers: not join keys


class _Scan:
    """State shared by every rule of one scan: the root, join indexes, select results, pointers."""

    def __init__(self, snapshot: dict[str, Any], config: Config, baseline: Any) -> None:
        self.snapshot = snapshot
        self.config = config
        self.baseline = baseline
        self.collected_at: datetime = parse_time(snapshot["collected_at"])
        self.now = self.collected_at.timestamp()
        self.root: dict[str, Any] = {
            "facts": snapshot.get("facts", {}),
            "tenant": snapshot.get("tenant"),
            "window": snapshot.get("window"),
            "collected_at": snapshot.get("collected_at"),
            "org": config.org(),
            "baseline": baseline,
        }
        self.indexes: dict[Any, dict[Any, list[Any]]] = {}
        self.selects: dict[Any, list[Any]] = {}
        self._pointers: dict[int, tuple[str, int]] | None = None
        self._unindexed: list[str] = []

    def pointer(self, item: Any) -> str | None:
        """JSON pointer of a facts record, found by identity (projections keep the objects).

        Lists are indexed lazily, smallest first: most findings concern a connector, and
        indexing 200,000 audit events just to place them would cost more than the rule.
        """
        if self._pointers is None:
            self._pointers = {}
            facts = self.root["facts"]
            self._unindexed = sorted((n for n, v in facts.items() if isinstance(v, list)), key=lambda n: len(facts[n]))
        found = self._pointers.get(id(item))
        while found is None and self._unindexed:
            name = self._unindexed.pop(0)
            for i, record in enumerate(self.root["facts"][name]):
                self._pointers[id(record)] = (name, i)
            found = self._pointers.get(id(item))
        return None if found is None else f"/facts/{found[0]}/{found[1]}"

    def _cache_key(self, compiled: Expr, params: dict[str, Any]) -> Any:
        # An expression calling param() depends on the rule's params; others can be shared.
        uses_params = "param(" in compiled.expression
        return (compiled.expression, json.dumps(params, sort_keys=True, default=str) if uses_params else None)

    def candidates(self, select: Expr, params: dict[str, Any], opts: jmespath.Options) -> list[Any]:
        key = self._cache_key(select, params)
        if key not in self.selects:
            found = select.search(self.root, options=opts)
            self.selects[key] = [] if found is None else (found if isinstance(found, list) else [found])
        return self.selects[key]

    def index(self, join: Join, params: dict[str, Any], opts: jmespath.Options) -> dict[Any, list[Any]]:
        key = (self._cache_key(join.source, params), self._cache_key(join.on, params))
        index = self.indexes.get(key)
        if index is None:
            index = {}
            rows = join.source.search(self.root, options=opts)
            for row in rows if isinstance(rows, list) else []:
                if join.on_field is not None:
                    value = row.get(join.on_field) if isinstance(row, dict) else None
                else:
                    value = join.on.search(row, options=opts)
                if type(value) is str:  # the common case, without the generic path below
                    index.setdefault(value.casefold(), []).append(row)
                    continue
                for k in value if isinstance(value, list) else [value]:
                    hk = _index_key(k)
                    if hk is not None:
                        index.setdefault(hk, []).append(row)
            self.indexes[key] = index
        return index


def evaluate(snapshot_data: dict[str, Any], pack: RulePack, config: Config, baseline: Any = None) -> ScanResult:
    """Run every enabled rule of `pack` (after `config`) over a validated snapshot."""
    pack = configure(pack, config)
    scan = _Scan(snapshot_data, config, baseline)
    today = scan.collected_at.date()
    active = [s for s in config.suppressions if s.expires is None or s.expires >= today]
    warnings = [
        f"{s.describe()} expired on {s.expires.isoformat()}; its findings are reported again"
        for s in config.suppressions if s.expires is not None and s.expires < today
    ]
    findings: list[Finding] = []
    coverage: list[Coverage] = []
    for rule in pack.enabled():
        if rule.status == "deprecated" and rule.deprecated:
            replacement = rule.deprecated.get("replacement")
            warnings.append(f"rule {rule.id} is deprecated: {rule.deprecated.get('reason')}"
                            + (f" (use {replacement})" if replacement else ""))
        missing, reasons, partial = _requirements(rule, scan)
        base = dict(rule_id=rule.id, rule_version=rule.version, symptom=rule.symptom)
        if missing:
            coverage.append(Coverage(**base, status="not_evaluated", reason="; ".join(reasons), missing=missing))
            continue
        try:
            found = _run(rule, scan)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the scan
            coverage.append(Coverage(**base, status="error", reason=f"{type(exc).__name__}: {exc}"))
            continue
        _suppress(found, rule, active)
        findings.extend(found)
        if partial:
            coverage.append(Coverage(
                **base, status="not_evaluated", missing=partial, findings=len(found),
                reason=f"source {', '.join(partial)} is only partially collected: findings are shown, "
                       "but their absence proves nothing",
            ))
        else:
            coverage.append(Coverage(**base, status="evaluated", findings=len(found)))
    findings.sort(key=lambda f: (-SEVERITY_RANK.get(f.severity, 0),
                                 f.connector.identity.casefold() if f.connector else "", f.rule_id, f.fingerprint))
    coverage.sort(key=lambda c: c.rule_id)
    return ScanResult(findings=findings, coverage=coverage, warnings=warnings)


def _requirements(rule: Rule, scan: _Scan) -> tuple[list[str], list[str], list[str]]:
    """(missing requirements, reasons for them, partially collected sources)."""
    sources = scan.snapshot.get("sources") or {}
    missing: list[str] = []
    reasons: list[str] = []
    partial: list[str] = []
    for need in rule.requires:
        head, _, fact_field = need.partition(".")
        if head in FACT_SETS:
            source = sources.get(head) or {"status": "missing", "reason": "not in the snapshot"}
            status = source.get("status", "missing")
            if status in _MISSING_STATUSES:
                if head not in missing:
                    missing.append(head)
                    reasons.append(f"source {head} is {status}" + (f": {source['reason']}" if source.get("reason") else ""))
            elif fact_field and fact_field in (source.get("unavailable_fields") or []):
                missing.append(need)
                reasons.append(f"field {need} is unavailable in this snapshot")
            elif status == "partial" and head not in partial:
                partial.append(head)
        elif need.startswith("org."):
            if not scan.config.configured(need):
                missing.append(need)
                reasons.append(f"organization.{need[4:]} is not set in the config")
        elif need == "baseline" and scan.baseline is None:
            missing.append(need)
            reasons.append("no baseline given (--baseline)")
    return missing, reasons, partial


def _run(rule: Rule, scan: _Scan) -> list[Finding]:
    logic: CompiledRule = rule.logic
    params = rule.param_values()
    opts = options(scan.collected_at, params)
    functions = opts.custom_functions
    prepared: dict[Any, Any] = {}
    results = []
    for candidate in scan.candidates(logic.select, params, opts):
        context = dict(scan.root)
        context[logic.as_name] = candidate
        scope = _Scope(context, scan.now, params, functions, prepared)
        _steps(logic.before_where, scope, scan, params, opts)
        if logic.where is not None and not logic.where.test(scope):
            continue
        _steps(logic.after_where, scope, scan, params, opts)
        results.append(_finding(rule, logic, scope, candidate, scan))
    return results


def _steps(steps: tuple[Step, ...], scope: _Scope, scan: _Scan, params: dict[str, Any],
           opts: jmespath.Options) -> None:
    """Bind joins (hash lookups, case-insensitive; list keys concatenate) and lets, in order."""
    context = scope.context
    for step in steps:
        if not isinstance(step, Join):
            context[step[0]] = step[1].run(context, scope.functions)
            continue
        index = scan.index(step, params, opts)
        wanted = step.equals.run(context, scope.functions)
        matches: list[Any] = []
        for k in wanted if isinstance(wanted, list) else [wanted]:
            hk = _index_key(k)
            if hk is not None:
                matches.extend(index.get(hk, ()))
        context[step.name] = (matches[0] if matches else None) if step.first else matches


def _finding(rule: Rule, logic: CompiledRule, scope: _Scope, candidate: Any, scan: _Scan) -> Finding:
    values = [scope.search(expr) for expr in logic.fingerprint]
    digest = hashlib.sha256((rule.id + json.dumps(values, sort_keys=True, default=str)).encode("utf-8"))
    return Finding(
        rule_id=rule.id, rule_version=rule.version, symptom=rule.symptom, severity=rule.severity,
        title=rule.title, message=logic.message.render(scope.context, scope.params),
        connector=_connector(scope.search(logic.connector)) if logic.connector is not None else None,
        evidence={name: scope.search(expr) for name, expr in logic.evidence},
        fingerprint=digest.hexdigest()[:32], remediation=list(rule.remediation), pointer=scan.pointer(candidate),
    )


def _connector(value: Any) -> ConnectorRef | None:
    if isinstance(value, dict):
        identity = value.get("identity") or value.get("name") or value.get("connector_name")
        guid = value.get("guid") or value.get("connector_id")
        if identity is None and guid is None:
            return None
        return ConnectorRef(identity=str(identity if identity is not None else guid),
                            guid=str(guid) if guid is not None else None)
    if isinstance(value, str) and value:
        return ConnectorRef(identity=value)
    return None


def _suppress(findings: list[Finding], rule: Rule, active: list[SuppressionRule]) -> None:
    for finding in findings:
        for s in active:
            if s.rule == rule.id and finding.connector and finding.connector.identity.casefold() == s.connector.casefold():
                finding.suppressed = True
                finding.suppression = Suppression(reason=s.reason, expires=s.expires.isoformat() if s.expires else None)
                break
