"""Rule tests: `<rules dir>/tests/<ID>.yaml`, cases that patch a healthy base snapshot.

Each case starts from `tests/base.json` (a snapshot that gives no finding) and the base
config `tests/base-config.yaml`, applies its patch operations in order, runs the one rule,
and compares findings (partial match, every finding accounted for) and coverage. A custom
directory without its own base files falls back to the shipped pack's. A case that names
no `coverage` still fails if the rule errored, so a rule that crashes cannot pass `expect: []`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import jmespath
import jsonschema
from connguard.engine import yamlsafe
from connguard.engine.functions import options
from connguard.engine.loader import load_rules, shipped_rules_dir
from connguard.engine.model import Finding, Rule, RulePack, ScanResult
from connguard.engine.runner import configure, evaluate

from connguard import snapshot
from connguard.config import Config
from connguard.config import from_data as config_from_data
from connguard.errors import InputError
from connguard.normalize import parse_time

BASE_SNAPSHOT = "base.json"
BASE_CONFIG = "base-config.yaml"


class RuleTestError(InputError):
    """The tests themselves cannot be used (malformed file, unknown rule, no base fixture)."""


class CaseFailure(Exception):
    """A patch could not be applied; the case fails with this message."""


@dataclass
class CaseResult:
    """One case's outcome; `problems` says why it failed."""

    rule_id: str
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@lru_cache(maxsize=1)
def _tests_validator() -> jsonschema.Draft7Validator:
    text = resources.files("connguard").joinpath("schemas/rule-tests-v1.schema.json").read_text("utf-8")
    return jsonschema.Draft7Validator(json.loads(text))


def _as_dir(directory: Traversable | str | Path | None) -> Traversable:
    if directory is None:
        return shipped_rules_dir()
    return Path(directory) if isinstance(directory, (str, Path)) else directory


def _base_file(tests_dir: Traversable, name: str) -> Traversable | None:
    for candidate in (tests_dir.joinpath(name), shipped_rules_dir().joinpath("tests", name)):
        if candidate.is_file():
            return candidate
    return None


def run_tests(directory: Traversable | str | Path | None = None) -> list[CaseResult]:
    """Run every rule's tests in `directory` (default: the shipped pack).

    Raises RuleLoadError / RuleTestError when the rules or tests are unusable.
    """
    rules_dir = _as_dir(directory)
    pack = load_rules([rules_dir])
    tests_dir = rules_dir.joinpath("tests")
    base_file = _base_file(tests_dir, BASE_SNAPSHOT)
    if base_file is None:
        raise RuleTestError(f"{tests_dir}: no {BASE_SNAPSHOT} here or in the shipped pack")
    base_text = base_file.read_text(encoding="utf-8")
    snapshot.loads(base_text, origin=str(base_file))
    config_file = _base_file(tests_dir, BASE_CONFIG)
    base_config = Config()
    if config_file is not None:
        data, marks = yamlsafe.load(config_file.read_text(encoding="utf-8"), str(config_file))
        base_config = config_from_data(data, marks)
    suites = _read_suites(tests_dir, pack)
    results: list[CaseResult] = []
    for rule in pack.rules:
        suite = suites.get(rule.id)
        if suite is None:
            results.append(CaseResult(rule.id, "(no tests)", [f"no test file tests/{rule.id}.yaml"]))
            continue
        data, marks = suite
        for i, case in enumerate(data["cases"]):
            results.append(_run_case(rule, pack, case, base_text, base_config, marks, ("cases", i)))
    return results


