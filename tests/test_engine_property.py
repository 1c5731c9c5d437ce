"""Property: any well-typed snapshot can be scanned; no rule crashes on odd but valid data.

Snapshots are drawn from strategies derived from the snapshot schema itself (types,
nullables, required keys, enums), so the property follows the schema as it evolves.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from connguard.engine import evaluate, load_rules
from helpers_engine import write_rule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connguard import snapshot
from connguard.config import Config

TIMES = st.sampled_from(["2026-11-20T11:00:00Z", "2026-11-19T03:00:00Z", "2026-10-01T00:00:00Z",
                         "2026-11-21T00:00:00Z", "2026-11-20T12:00:00Z"])
NAMES = st.sampled_from(["Relay A", "relay a", "Partner", "", "*", "198.51.100.7", "a@contoso.com", "contoso.com"])
IPS = st.sampled_from(["203.0.113.5", "203.0.113.0/28", "198.51.100.7/32", "2001:db8::1", "garbage",
                       "10.0.0.1-10.0.0.9", ""])


def _from_schema(node: dict[str, Any], root: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    if "$ref" in node:
        return _from_schema(root["definitions"][node["$ref"].split("/")[-1]], root, name)
    if "anyOf" in node and "properties" not in node:
        return st.one_of([_from_schema(n, root, name) for n in node["anyOf"]])
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if node.get("pattern", "").startswith("^\\d{4}"):
        return TIMES
    types = node.get("type", "object" if "properties" in node else "string")
    options = [types] if isinstance(types, str) else types
    return st.one_of([_typed(kind, node, root, name) for kind in options])


def _typed(kind: str, node: dict[str, Any], root: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=node.get("minimum", -5), max_value=5000)
    if kind == "string":
        return IPS if "ip" in name else NAMES
    if kind == "array":
        return st.lists(_from_schema(node.get("items", {}), root, name), max_size=4)
    properties = node.get("properties", {})
    if not properties:  # free-form mapping (audit parameters)
        return st.dictionaries(st.sampled_from(["Identity", "SenderDomains", "RequireTls"]),
                               st.one_of(st.none(), NAMES), max_size=3)
    required = set(node.get("required", []))
    if "anyOf" in node:  # blocked connectors: one of id or name is required
        required |= {node["anyOf"][0]["required"][0]}
    fields = {k: _from_schema(v, root, k) for k, v in properties.items()}
    return st.fixed_dictionaries({k: s for k, s in fields.items() if k in required},
                                 optional={k: s for k, s in fields.items() if k not in required})


SCHEMA = snapshot.schema()
FACTS = {name: st.lists(_from_schema(SCHEMA["properties"]["facts"]["properties"][name]["items"], SCHEMA, name),
                        max_size=5)
         for name in snapshot.FACT_SETS}
STATUS = st.sampled_from(["ok", "ok", "partial", "missing", "error"])


@st.composite
def snapshots(draw: st.DrawFn) -> dict[str, Any]:
    data = snapshot.empty(tenant_domain="contoso.onmicrosoft.com", collected_at="2026-11-20T12:00:00Z",
                          window_start="2026-11-10T12:00:00Z", window_end="2026-11-20T12:00:00Z", version="0")
    for name in snapshot.FACT_SETS:
        data["facts"][name] = draw(FACTS[name])
        data["sources"][name] = {"status": draw(STATUS), "count": len(data["facts"][name])}
    snapshot.validate(data)
    return data


CONFIGS = st.sampled_from([
    Config(),
    Config(onprem_ips=("203.0.113.0/28", "2001:db8::/32"), approved_admins=("a@contoso.com",)),
])

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=snapshots(), config=CONFIGS)
def test_shipped_pack_never_errors_on_a_valid_snapshot(data: dict[str, Any], config: Config) -> None:
    pack = _shipped()
    before = copy.deepcopy(data)
    result = evaluate(data, pack, config)
    errors = [(c.rule_id, c.reason) for c in result.coverage if c.status == "error"]
    assert not errors
    assert data == before  # rules never modify the snapshot
    assert evaluate(data, pack, config) == result  # deterministic


EXERCISE = """\
params:
  limit: {type: integer, default: 1}
  window: {type: string, default: 48h}
