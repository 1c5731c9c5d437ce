"""The custom JMESPath functions, bound to the snapshot's time and the rule's params."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import jmespath
import pytest
from connguard.engine.functions import options

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=timezone.utc)


def run(expression: str, data: Any = None, params: dict[str, Any] | None = None) -> Any:
    return jmespath.search(expression, data, options=options(NOW, params or {}))


def test_param_reads_the_rule_params_and_rejects_unknown_names() -> None:
    assert run("param('ratio')", params={"ratio": 5}) == 5
    with pytest.raises(KeyError):
        run("param('other')", params={"ratio": 5})


def test_age_hours_counts_back_from_collected_at() -> None:
    assert run("age_hours('2026-11-20T10:30:00Z')") == 2.0
    assert run("age_hours('2026-11-20T13:30:00Z')") == -1.0
    assert run("age_hours('not a time')") is None


def test_median() -> None:
    assert run("median(`[3, 1, 2]`)") == 2
    assert run("median(`[4, 1, 2, 3]`)") == 2.5
    assert run("median(`[]`)") is None


def test_hourly_fills_quiet_hours_with_zero() -> None:
    rows = [
        {"hour": "2026-11-20T12:00:00Z", "n": 5},
        {"hour": "2026-11-20T10:00:00Z", "n": 7},
        {"hour": "2026-11-20T10:00:00Z", "n": 1},   # two rows in one hour add up
        {"hour": "2026-11-19T10:00:00Z", "n": 100},  # outside the range
    ]
    # ages: 12:00 -> 0.5, 11:00 -> 1.5, 10:00 -> 2.5, 09:00 -> 3.5; oldest first
    assert run("hourly(@, 'n', `0`, `4`)", rows) == [0, 8, 0, 5]
    assert run("median(hourly(@, 'n', `1`, `4`))", rows) == 0


def test_group_by_domain_unique_lower_ratio_cidr_outside() -> None:
    items = [{"d": "b"}, {"d": "a"}, {"d": "b"}]
    assert run("group_by(@, 'd')[].{k: key, n: length(items)}", items) == [{"k": "a", "n": 1}, {"k": "b", "n": 2}]
    assert run("domain('Eve@Mail.Contoso.COM.')") == "mail.contoso.com"
    assert run("domain('no-at-sign')") is None
    assert run("unique(`[2, 1, 2, {\"a\": 1}, {\"a\": 1}]`)") == [2, 1, {"a": 1}]
    assert run("lower('ABC')") == "abc"
    assert run("ratio(`1`, `4`)") == 0.25
    assert run("ratio(`1`, `0`)") is None
    assert run("ratio(`null`, `2`)") is None
    assert run("cidr_outside(`[\"10.1.2.3\", \"192.0.2.1\", \"junk\"]`, `[\"10.0.0.0/8\"]`)") == ["192.0.2.1", "junk"]