def _read_suites(tests_dir: Traversable, pack: RulePack) -> dict[str, tuple[dict[str, Any], yamlsafe.Marks]]:
    suites: dict[str, tuple[dict[str, Any], yamlsafe.Marks]] = {}
    if not tests_dir.is_dir():
        return suites
    files = sorted((f for f in tests_dir.iterdir() if f.is_file() and f.name.endswith((".yaml", ".yml"))
                    and f.name != BASE_CONFIG), key=lambda f: f.name)
    for file in files:
        origin = str(file)
        data, marks = yamlsafe.load(file.read_text(encoding="utf-8"), origin)
        errors = sorted(_tests_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            error = errors[0]
            raise RuleTestError(f"{marks.where(tuple(error.absolute_path))}: {error.message}")
        rule_id = data["rule"]
        if pack.get(rule_id) is None:
            raise RuleTestError(f"{marks.where(('rule',))}: tests name unknown rule {rule_id!r}")
        if Path(file.name).stem != rule_id:
            raise RuleTestError(f"{marks.where(('rule',))}: tests for {rule_id} must be in tests/{rule_id}.yaml")
        suites[rule_id] = (data, marks)
    return suites


def _run_case(rule: Rule, pack: RulePack, case: dict[str, Any], base_text: str, base_config: Config,
              marks: yamlsafe.Marks, path: tuple[Any, ...]) -> CaseResult:
    result = CaseResult(rule.id, case["name"])
    where = marks.where(path)
    data = json.loads(base_text)
    config = base_config
    baseline_raw: Any = None
    has_baseline = False
    try:
        for j, op in enumerate(case.get("patch", [])):
            op_path = path + ("patch", j)
            if "config" in op:
                config = config_from_data(op["config"], marks.sub(op_path + ("config",)))
            elif "baseline" in op:
                baseline_raw, has_baseline = op["baseline"], True
            else:
                _apply(data, op, rule, f"{marks.where(op_path)}")
        snapshot.validate(data, origin=f"{where}: patched snapshot")
        baseline = _prepare_baseline(baseline_raw, data, config, where) if has_baseline else None
        scan = _evaluate_one(rule, pack, data, config, baseline)
    except (CaseFailure, InputError) as exc:
        result.problems.append(str(exc))
        return result
    coverage = next((c for c in scan.coverage if c.rule_id == rule.id), None)
    status = coverage.status if coverage else "disabled"
    if "coverage" in case and status != case["coverage"]:
        result.problems.append(f"{where}: coverage is {status}, expected {case['coverage']}"
                               + (f" ({coverage.reason})" if coverage and coverage.reason else ""))
    elif "coverage" not in case and status == "error":
        result.problems.append(f"{where}: the rule failed: {coverage.reason if coverage else ''}")
    if "expect" in case:
        result.problems.extend(f"{where}: {p}" for p in compare(case["expect"], scan.findings))
    return result


def _evaluate_one(rule: Rule, pack: RulePack, data: dict[str, Any], config: Config, baseline: Any) -> ScanResult:
    # The case config may set other rules of the pack: check it against the whole pack,
    # then run the one rule with only its own settings.
    configure(pack, config)
    own = replace(config, rules={k: v for k, v in config.rules.items() if k == rule.id},
                  suppressions=tuple(s for s in config.suppressions if s.rule == rule.id))
    return evaluate(data, RulePack(rules=(rule,), dirs=pack.dirs), own, baseline=baseline)


def _prepare_baseline(raw: Any, data: dict[str, Any], config: Config, where: str) -> Any:
    from connguard.baseline import prepare

    return prepare(raw, data, origin=f"{where}: baseline", approved_admins=list(config.approved_admins))


def _resolve(data: Any, dotted: str, where: str, *, create: bool = False) -> tuple[Any, str | int]:
    """The container holding the last segment of `dotted`, and that segment."""
    steps: list[str | int] = [int(s) if s.isdigit() else s for s in dotted.split(".")]
    node = data
    for step in steps[:-1]:
        if isinstance(node, dict):
            if step not in node and create:
                node[step] = {}
            node = node.get(step) if step in node else None
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            node = None
        if node is None:
            raise CaseFailure(f"{where}: path {dotted!r} does not exist in the snapshot")
    return node, steps[-1]


def _list_at(data: Any, dotted: str, where: str) -> list[Any]:
    parent, last = _resolve(data, dotted, where)
    value = parent.get(last) if isinstance(parent, dict) else None
    if not isinstance(value, list):
        raise CaseFailure(f"{where}: {dotted!r} is not a list")
    return value


def _matching(data: dict[str, Any], items: list[Any], expression: str, rule: Rule, where: str) -> list[bool]:
    try:
        compiled = jmespath.compile(expression)
        opts = options(parse_time(data["collected_at"]), rule.param_values())
        return [bool(compiled.search(item, options=opts)) for item in items]
    except Exception as exc:  # noqa: BLE001 - any failure of a test's `where` fails the case
        raise CaseFailure(f"{where}: where {expression!r} failed: {exc}") from None


def _apply(data: dict[str, Any], op: dict[str, Any], rule: Rule, where: str) -> None:
    if "add" in op:
        _list_at(data, op["add"], where).append(copy.deepcopy(op["value"]))
    elif "update" in op:
        items = _list_at(data, op["update"], where)
        hits = _matching(data, items, op["where"], rule, where)
        if not any(hits):
            raise CaseFailure(f"{where}: update of {op['update']} matched no item")
        for item, hit in zip(items, hits):
            if hit:
                item.update(copy.deepcopy(op["set"]))
    elif "remove" in op:
        items = _list_at(data, op["remove"], where)
        hits = _matching(data, items, op["where"], rule, where)
        if not any(hits):
            raise CaseFailure(f"{where}: remove from {op['remove']} matched no item")
        items[:] = [item for item, hit in zip(items, hits) if not hit]
    else:
        parent, last = _resolve(data, op["set"], where, create=True)
        if isinstance(parent, dict):
            parent[last] = copy.deepcopy(op["value"])
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            parent[last] = copy.deepcopy(op["value"])
        else:
            raise CaseFailure(f"{where}: cannot set {op['set']!r}")


def _finding_view(finding: Finding) -> dict[str, Any]:
    view = asdict(finding)
    view["connector"] = finding.connector.identity if finding.connector else None
    return view


def _partial(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _partial(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_partial, expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


def compare(expected: list[dict[str, Any]], findings: list[Finding]) -> list[str]:
    """Problems matching `expected` (partial findings) one-to-one with `findings`."""
    views = [_finding_view(f) for f in findings]
    candidates = [[j for j, view in enumerate(views) if _partial(e, view)] for e in expected]
    owner: dict[int, int] = {}

    def assign(i: int, seen: set[int]) -> bool:  # augmenting path: a maximum matching
        for j in candidates[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or assign(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    problems = [f"expected finding not produced: {json.dumps(e, sort_keys=True, default=str)}"
                for i, e in enumerate(expected) if not assign(i, set())]
    problems += [f"unexpected finding: {views[j]['connector']!r}: {views[j]['message']}"
                 for j in range(len(views)) if j not in owner]
    return problems


__all__ = ["CaseResult", "RuleTestError", "compare", "run_tests"]