requires: [inbound_connectors, audit_events, mail_stats, alerts]
select: facts.inbound_connectors
as: connector
join:
  events: {from: facts.audit_events, on: target, equals: connector.identity}
  actor: {from: facts.admins, on: upn, equals: "events[-1].actor", first: true}
  mail: {from: facts.mail_stats, on: connector, equals: "[connector.identity, connector.name]"}
  alerts: {from: facts.alerts, on: connector_names, equals: connector.identity}
let:
  recent: "mail[?age_hours(hour) < `24`]"
  hours: "hourly(mail, 'outbound', `0`, `72`)"
  median_hour: median(hours)
  peak: "max(recent[].outbound) || `0`"
  share: "ratio(sum(recent[].spam[?@ != null] || `[]`), sum(recent[].outbound))"
  outside: "cidr_outside(connector.sender_ip_addresses, org.onprem_ips)"
  domains: "unique(events[].actor)[?@ != null] | map(&domain(@), @)"
  groups: "group_by(events, 'operation')"
where:
  or:
    - {key: peak, op: gte, param: limit}
    - {key: connector.sender_ip_addresses, op: cidr-not-in, value_key: org.onprem_ips}
    - {key: connector.sender_domains, op: intersect, value: ["*"]}
    - {key: "events[-1].time", op: newer-than, param: window}
    - {key: "lower(connector.identity)", op: glob, value: "relay*"}
    - {key: connector.comment, op: regex, value: "(?i)wizard"}
    - {key: actor.risk_level, op: in, value: [high, medium]}
    - {key: alerts, op: present}
message: "{connector.identity} peak {peak} median {median_hour} share {share} actor {actor.upn} {outside}"
evidence: {peak: peak, share: share, outside: outside, domains: domains, groups: "length(groups)"}
connector: connector
fingerprint: [connector.guid, connector.identity]
"""


@SETTINGS
@given(data=snapshots(), config=CONFIGS)
def test_every_construct_survives_arbitrary_valid_snapshots(tmp_path_factory: Any, data: dict[str, Any],
                                                            config: Config) -> None:
    rules = _exercise_pack(tmp_path_factory.getbasetemp())
    result = evaluate(data, rules, config)
    assert [c.status for c in result.coverage] != ["error"], result.coverage


_PACKS: dict[Any, Any] = {}


def _shipped() -> Any:
    if "shipped" not in _PACKS:
        _PACKS["shipped"] = load_rules()
    return _PACKS["shipped"]


def _exercise_pack(base: Path) -> Any:
    if base not in _PACKS:
        write_rule(base / "exercise", "T-0001", EXERCISE)
        _PACKS[base] = load_rules([base / "exercise"])
    return _PACKS[base]


@SETTINGS
@given(data=snapshots(), config=CONFIGS)
def test_any_valid_snapshot_scans_to_schema_valid_sarif_and_json(data: dict[str, Any], config: Config) -> None:
    """The whole path a CI job takes (engine, then writers) on arbitrary well-typed facts."""
    from helpers_report import report_validator, sarif_validator

    from connguard.reports import ScanReport, render

    pack = _shipped()
    text = snapshot.dumps(data)
    report = ScanReport(result=evaluate(data, pack, config), pack=pack, snapshot=data, snapshot_path="snap.json",
                        snapshot_sha256="0" * 64, snapshot_text=text, tool_version="0", config_path=None,
                        baseline_path=None)
    sarif, as_json = json.loads(render("sarif", report)), json.loads(render("json", report))
    assert list(sarif_validator().iter_errors(sarif)) == []
    assert list(report_validator().iter_errors(as_json)) == []
    assert len(sarif["runs"][0]["results"]) == len(as_json["findings"])
    assert render("json", report) == render("json", report)
