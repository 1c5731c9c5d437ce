"""Properties of the shipped pack that hold for whole families of tenants, not one case.

The rule tests pin thresholds with hand-made patches; these check what a user relies on
across inputs: traffic rules judge change, not size, and findings depend on the
snapshot's own time, never on when it was taken or scanned.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connguard import snapshot
from connguard.config import Config, load_config
from connguard.engine import evaluate, load_rules
from connguard.engine.model import RulePack
from connguard.normalize import format_time, parse_time

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TRAFFIC_RULES = ("CG-0004", "CG-0005", "CG-0006", "CG-0007", "CG-0008")


@lru_cache(maxsize=1)
def base() -> dict[str, Any]:
    return snapshot.load(RULES / "tests" / "base.json").data


@lru_cache(maxsize=1)
def base_config() -> Config:
    return load_config(RULES / "tests" / "base-config.yaml")


@lru_cache(maxsize=1)
def traffic_pack() -> RulePack:
    pack = load_rules([RULES])
    return RulePack(rules=tuple(r for r in pack.rules if r.id in TRAFFIC_RULES), dirs=pack.dirs)


@settings(max_examples=25, deadline=None)
@given(factor=st.integers(min_value=2, max_value=40))
def test_uniformly_busier_traffic_is_not_a_symptom(factor: int) -> None:
    """A tenant whose every hour carries `factor` times the base's mail, with the same
    shares of spam, mismatches and new recipients, has grown, not been compromised."""
    data = copy.deepcopy(base())
    for row in data["facts"]["mail_stats"]:
        for field in ("outbound", "spam", "p1_p2_mismatch", "non_accepted_sender", "new_recipient_domain_count"):
            row[field] *= factor
    result = evaluate(data, traffic_pack(), base_config())
    assert [f.message for f in result.findings] == []
    assert {c.status for c in result.coverage} == {"evaluated"}


def _shift(value: Any, delta: timedelta) -> Any:
    if isinstance(value, dict):
        return {k: _shift(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta) for v in value]
    if isinstance(value, str) and TIME.match(value):
        return format_time(parse_time(value) + delta)
    return value


def _outcome(data: dict[str, Any]) -> list[tuple[str, str, Any]]:
    config = load_config(ROOT / "connguard" / "demo" / "config.yaml")
    result = evaluate(data, load_rules([RULES]), config)
    return sorted((f.rule_id, f.fingerprint, f.connector.identity if f.connector else None) for f in result.findings)


@settings(max_examples=5, deadline=None)
@given(days=st.integers(min_value=-3650, max_value=3650), hours=st.integers(min_value=0, max_value=23))
def test_demo_findings_depend_on_snapshot_time_only(days: int, hours: int) -> None:
    """Moving the whole demo (collected_at and every timestamp in it) in time changes no
    finding and no fingerprint: rules measure time from collected_at, never the clock."""
    demo = snapshot.load(ROOT / "connguard" / "demo" / "snapshot.json").data
    shifted = _shift(demo, timedelta(days=days, hours=hours))
    snapshot.validate(shifted)
    assert _outcome(shifted) == _outcome(json.loads(json.dumps(demo)))
