"""The closure compiler agrees with jmespath's reference interpreter.

Two checks: a corpus of expressions covering every AST node type, on arbitrary JSON
values; and whole scans (shipped pack plus a rule exercising every construct) on
schema-derived snapshots, run once with the closures and once with the reference
interpreter, which must give identical results.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import jmespath
import pytest
from connguard.engine import evaluate, load_rules
from connguard.engine.fastpath import Expr
from connguard.engine.fastpath import compile as fast_compile
from connguard.engine.functions import options
from helpers_engine import write_rule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_property import CONFIGS, EXERCISE, _shipped, snapshots

from connguard.config import Config

CORPUS = [
    "a", "a.b.c", "a[0]", "a[-1].b", "a[1:3]", "a[::-1]", "a[*].b", "a[].b", "a[]", "*.b", "a.*",
    "a[?b == `1`]", "a[?b != 'x'].c", "a[?b == `true`]", "a[?b != `0`]", "a[?b == 'x']", "a[?b == `null`]", "a[?b > `1`]", "a[?b >= c]", "a[?b < 'm']", "a[?!b]", "a[?b && c]",
    "a || b", "a && b", "!a", "!`0`", "a == `true`", "a == `1`", "`0` == `false`", "a | b", "a[0] | [b, c]",
    "{x: a, y: b.c}", "[a, b]", "length(a)", "sort_by(a, &b)", "max_by(a, &b)", "map(&b, a)",
    "contains(a, 'x')", "keys(@)", "sort(keys(@))", "@", "a.b[?c].d | [0]", "a[?contains(['x', 'y'], b)]",
    "to_string(a)", "sum(a[].b)", "not_null(a, b)", "a[?b].c[]", "a[*][0]", "a.b || `[]`",
]
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(-2, 3, allow_nan=False),
              st.sampled_from(["", "x", "y", "m"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner, max_size=4)),
    max_leaves=20,
)
NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def outcome(run: Any) -> tuple[str, Any]:
    try:
        return ("ok", run())
    except Exception as exc:  # noqa: BLE001 - the two must fail alike, too
        return ("error", type(exc).__name__)


@settings(max_examples=150, deadline=None)
@given(value=JSON)
def test_corpus_matches_the_reference(value: Any) -> None:
    opts = options(NOW, {})
    for text in CORPUS:
        reference = outcome(lambda: jmespath.compile(text).search(value, options=opts))
        fast = outcome(lambda: fast_compile(text).search(value, options=opts))
        assert fast == reference, text


class ReferenceMode:
    """Temporarily route every Expr through jmespath's interpreter."""

    def __enter__(self) -> None:
        self.saved = Expr.search, Expr.run
        Expr.search = lambda self, value, options=None: jmespath.compile(self.expression).search(  # type: ignore
            value, options=options)
        Expr.run = lambda self, value, functions: jmespath.compile(self.expression).search(  # type: ignore
            value, options=jmespath.Options(custom_functions=functions))

    def __exit__(self, *exc: object) -> None:
        Expr.search, Expr.run = self.saved  # type: ignore[method-assign]


_EXERCISE: dict[str, Any] = {}


def exercise_pack(tmp_path_factory: Any) -> Any:
    if "pack" not in _EXERCISE:
        base = tmp_path_factory.mktemp("exercise")
        write_rule(base, "T-0001", EXERCISE)
        _EXERCISE["pack"] = load_rules([base])
    return _EXERCISE["pack"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=snapshots(), config=CONFIGS)
def test_whole_scans_match_the_reference(tmp_path_factory: Any, data: dict[str, Any], config: Config) -> None:
    for pack in (_shipped(), exercise_pack(tmp_path_factory)):
        fast = evaluate(data, pack, config)
        with ReferenceMode():
            reference = evaluate(data, pack, config)
        assert fast == reference


ORIGINAL = (Expr.search, Expr.run)


def test_reference_mode_really_switches() -> None:
    with ReferenceMode():
        assert Expr.search is not ORIGINAL[0] and Expr.run is not ORIGINAL[1]
    assert (Expr.search, Expr.run) == ORIGINAL


@pytest.mark.parametrize("text", ["a[?b == `1`]", "a.b"])
def test_expr_keeps_the_parsed_interface(text: str) -> None:
    expr = fast_compile(text)
    assert expr.expression == text and expr.parsed == jmespath.compile(text).parsed


def eager(pack: Any) -> Any:
    """The same pack with every join and let computed before `where` (no staging)."""
    from dataclasses import replace

    from connguard.engine.model import RulePack
    rules = tuple(replace(r, logic=replace(r.logic, before_where=r.logic.before_where + r.logic.after_where,
                                           after_where=())) for r in pack.rules)
    return RulePack(rules=rules, dirs=pack.dirs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=snapshots(), config=CONFIGS)
def test_staged_evaluation_equals_eager_evaluation(tmp_path_factory: Any, data: dict[str, Any],
                                                   config: Config) -> None:
    for pack in (_shipped(), exercise_pack(tmp_path_factory)):
        assert evaluate(data, pack, config) == evaluate(data, eager(pack), config)


@pytest.mark.parametrize("text, names", [
    ("events[?actor == 'x'].target", {"events"}),
    ("event.actor", {"event"}),
    ("a && !b.c || length(d)", {"a", "b", "d"}),
    ("sort_by(x, &y)[0].z", {"x"}),
    ("{k: a, l: [b, `1`]}", {"a", "b"}),
    ("length(@)", None),
])
def test_root_names(text: str, names: set[str] | None) -> None:
    from connguard.engine.fastpath import root_names
    assert root_names(jmespath.compile(text).parsed) == names


def test_where_needs_only_its_own_dependencies(tmp_path: Any) -> None:
    write_rule(tmp_path, "T-0001", """\
        requires: [audit_events, admins]
        select: facts.audit_events
        as: event
        join:
          who: {from: facts.admins, on: upn, equals: event.actor, first: true}
        let:
          risky: "who.risk_level == 'high'"
          label: "event.target || 'unknown'"
        where: {key: risky, op: eq, value: true}
        message: "{label}"
        fingerprint: [event.id]
        """)
    logic = load_rules([tmp_path]).rules[0].logic
    assert [getattr(s, "name", None) or s[0] for s in logic.before_where] == ["who", "risky"]
    assert [s[0] for s in logic.after_where] == ["label"]
