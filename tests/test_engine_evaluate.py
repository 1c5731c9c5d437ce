"""Evaluation: joins, lets, coverage, isolation of failing rules, suppressions, ordering."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from connguard.engine import configure, evaluate, load_rules
from connguard.engine.model import RulePack
from helpers_engine import SIMPLE_BODY, connector, make_snapshot, write_rule

from connguard.config import Config, RuleSettings, SuppressionRule


def pack_of(tmp_path: Path, *rules: tuple[str, str], **kwargs: Any) -> RulePack:
    for rule_id, body in rules:
        write_rule(tmp_path, rule_id, body, **kwargs)
    return load_rules([tmp_path])


def events(*rows: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"id": f"e{i}", "time": time, "operation": "Set-InboundConnector", "actor": actor, "target": target,
             "parameters": {}, "succeeded": True} for i, (time, actor, target) in enumerate(rows)]


JOIN_BODY = """\
requires: [inbound_connectors, audit_events, admins]
select: facts.inbound_connectors
as: connector
join:
  changes: {from: facts.audit_events, on: target, equals: connector.identity}
  changer: {from: facts.admins, on: upn, equals: "changes[-1].actor", first: true}
  by_either: {from: facts.audit_events, on: target, equals: "[connector.identity, connector.comment]"}
let:
  n_changes: length(changes)
  latest: changes[-1].time
where: {key: n_changes, op: gt, value: 0}
message: "{connector.identity}: {n_changes} changes, last by {changer.upn} at {latest}"
evidence:
  changer_risk: changer.risk_level
  either: length(by_either)
connector: connector
fingerprint: [connector.identity]
"""


def test_joins_are_case_insensitive_concatenate_list_keys_and_take_first(tmp_path: Path) -> None:
    pack = pack_of(tmp_path, ("T-0001", JOIN_BODY))
    snap = make_snapshot(
        inbound_connectors=[connector("Relay A", comment="Relay B"), connector("Quiet")],
        audit_events=events(("2026-11-19T10:00:00Z", "bob@contoso.com", "relay a"),
                            ("2026-11-19T11:00:00Z", "eve@contoso.com", "RELAY A"),
                            ("2026-11-19T12:00:00Z", "eve@contoso.com", "Relay B")),
        admins=[{"upn": "eve@contoso.com", "roles": [], "risk_level": "high", "risk_state": "atRisk", "sign_ins": []}],
    )
    (finding,) = evaluate(snap, pack, Config()).findings
    assert finding.message == "Relay A: 2 changes, last by eve@contoso.com at 2026-11-19T11:00:00Z"
    assert finding.evidence == {"changer_risk": "high", "either": 3}
    assert finding.connector is not None and finding.connector.guid == "guid-relay-a"
    assert finding.pointer == "/facts/inbound_connectors/0"


def test_missing_template_values_render_as_question_mark(tmp_path: Path) -> None:
    pack = pack_of(tmp_path, ("T-0001", JOIN_BODY))
    snap = make_snapshot(inbound_connectors=[connector("Relay A")],
                         audit_events=events(("2026-11-19T10:00:00Z", "nobody@contoso.com", "Relay A")))
    (finding,) = evaluate(snap, pack, Config()).findings
    assert finding.message == "Relay A: 1 changes, last by ? at 2026-11-19T10:00:00Z"


RECENT_BODY = """\
params:
  max_age: {type: string, default: 24h}
