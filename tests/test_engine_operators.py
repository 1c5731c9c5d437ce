"""Every condition operator, with a case where it holds and one where it does not."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from connguard.engine.conditions import OPS, compile_condition
from connguard.engine.expr import Problems
from connguard.engine.functions import options

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


class Scope:
    def __init__(self, context: dict[str, Any], params: dict[str, Any]) -> None:
        self.context, self.params, self.now = context, params, NOW.timestamp()
        self.opts = options(NOW, params)
        self.prepared: dict[Any, Any] = {}

    def search(self, compiled: Any) -> Any:
        return compiled.search(self.context, options=self.opts)


def holds(tree: dict[str, Any], context: dict[str, Any], params: dict[str, Any] | None = None) -> bool:
    problems = Problems()
    condition = compile_condition(tree, ("where",), problems, params or {})
    assert not problems.items, problems.items
    assert condition is not None
    return condition.test(Scope(context, params or {}))


CASES = [
    # (op, value, key value that holds, key value that does not)
    ("eq", "Contoso.COM", "contoso.com", "fabrikam.com"),
    ("eq", True, True, 1),
    ("ne", "contoso.com", "fabrikam.com", "CONTOSO.com"),
    ("gt", 10, 11, 10),
    ("gte", 10, 10, 9.5),
    ("lt", 10, 9, "5"),
    ("lte", 10, 10, None),
    ("in", ["OnPremises", "Partner"], "onpremises", "Other"),
    ("not-in", ["OnPremises"], "Partner", "ONPREMISES"),
    ("contains", "*", ["contoso.com", "*"], ["contoso.com"]),
    ("contains", "relay", "Hybrid RELAY 1", "Hybrid"),
    ("intersect", ["a", "b"], ["x", "B"], ["x", "y"]),
    ("glob", "*.contoso.com", "Mail.Contoso.com", "contoso.com"),
    ("regex", r"^relay-\d+$", "relay-12", "Relay-12"),
    ("regex", r"(?i)^relay", "RELAY-1", "a relay"),
    ("cidr-in", ["203.0.113.0/24"], ["203.0.113.5", "203.0.113.128/25"], ["203.0.113.5", "198.51.100.1"]),
    ("cidr-in", ["203.0.113.0/24"], "203.0.113.9", []),
    ("cidr-in", ["203.0.113.0/24"], "203.0.113.1-203.0.113.20", "203.0.113.250-203.0.114.2"),
    ("cidr-not-in", ["203.0.113.0/24"], ["203.0.113.5", "198.51.100.1"], ["203.0.113.5"]),
    ("cidr-not-in", ["2001:db8::/32"], ["not-an-ip"], []),
    ("older-than", "36h", "2026-11-18T23:59:59Z", "2026-11-19T00:00:01Z"),
    ("older-than", "P2D", "2026-11-18T11:00:00Z", "bogus"),
    ("newer-than", "9d", "2026-11-12T00:00:00Z", "2026-11-10T00:00:00Z"),
]


@pytest.mark.parametrize("op, value, yes, no", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_operator_true_and_false(op: str, value: Any, yes: Any, no: Any) -> None:
    tree = {"key": "k", "op": op, "value": value}
    assert holds(tree, {"k": yes}) is True
    assert holds(tree, {"k": no}) is False


@pytest.mark.parametrize("empty", [None, []])
def test_absent_and_present(empty: Any) -> None:
    assert holds({"key": "k", "op": "absent"}, {"k": empty})
    assert holds({"key": "missing.deeper", "op": "absent"}, {})
    assert not holds({"key": "k", "op": "present"}, {"k": empty})
    assert holds({"key": "k", "op": "present"}, {"k": ["x"]})
    assert not holds({"key": "k", "op": "absent"}, {"k": 0})


def test_every_documented_operator_is_covered() -> None:
    covered = {c[0] for c in CASES} | {"absent", "present"}
    assert covered == set(OPS)


def test_param_and_value_key_operands() -> None:
    assert holds({"key": "n", "op": "gte", "param": "limit"}, {"n": 5}, {"limit": 5})
    assert not holds({"key": "n", "op": "gte", "param": "limit"}, {"n": 4}, {"limit": 5})
    assert holds({"key": "ips", "op": "cidr-not-in", "value_key": "org.onprem_ips"},
                 {"ips": ["198.51.100.7"], "org": {"onprem_ips": ["203.0.113.0/28"]}})
    # A value_key that yields nothing compares with nothing: the condition is false.
    assert not holds({"key": "n", "op": "gte", "value_key": "median"}, {"n": 4, "median": None})


def test_combinators() -> None:
    tree = {"and": [{"key": "a", "op": "eq", "value": 1},
                    {"or": [{"key": "b", "op": "eq", "value": 2}, {"not": {"key": "c", "op": "present"}}]}]}
    assert holds(tree, {"a": 1, "b": 2, "c": 1})
    assert holds(tree, {"a": 1, "b": 3})
    assert not holds(tree, {"a": 1, "b": 3, "c": 1})
    assert not holds(tree, {"a": 2, "b": 2})


@pytest.mark.parametrize("tree, message", [
    ({"key": "a", "op": "like", "value": 1}, "unknown op 'like'"),
    ({"key": "a", "op": "eq"}, "needs exactly one of value, param or value_key"),
    ({"key": "a", "op": "eq", "value": 1, "param": "p"}, "needs exactly one"),
    ({"key": "a", "op": "absent", "value": 1}, "takes no value"),
    ({"key": "a", "op": "regex", "value": "(unclosed"}, "invalid regex"),
    ({"key": "a", "op": "cidr-in", "value": ["not a cidr"]}, "no valid CIDR"),
    ({"key": "a", "op": "older-than", "value": "3 weeks"}, "not a duration"),
    ({"key": "a", "op": "gt", "value": "ten"}, "expects a number"),
    ({"key": "a", "op": "in", "value": "x"}, "expects a list"),
    ({"key": "a", "op": "eq", "param": "nope"}, "param 'nope' is not defined"),
    ({"key": "a[", "op": "present"}, "JMESPath syntax error"),
    ({"key": "a", "op": "eq", "value": 1, "vaule": 2}, "unknown key 'vaule'"),
    ({"and": []}, "non-empty list"),
])
def test_bad_conditions_are_load_problems(tree: dict[str, Any], message: str) -> None:
    problems = Problems()
    assert compile_condition(tree, ("where",), problems, {}) is None
    assert any(message in text for _, text in problems.items), problems.items
