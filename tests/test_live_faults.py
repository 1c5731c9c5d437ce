"""Injected faults are survived with no row lost or doubled, and show in the source table;
a source the app may not read is `missing` with the permission to grant, the others go on,
and the rules that need it are `not_evaluated`."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import pytest
from connguard.collectors.live.progress import print_summary
from fake_m365 import dataset

if TYPE_CHECKING:
    from helpers_live import LiveEnv

pytest_plugins = ("helpers_live",)  # the live/live_pki fixtures


@pytest.fixture
def clean(live: LiveEnv) -> dict[str, Any]:
    """The facts of a fault-free collection at the same moment."""
    return live.collect().snapshot["facts"]


def _tracker(collection: Any, name: str) -> Any:
    return next(t for t in collection.trackers if t.name == name)


FAULTS = [
    # (match, kind, extra fault args, source that must have retried)
    ("POST /v1.0/security/runHuntingQuery", "429", {"retry_after": "1.5"}, "mail_stats"),
    ("Get-InboundConnector", "429", {"retry_after": None}, "exchange"),
    ("GET /v1.0/security/alerts_v2", "503", {"times": 2}, "alerts"),
    ("GET /v1.0/identityProtection/riskyUsers", "504", {}, "identity"),
    ("GET /v1.0/security/alerts_v2", "malformed-json", {"skip": 1}, "alerts"),
    ("GET /v1.0/security/auditLog/queries/", "429", {"retry_after": "0.25"}, "audit"),
    ("GET /adminapi/beta/", "expired-paging", {}, "exchange"),
]


@pytest.mark.parametrize("match, kind, extra, source", FAULTS, ids=[f"{f[1]}-{f[3]}" for f in FAULTS])
def test_fault_is_survived_without_loss_or_duplicates(live: LiveEnv, clean: dict[str, Any], match: str, kind: str,
                                                      extra: dict[str, Any], source: str) -> None:
    fault = live.fake.inject(match, kind, **extra)
    sleeps: list[float] = []
    collection = live.collect(sleeps=sleeps)
    assert fault.hits > fault.skip, "the fault was never triggered"
    assert collection.snapshot["facts"] == clean
    assert {s["status"] for s in collection.snapshot["sources"].values()} == {"ok"}
    if kind == "expired-paging":
        assert _tracker(collection, source).requests > 0
        return
    assert _tracker(collection, source).retries >= 1
    if extra.get("retry_after"):
        assert float(extra["retry_after"]) in sleeps  # Retry-After honoured, fractional seconds included
    out = io.StringIO()
    print_summary(collection.snapshot, collection.trackers, out, quiet=False, log_format="text")
    assert f"{source} " in out.getvalue().split("retries: ")[1]


def test_slow_response_times_out_and_is_retried(live: LiveEnv, clean: dict[str, Any]) -> None:
    live.fake.inject("GET /v1.0/roleManagement/directory/roleAssignments", "slow", delay=1.5)
    collection = live.collect(timeout=0.5)
    assert collection.snapshot["facts"] == clean
    assert _tracker(collection, "identity").retries == 1


def test_persistent_503_ends_as_error_not_as_a_hang(live: LiveEnv) -> None:
    live.fake.inject("GET /v1.0/security/alerts_v2", "503", times=100)
    collection = live.collect()
    alerts = collection.snapshot["sources"]["alerts"]
    assert alerts["status"] == "error" and "HTTP 503" in alerts["reason"]
    assert _tracker(collection, "alerts").retries == 5  # max_attempts 6 = 1 try + 5 retries
    assert collection.snapshot["sources"]["inbound_connectors"]["status"] == "ok"


def _scan_coverage(live: LiveEnv, snapshot_data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    path = live.dir / "partial.json"
    path.write_text(json.dumps(snapshot_data))
    config = live.dir / "config.yaml"
    config.write_text("organization:\n  onprem_ips: [203.0.113.0/28]\n  approved_admins: [exo-admin@contoso.com]\n")
    result = live.invoke(["scan", str(path), "--config", str(config), "--format", "json"])
    assert result.exit_code in (0, 1), result.stderr
    return {c["rule_id"]: c for c in json.loads(result.stdout)["coverage"]}


def test_exchange_app_role_without_directory_role_is_missing(live: LiveEnv) -> None:
    live.app.permissions.discard("exchange-role")  # the admin API answers 403 with NUL bytes
    data = live.collect().snapshot
    inbound = data["sources"]["inbound_connectors"]
    assert inbound["status"] == "missing" and "NUL bytes" in inbound["reason"]
    assert "Exchange.ManageAsApp" in inbound["permission"] and "Global Reader" in inbound["permission"]
    assert data["sources"]["alerts"]["status"] == "ok" and data["facts"]["alerts"]
    stats = data["sources"]["mail_stats"]
    assert stats["status"] == "ok" and "non_accepted_sender" in stats["unavailable_fields"]
    coverage = _scan_coverage(live, data)
    assert coverage["CG-0014"]["status"] == "not_evaluated" and "inbound_connectors" in coverage["CG-0014"]["missing"]
    assert coverage["CG-0013"]["status"] == "evaluated"


def test_exchange_without_app_role_is_missing_with_401(live: LiveEnv) -> None:
    live.app.permissions.discard("Exchange.ManageAsApp")
    data = live.collect().snapshot
    assert data["sources"]["accepted_domains"]["status"] == "missing"
    assert "HTTP 401" in data["sources"]["accepted_domains"]["reason"]


def test_alerts_without_permission_is_missing_and_its_rules_not_evaluated(live: LiveEnv) -> None:
    live.app.permissions.discard("SecurityAlert.Read.All")
    data = live.collect().snapshot
    alerts = data["sources"]["alerts"]
    assert (alerts["status"], alerts["permission"]) == ("missing", "SecurityAlert.Read.All (Microsoft Graph, application)")
    assert "Authorization_RequestDenied" in alerts["reason"]
    others = {k: v["status"] for k, v in data["sources"].items() if k != "alerts"}
    assert set(others.values()) == {"ok"}
    coverage = _scan_coverage(live, data)
    assert coverage["CG-0002"]["status"] == coverage["CG-0003"]["status"] == "not_evaluated"


def test_not_found_beta_path_is_missing_not_error(live: LiveEnv) -> None:
    live.fake.inject("GET /v1.0/security/alerts_v2", "404")
    alerts = live.collect().snapshot["sources"]["alerts"]
    assert alerts["status"] == "missing" and "not available in this tenant" in alerts["reason"]


def test_no_entra_p2_leaves_risk_unavailable(live: LiveEnv) -> None:
    live.fake.no_p2_licence = True
    data = live.collect().snapshot
    admins = data["sources"]["admins"]
    assert admins["status"] == "ok" and "risk_level" in admins["unavailable_fields"]
    assert "IdentityRiskyUser.Read.All" in admins["permission"]
    mallory = next(a for a in data["facts"]["admins"] if a["upn"] == dataset.MALLORY)
    assert mallory["risk_level"] is None and mallory["sign_ins"]


def test_audit_falls_back_to_the_management_activity_api(live: LiveEnv, clean: dict[str, Any]) -> None:
    live.app.permissions.discard("AuditLogsQuery.Read.All")
    data = live.collect().snapshot
    assert data["sources"]["audit_events"]["origin"].startswith("office 365 management activity API")
    def key(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["id"], e["time"], e["operation"], e["actor"], e["target"], e["client_ip"]) for e in events]
    assert key(data["facts"]["audit_events"]) == key(clean["audit_events"])
    assert live.fake.requests("POST /api/v1.0/")  # the subscription was started


def test_audit_uses_beta_when_v1_is_not_found(live: LiveEnv, clean: dict[str, Any]) -> None:
    live.fake.graph.audit_v1_missing = True
    data = live.collect().snapshot
    assert data["sources"]["audit_events"]["origin"] == "graph audit log query (beta)"
    assert data["facts"]["audit_events"] == clean["audit_events"]


def test_audit_without_either_permission_names_both(live: LiveEnv) -> None:
    live.app.permissions.difference_update({"AuditLogsQuery.Read.All", "ActivityFeed.Read"})
    audit = live.collect().snapshot["sources"]["audit_events"]
    assert audit["status"] == "missing"
    assert "AuditLogsQuery.Read.All" in audit["permission"] and "ActivityFeed.Read" in audit["permission"]


def test_hunting_window_is_clamped_to_its_30_days(live: LiveEnv) -> None:
    data = live.collect(since="40d").snapshot
    stats = data["sources"]["mail_stats"]
    assert stats["status"] == "ok" and stats["reason"].startswith("advanced hunting keeps 30 days")
    query = json.loads(live.fake.requests("POST /v1.0/security/runHuntingQuery")[0].body)
    assert query["Timespan"] == "P30D"


def test_national_cloud_keeps_its_token_resources_behind_endpoint_overrides(live: LiveEnv) -> None:
    us = {"graph": "https://graph.microsoft.us", "exchange": "https://outlook.office365.us",
          "management": "https://manage.office365.us"}
    live.fake.resources.update(us)
    live.fake.auth.resources = set(us.values())
    data = live.collect(cloud="gcc-high").snapshot
    assert {s["status"] for s in data["sources"].values()} == {"ok"}
    scopes = {json.dumps(r.body.decode()) for r in live.fake.requests("/oauth2/v2.0/token")}
    assert any("graph.microsoft.us%2F.default" in s for s in scopes)
    assert not any("graph.microsoft.com" in s for s in scopes)


def test_sign_ins_of_a_connector_actor_without_a_role_are_read(live: LiveEnv) -> None:
    import dataclasses

    exchange_admins = "29232cdf-9323-42fd-ade2-1d097af3e4de"
    members = {role: [p for p in people if p["userPrincipalName"] != dataset.MALLORY]
               for role, people in live.fake.data.role_members.items()}
    assert members[exchange_admins] != live.fake.data.role_members[exchange_admins]
    live.fake.data = dataclasses.replace(live.fake.data, role_members=members)
    admins = {a["upn"]: a for a in live.collect().snapshot["facts"]["admins"]}
    mallory = admins[dataset.MALLORY]  # known from the audit log and the risky users, not from a role
    assert mallory["roles"] == [] and [s["ip"] for s in mallory["sign_ins"]] == [dataset.ATTACKER_IP]
    filters = [r.query.get("$filter", "") for r in live.fake.requests("GET /v1.0/auditLogs/signIns")]
    assert any(dataset.MALLORY in f and dataset.EXO_ADMIN not in f for f in filters)
