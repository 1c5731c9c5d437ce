"""The shipped rule pack: its own rule tests, symptom coverage, documentation of defaults,
the healthy base fixture and the demo tenant.

The rule tests (rules/tests/<ID>.yaml) run through the engine's rule test runner, one
pytest case per rule-test case, so a failing threshold shows up under its own name.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connguard import snapshot
from connguard.cli import main as cli
from connguard.config import load_config
from connguard.engine import evaluate, load_rules
from connguard.engine.model import SYMPTOMS, Rule
from connguard.engine.ruletest import CaseResult, run_tests
from connguard.engine.yamlsafe import load as load_yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
TESTS = RULES / "tests"
DEMO = ROOT / "connguard" / "demo"
HEALTHY = "Inbound from Contoso on-prem"
ROGUE = "Contoso Relay 02"
# The rules this pack ships for the twelve symptoms without a baseline (CG-01xx are the
# baseline drift rules, which have their own tests).
OWN = re.compile(r"^CG-00\d\d$")


@lru_cache(maxsize=1)
def case_results() -> tuple[CaseResult, ...]:
    return tuple(run_tests(RULES))


@lru_cache(maxsize=1)
def own_rules() -> tuple[Rule, ...]:
    return tuple(r for r in load_rules([RULES]).rules if OWN.match(r.id))


def _case_id(result: CaseResult) -> str:
    return f"{result.rule_id}: {result.name}"


@pytest.mark.parametrize("result", case_results(), ids=_case_id)
def test_rule_case(result: CaseResult) -> None:
    assert result.passed, "\n".join(result.problems)


def test_every_symptom_has_a_stable_rule() -> None:
    stable = {r.symptom for r in own_rules() if r.status == "stable"}
    assert sorted(set(SYMPTOMS) - stable) == []


def _mentions(description: str, value: Any) -> bool:
    if isinstance(value, list):
        return all(_mentions(description, v) for v in value)
    return re.search(rf"(?<![\w.]){re.escape(str(value))}(?![\w]|\.\d)", description) is not None


@pytest.mark.parametrize("rule", own_rules(), ids=lambda r: r.id)
def test_description_states_every_param_and_default(rule: Rule) -> None:
    text = " ".join(rule.description.split())
    for name, param in rule.params.items():
        assert name in text, f"{rule.id}: description does not name param {name}"
        assert _mentions(text, param.default), f"{rule.id}: description does not state {name}'s default {param.default!r}"


def _suite(rule_id: str) -> list[dict[str, Any]]:
    path = TESTS / f"{rule_id}.yaml"
    data, _ = load_yaml(path.read_text(encoding="utf-8"), str(path))
    cases: list[dict[str, Any]] = data["cases"]
    return cases


@pytest.mark.parametrize("rule", own_rules(), ids=lambda r: r.id)
def test_rule_tests_cover_positive_negative_and_missing_data(rule: Rule) -> None:
    cases = _suite(rule.id)
    positives = [c for c in cases if c.get("expect")]
    negatives = [c for c in cases if c.get("patch") and c.get("expect") == []]
    missing = [c for c in cases if c.get("coverage") == "not_evaluated"]
    assert cases[0].get("patch") is None and cases[0].get("expect") == [], "first case: the healthy base gives nothing"
    assert positives, f"{rule.id}: no case that gives a finding"
    assert negatives, f"{rule.id}: no near-miss case that gives nothing"
    assert missing, f"{rule.id}: no case for missing data"


def _scan(snapshot_path: Path, config_path: Path) -> Any:
    return evaluate(snapshot.load(snapshot_path).data, load_rules([RULES]), load_config(config_path))


def test_healthy_base_gives_no_finding_and_every_rule_runs() -> None:
    result = _scan(TESTS / "base.json", TESTS / "base-config.yaml")
    assert [f.message for f in result.findings] == []
    statuses = {c.rule_id: c.status for c in result.coverage if OWN.match(c.rule_id)}
    assert statuses and set(statuses.values()) == {"evaluated"}, statuses


def test_demo_shows_every_symptom_on_the_rogue_connector_and_none_on_the_healthy_one() -> None:
    outcome = CliRunner().invoke(cli, ["scan", "--demo", "--format", "json"])
    assert outcome.exit_code == 1, outcome.output  # findings at or above the default --fail-on
    report = json.loads(outcome.stdout)
    findings = report["findings"]
    assert sorted({f["symptom"] for f in findings}) == sorted(SYMPTOMS)
    connectors = {(f["connector"] or {}).get("identity") for f in findings}
    assert HEALTHY not in connectors
    assert connectors == {ROGUE, None}
    expected_rules = {f"CG-{n:04d}" for n in range(1, 15)} - {"CG-0003"}  # no alert for a vanished connector
    assert {f["rule_id"] for f in findings} == expected_rules
    tenant_wide = [f for f in findings if f["connector"] is None]
    assert [(f["symptom"], f["evidence"]["account"]) for f in tenant_wide] == [
        ("admin-compromised", "adele.vance@contoso.com")
    ]


def test_demo_and_base_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_fixtures", ROOT / "examples" / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, "stale fixtures: run python examples/make_fixtures.py"


def test_snapshot_format_example_is_a_valid_snapshot_with_the_coverage_it_describes() -> None:
    text = (ROOT / "docs" / "snapshot-format.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", text, re.DOTALL)
    assert block is not None, "docs/snapshot-format.md lost its example"
    example = json.loads(block.group(1))
    snapshot.validate(example, origin="docs/snapshot-format.md")
    result = evaluate(example, load_rules([RULES]), load_config(TESTS / "base-config.yaml"))
    skipped = {c.rule_id for c in result.coverage if c.status == "not_evaluated" and OWN.match(c.rule_id)}
    assert {"CG-0002", "CG-0003", "CG-0005"} <= skipped  # alerts missing, no P2
    assert result.findings == []


@pytest.mark.parametrize("rule", own_rules(), ids=lambda r: r.id)
def test_rules_catalogue_documents_rule_and_params(rule: Rule) -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    heading = f"### {rule.id} {rule.title}\n"
    assert heading in text, f"docs/rules.md has no section {heading.strip()!r}"
    section = text.split(heading, 1)[1].split("\n### ", 1)[0]
    assert f"*{rule.symptom}, {rule.severity}." in section
    for name, param in rule.params.items():
        row = next((line for line in section.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{rule.id}: docs/rules.md does not explain param {name}"
        assert _mentions(row, param.default), f"{rule.id}: docs/rules.md gives another default for {name}"


def test_example_config_loads_against_the_shipped_pack() -> None:
    from connguard.engine import configure

    config = load_config(ROOT / "examples" / "config.yaml")
    pack = configure(load_rules([RULES]), config)
    by_id = {r.id: r for r in pack.rules}
    assert by_id["CG-0004"].param_values()["spike_ratio"] == 15
    assert not by_id["CG-0008"].enabled
