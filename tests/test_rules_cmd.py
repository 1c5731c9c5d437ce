"""`connguard rules list|validate|test` and the rule test runner, on packs written here."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from connguard.engine.ruletest import run_tests
from helpers_engine import SIMPLE_BODY, connector, make_snapshot, write_rule

from connguard.cli import main

CHANGED_BODY = """\
params:
  max_age: {type: string, default: 24h}
requires: [inbound_connectors, audit_events, org.approved_admins]
select: facts.audit_events[?operation == 'Set-InboundConnector']
as: event
where:
  and:
    - {key: event.time, op: newer-than, param: max_age}
    - {key: event.actor, op: not-in, value_key: org.approved_admins}
message: "{event.target} changed by {event.actor}"
evidence: {actor: event.actor}
connector: event.target
fingerprint: [event.id]
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["rules", *args])


def pack_dir(tmp_path: Path) -> Path:
    """A custom pack with its own healthy base fixture and base config."""
    rules = tmp_path / "pack"
    write_rule(rules, "T-0001", SIMPLE_BODY)
    write_rule(rules, "T-0002", CHANGED_BODY, symptom="connector-changed")
    tests = rules / "tests"
    tests.mkdir()
    base = make_snapshot(inbound_connectors=[connector("Relay", sender_domains=["contoso.com"])])
    (tests / "base.json").write_text(json.dumps(base), encoding="utf-8")
    (tests / "base-config.yaml").write_text("organization: {approved_admins: [admin@contoso.com]}\n")
    (tests / "T-0001.yaml").write_text(textwrap.dedent("""\
        rule: T-0001
        cases:
          - name: healthy base gives nothing
            expect: []
          - name: a wildcard sender domain
            patch:
              - {update: facts.inbound_connectors, where: "identity == 'Relay'", set: {sender_domains: ["*"]}}
            expect: [{connector: Relay, severity: high}]
          - name: no connectors collected
            patch:
              - {set: sources.inbound_connectors.status, value: missing}
            coverage: not_evaluated
        """))
    (tests / "T-0002.yaml").write_text(textwrap.dedent("""\
        rule: T-0002
        cases:
          - name: change by an unapproved account
            patch:
              - add: facts.audit_events
                value: {id: e1, time: "2026-11-20T03:00:00Z", operation: Set-InboundConnector,
                        actor: eve@contoso.com, target: Relay, parameters: {}, succeeded: true}
            expect: [{connector: Relay, evidence: {actor: eve@contoso.com}}]
          - name: the case's own config replaces the base config
            patch:
              - {config: {organization: {approved_admins: [eve@contoso.com]}}}
              - add: facts.audit_events
                value: {id: e1, time: "2026-11-20T03:00:00Z", operation: Set-InboundConnector,
                        actor: eve@contoso.com, target: Relay, parameters: {}, succeeded: true}
            expect: []
          - name: without approved admins the rule is not evaluated
            patch:
              - {config: {}}
            coverage: not_evaluated
        """))
    return rules


def test_list_shows_every_rule(tmp_path: Path) -> None:
    result = run("list", str(pack_dir(tmp_path)))
    assert result.exit_code == 0
    header, first, second = result.stdout.splitlines()
    assert header.split() == ["id", "version", "status", "symptom", "severity", "title"]
    assert first.split()[:5] == ["T-0001", "1.0.0", "stable", "permissive-connector", "high"]
    assert second.startswith("T-0002")


def test_validate_good_and_bad(tmp_path: Path) -> None:
    rules = pack_dir(tmp_path)
    assert run("validate", str(rules)).stdout == "2 rules valid\n"
    (rules / "T-0001.yaml").write_text((rules / "T-0001.yaml").read_text().replace("op: contains", "op: has"))
    (rules / "T-0002.yaml").write_text((rules / "T-0002.yaml").read_text().replace("default: 24h", "default: 24"))
    result = run("validate", str(rules))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("connguard: error: ")]
    assert len(errors) == 3 and result.stderr.splitlines()[-1] == "3 problems found"
    assert f"{rules / 'T-0001.yaml'}:12: unknown op 'has'" in errors[0]
    assert f"{rules / 'T-0002.yaml'}:10: param 'max_age': default 24 is not of type string" in errors[1]
    assert f"{rules / 'T-0002.yaml'}:16: op 'newer-than' expects a duration" in errors[2]


def test_all_cases_pass(tmp_path: Path) -> None:
    result = run("test", str(pack_dir(tmp_path)))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "6 passed, 0 failed"


def test_a_wrong_expectation_fails_with_the_reason(tmp_path: Path) -> None:
    rules = pack_dir(tmp_path)
    tests = rules / "tests" / "T-0001.yaml"
    tests.write_text(tests.read_text().replace("{connector: Relay, severity: high}", "{connector: Relay, severity: low}"))
    result = run("test", str(rules))
    assert result.exit_code == 1
    assert "FAIL  T-0001  a wildcard sender domain" in result.stdout
    assert f"{tests}:5: expected finding not produced" in result.stdout
    assert "unexpected finding: 'Relay': Relay accepts any sender domain" in result.stdout


def test_update_matching_nothing_fails_the_case(tmp_path: Path) -> None:
    rules = pack_dir(tmp_path)
    tests = rules / "tests" / "T-0001.yaml"
    tests.write_text(tests.read_text().replace("identity == 'Relay'", "identity == 'Nope'"))
    (case,) = [r for r in run_tests(rules) if r.name == "a wildcard sender domain"]
    assert not case.passed and "update of facts.inbound_connectors matched no item" in case.problems[0]


def test_a_rule_that_errors_cannot_pass_an_empty_expectation(tmp_path: Path) -> None:
    rules = pack_dir(tmp_path)
    rule = rules / "T-0001.yaml"
    rule.write_text(rule.read_text().replace('where: {key: connector.sender_domains, op: contains, value: "*"}',
                                             'let: {x: "abs(connector.identity)"}'))
    (case,) = [r for r in run_tests(rules) if r.name == "healthy base gives nothing"]
    assert not case.passed and "the rule failed" in case.problems[0]


def test_rule_without_tests_fails(tmp_path: Path) -> None:
    rules = pack_dir(tmp_path)
    write_rule(rules, "T-0003", SIMPLE_BODY)
    result = run("test", str(rules))
    assert result.exit_code == 1 and "no test file tests/T-0003.yaml" in result.stdout


@pytest.mark.parametrize("text, expected", [
    ("rule: T-0009\ncases:\n  - {name: x, expect: []}\n", ":1: tests name unknown rule 'T-0009'"),
    ("rule: T-0001\ncases:\n  - {name: x}\n", ":3: "),
    ("rule: T-0001\ncases:\n  - {name: x, expect: [], patch: [{frobnicate: 1}]}\n", ":3: "),
])
def test_unusable_tests_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    rules = pack_dir(tmp_path)
    (rules / "tests" / "T-0001.yaml").write_text(text)
    result = run("test", str(rules))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"connguard: error: {rules / 'tests' / 'T-0001.yaml'}{expected}")


def test_base_fixture_falls_back_to_the_shipped_one(tmp_path: Path) -> None:
    rules = tmp_path / "pack"
    write_rule(rules, "T-0001", SIMPLE_BODY)
    (rules / "tests").mkdir()
    (rules / "tests" / "T-0001.yaml").write_text("rule: T-0001\ncases:\n  - {name: runs, coverage: evaluated}\n")
    (result,) = run_tests(rules)
    assert result.passed, result.problems