requires: [audit_events]
select: facts.audit_events
as: event
where: {key: event.time, op: newer-than, param: max_age}
message: "{event.target} changed at {event.time}"
connector: event.target
fingerprint: [event.id]
"""


def test_time_is_the_snapshots_not_the_wall_clock(tmp_path: Path) -> None:
    pack = pack_of(tmp_path, ("T-0001", RECENT_BODY))
    snap = make_snapshot(audit_events=events(("2026-11-20T01:00:00Z", "a@contoso.com", "Fresh"),
                                             ("2026-11-18T01:00:00Z", "a@contoso.com", "Stale")))
    assert [f.connector.identity for f in evaluate(snap, pack, Config()).findings] == ["Fresh"]
    # The same facts collected a week later: nothing is recent any more.
    later = copy.deepcopy(snap)
    later["collected_at"] = "2026-11-27T12:00:00Z"
    assert evaluate(later, pack, Config()).findings == []


def test_same_input_gives_identical_results(tmp_path: Path) -> None:
    write_rule(tmp_path, "T-0001", SIMPLE_BODY, severity="low")
    write_rule(tmp_path, "T-0002", SIMPLE_BODY, severity="critical")
    write_rule(tmp_path, "T-0003", SIMPLE_BODY, severity="low")
    pack = load_rules([tmp_path])
    snap = make_snapshot(inbound_connectors=[connector("B"), connector("a")])
    first, second = evaluate(snap, pack, Config()), evaluate(copy.deepcopy(snap), pack, Config())
    assert first == second
    # severity first (critical before low), then connector identity (case-insensitive), then rule id
    assert [(f.rule_id, f.connector.identity) for f in first.findings] == [
        ("T-0002", "a"), ("T-0002", "B"), ("T-0001", "a"), ("T-0003", "a"), ("T-0001", "B"), ("T-0003", "B")]


def test_fingerprint_is_stable_across_a_version_bump(tmp_path: Path) -> None:
    snap = make_snapshot(inbound_connectors=[connector("Relay A")])
    before = evaluate(snap, pack_of(tmp_path / "v1", ("T-0001", SIMPLE_BODY)), Config()).findings[0]
    bumped = tmp_path / "v2"
    write_rule(bumped, "T-0001", SIMPLE_BODY)
    path = bumped / "T-0001.yaml"
    path.write_text(path.read_text().replace("version: 1.0.0", "version: 2.0.0"))
    after = evaluate(snap, load_rules([bumped]), Config()).findings[0]
    assert (before.rule_version, after.rule_version) == ("1.0.0", "2.0.0")
    assert before.fingerprint == after.fingerprint and len(before.fingerprint) == 32


@pytest.mark.parametrize("status", ["missing", "error"])
def test_missing_source_means_not_evaluated(tmp_path: Path, status: str) -> None:
    pack = pack_of(tmp_path, ("T-0001", SIMPLE_BODY))
    snap = make_snapshot(inbound_connectors=[connector()])
    snap["sources"]["inbound_connectors"] = {"status": status, "reason": "403 Forbidden"}
    result = evaluate(snap, pack, Config())
    assert result.findings == []
    (cov,) = result.coverage
    assert (cov.status, cov.missing) == ("not_evaluated", ["inbound_connectors"])
    assert cov.reason == f"source inbound_connectors is {status}: 403 Forbidden"


def test_partial_source_reports_findings_but_vouches_for_nothing(tmp_path: Path) -> None:
    pack = pack_of(tmp_path, ("T-0001", SIMPLE_BODY))
    snap = make_snapshot(inbound_connectors=[connector()])
    snap["sources"]["inbound_connectors"]["status"] = "partial"
    result = evaluate(snap, pack, Config())
    assert len(result.findings) == 1
    (cov,) = result.coverage
    assert cov.status == "not_evaluated" and cov.findings == 1 and "partial" in (cov.reason or "")


def test_unavailable_field_config_and_baseline_requirements(tmp_path: Path) -> None:
    needs = SIMPLE_BODY.replace("requires: [inbound_connectors]",
                                "requires: [inbound_connectors, mail_stats.p1_p2_mismatch, org.onprem_ips, baseline]")
    pack = pack_of(tmp_path, ("T-0001", needs))
    snap = make_snapshot(inbound_connectors=[connector()])
    snap["sources"]["mail_stats"]["unavailable_fields"] = ["p1_p2_mismatch"]
    (cov,) = evaluate(snap, pack, Config()).coverage
    assert cov.status == "not_evaluated"
    assert cov.missing == ["mail_stats.p1_p2_mismatch", "org.onprem_ips", "baseline"]
    snap["sources"]["mail_stats"]["unavailable_fields"] = []
    (cov,) = evaluate(snap, pack, Config(onprem_ips=("203.0.113.0/28",)), baseline={"drift": {}}).coverage
    assert cov.status == "evaluated"


def test_a_rule_that_fails_at_run_time_is_isolated(tmp_path: Path) -> None:
    broken = SIMPLE_BODY.replace("where: {key: connector.sender_domains, op: contains, value: \"*\"}",
                                 "let: {bad: \"abs(connector.identity)\"}")
    pack = pack_of(tmp_path, ("T-0001", broken), ("T-0002", SIMPLE_BODY))
    result = evaluate(make_snapshot(inbound_connectors=[connector()]), pack, Config())
    assert [f.rule_id for f in result.findings] == ["T-0002"]
    errored, fine = result.coverage
    assert errored.status == "error" and "abs()" in (errored.reason or "") and fine.status == "evaluated"


def test_disabled_rules_are_absent_from_coverage(tmp_path: Path) -> None:
    pack = pack_of(tmp_path, ("T-0001", SIMPLE_BODY), ("T-0002", SIMPLE_BODY))
    result = evaluate(make_snapshot(inbound_connectors=[connector()]), pack,
                      Config(rules={"T-0001": RuleSettings(enabled=False)}))
    assert [c.rule_id for c in result.coverage] == ["T-0002"]


def test_param_override_from_config(tmp_path: Path) -> None:
    body = SIMPLE_BODY.replace('where: {key: connector.sender_domains, op: contains, value: "*"}',
                               "params:\n  n: {type: integer, default: 5}\nwhere: {key: length(connector.sender_domains), op: gte, param: n}")
    pack = pack_of(tmp_path, ("T-0001", body))
    snap = make_snapshot(inbound_connectors=[connector(sender_domains=["a.com", "b.com"])])
    assert evaluate(snap, pack, Config()).findings == []
    config = Config(rules={"T-0001": RuleSettings(params={"n": 2})})
    assert len(evaluate(snap, pack, config).findings) == 1
    assert configure(pack, config).rules[0].params["n"].value == 2


def test_suppressions_and_their_expiry_use_the_snapshot_date(tmp_path: Path) -> None:
    pack = pack_of(tmp_path, ("T-0001", SIMPLE_BODY))
    snap = make_snapshot(inbound_connectors=[connector("Relay A"), connector("Relay B")])  # collected 2026-11-20
    config = Config(suppressions=(
        SuppressionRule("T-0001", "relay a", "known partner relay", date(2026, 11, 20), 3),
        SuppressionRule("T-0001", "Relay B", "old exception", date(2026, 11, 19), 4),
    ))
    result = evaluate(snap, pack, config)
    by_name = {f.connector.identity: f for f in result.findings}
    assert by_name["Relay A"].suppressed and by_name["Relay A"].suppression.reason == "known partner relay"
    assert not by_name["Relay B"].suppressed
    (warning,) = result.warnings
    assert "suppression of T-0001 for connector 'Relay B' (config line 4) expired on 2026-11-19" in warning


def test_deprecated_rules_still_run_and_say_what_replaces_them(tmp_path: Path) -> None:
    write_rule(tmp_path, "T-0001", SIMPLE_BODY + "deprecated: {reason: too noisy, replacement: T-0002}\n")
    path = tmp_path / "T-0001.yaml"
    path.write_text(path.read_text().replace("status: stable", "status: deprecated"))
    result = evaluate(make_snapshot(inbound_connectors=[connector()]), load_rules([tmp_path]), Config())
    assert len(result.findings) == 1
    assert result.warnings == ["rule T-0001 is deprecated: too noisy (use T-0002)"]
