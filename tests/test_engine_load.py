"""Loading rules: every problem of every file collected, each as `file:line: message`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from connguard.engine import RuleLoadError, load_rules, yamlsafe
from helpers_engine import SIMPLE_BODY, rule_text, write_rule


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RuleLoadError) as info:
        load_rules([directory])
    return info.value.problems


def test_a_valid_rule_loads_with_its_metadata(tmp_path: Path) -> None:
    path = write_rule(tmp_path, "T-0001", SIMPLE_BODY + "params:\n  limit: {type: integer, default: 3, description: d}\n")
    pack = load_rules([tmp_path])
    (rule,) = pack.rules
    assert (rule.id, rule.version, rule.status, rule.symptom, rule.severity) == (
        "T-0001", "1.0.0", "stable", "permissive-connector", "high")
    assert rule.path == str(path) and rule.line == 1
    assert rule.params["limit"].value == 3 and rule.requires == ("inbound_connectors",)


def test_shipped_pack_loads_from_the_installed_package() -> None:
    pack = load_rules()
    assert all(r.id.startswith("CG-") for r in pack.rules)
    assert pack.dirs == (str(resources.files("connguard.rules")),)


def line_of(problems: list[str], needle: str) -> int:
    (match,) = [p for p in problems if needle in p]
    return int(match.split(":")[1])


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    write_rule(tmp_path, "T-0001", """\
        params:
          limit: {type: integer, default: "three"}
        requires: [inbound_connectors, telepathy]
        select: facts.inbound_connectors[?
        as: connector
        where:
          and:
            - {key: connector.enabled, op: equals, value: true}
            - {key: connector.x, op: gt, param: limit}
        message: "{connector.identity} {nonsense.field}"
        connector: connector
        fingerprint: [frobnicate(connector)]
        """)
    problems = problems_of(tmp_path)
    origin = str(tmp_path / "T-0001.yaml")
    assert all(p.startswith(origin + ":") for p in problems)
    # The header is 8 lines; the body starts at line 9.
    assert line_of(problems, "default 'three' is not of type integer") == 10
    assert line_of(problems, "unknown source or setting 'telepathy'") == 11
    assert line_of(problems, "JMESPath syntax error") == 12
    assert line_of(problems, "unknown op 'equals'") == 16
    assert line_of(problems, "{nonsense.field}") == 18
    assert line_of(problems, "unknown JMESPath function frobnicate()") == 20


def test_duplicate_ids_across_directories(tmp_path: Path) -> None:
    write_rule(tmp_path / "a", "T-0001", SIMPLE_BODY)
    write_rule(tmp_path / "b", "T-0001", SIMPLE_BODY)
    with pytest.raises(RuleLoadError) as info:
        load_rules([tmp_path / "a", tmp_path / "b"])
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path / 'b' / 'T-0001.yaml'}:1: duplicate rule id T-0001 (also in ")


@pytest.mark.parametrize("body, needle", [
    (SIMPLE_BODY.replace("permissive", "x") + "colour: blue\n", "unknown key 'colour'"),
    (SIMPLE_BODY + "let: {n: \"param('nope')\"}\n", "param('nope') names no param"),
    (SIMPLE_BODY.replace("as: connector", "as: facts"), "name 'facts' is already used"),
    (SIMPLE_BODY.replace("message: \"{connector.identity}", "message: \"{connector.identity"), "unbalanced"),
    ("select: x\n", "'requires' is a required property"),
])
def test_semantic_problems(tmp_path: Path, body: str, needle: str) -> None:
    write_rule(tmp_path, "T-0001", body)
    assert any(needle in p for p in problems_of(tmp_path)), problems_of(tmp_path)


def test_unknown_symptom_and_bad_id(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(rule_text("T-1", SIMPLE_BODY, symptom="bad-vibes"), encoding="utf-8")
    problems = problems_of(tmp_path)
    assert any("symptom: 'bad-vibes' is not one of" in p for p in problems)
    assert any("id: 'T-1' does not match" in p for p in problems)


def test_malformed_yaml_and_missing_directory(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: T-0001\nselect: [unclosed\n", encoding="utf-8")
    (problem,) = problems_of(tmp_path)
    assert problem.startswith(f"{tmp_path / 'bad.yaml'}:3: invalid YAML")
    with pytest.raises(RuleLoadError, match="rule directory not found"):
        load_rules([tmp_path / "nowhere"])


def test_errors_are_collected_across_files(tmp_path: Path) -> None:
    write_rule(tmp_path, "T-0001", SIMPLE_BODY.replace("op: contains", "op: nope"))
    write_rule(tmp_path, "T-0002", SIMPLE_BODY.replace("select: facts.inbound_connectors", "select: '[['"))
    problems = problems_of(tmp_path)
    assert [Path(p.split(":")[0]).name for p in problems] == ["T-0001.yaml", "T-0002.yaml"]


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("text, needle", [
    (BILLION_LAUGHS, "alias bomb"),
    ("a: &a x\n" + "".join(f"k{i}: *a\n" for i in range(101)), "more than 100 YAML aliases"),
    ("a: !!python/object/apply:os.system [echo hi]\n", "is not allowed"),
    ("a: !!python/name:os.system\n", "could not determine a constructor"),
    ("a: 1\na: 2\n", "duplicate key 'a'"),
])
def test_unsafe_yaml_is_rejected(text: str, needle: str) -> None:
    with pytest.raises(yamlsafe.YamlError, match="^f.yaml:\\d+: ") as info:
        yamlsafe.load(text, "f.yaml")
    assert needle in str(info.value)


def test_yaml_scalars_follow_yaml_1_2() -> None:
    data, marks = yamlsafe.load("on: yes\nwhen: 2027-03-31\nok: true\n", "f.yaml")
    assert data == {"on": "yes", "when": "2027-03-31", "ok": True}
    assert marks.line(("when",)) == 2


def test_rule_schema_describes_the_format() -> None:
    schema = json.loads(resources.files("connguard").joinpath("schemas/rule-v1.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    import yaml
    good = yaml.safe_load(rule_text("T-0001", SIMPLE_BODY))
    assert not list(validator.iter_errors(good))
    bad = dict(good, where={"key": "x", "op": "resembles", "value": 1})
    assert list(validator.iter_errors(bad))
    assert schema["properties"]["severity"]["description"]
