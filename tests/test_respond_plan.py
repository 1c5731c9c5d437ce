"""The response plan: playbook order, remove vs disable, baseline reverts, accounts, timeline."""

from __future__ import annotations

import copy

from helpers_respond import (
    ONPREM_GUID,
    RELAY_GUID,
    SPIKE_START,
    make_baseline,
    make_report,
    make_snapshot,
)

from connguard.baseline.load import from_data
from connguard.respond.baseline import Baseline
from connguard.respond.model import PHASES
from connguard.respond.plan import build_plan


def _baseline(data: dict | None = None) -> Baseline:
    return Baseline(path="baseline.yaml", data=from_data(data or make_baseline()))


def _phases(connector) -> list[str]:
    return [s.phase for s in connector.steps]


def _in_playbook_order(phases: list[str]) -> bool:
    ranks = [PHASES.index(p) for p in phases]
    return ranks == sorted(ranks)


def test_steps_follow_the_playbook_order_for_every_connector() -> None:
    plan, _ = build_plan(make_report(), make_snapshot(), _baseline())
    assert [c.identity for c in plan.connectors] == ["Relay 365", "Inbound from on-prem"]  # most severe first
    relay, onprem = plan.connectors
    assert _phases(relay) == ["contain", "secure-account", "investigate", "restore"]
    assert _phases(onprem) == ["contain", "revert", "investigate", "restore"]
    assert all(_in_playbook_order(_phases(c)) for c in plan.connectors)


def test_unapproved_connector_is_removed_and_approved_one_disabled() -> None:
    plan, _ = build_plan(make_report(), make_snapshot(), None)
    relay, onprem = plan.connectors
    assert relay.remove and relay.steps[0].commands[0].cmdlet == "Remove-InboundConnector"
    assert relay.steps[0].commands[0].args == (("Identity", RELAY_GUID),)
    disable = onprem.steps[0].commands[0]
    assert (disable.cmdlet, disable.args) == ("Set-InboundConnector", (("Identity", ONPREM_GUID), ("Enabled", False)))


def test_a_connector_the_baseline_does_not_know_is_removed_even_without_a_finding_saying_so() -> None:
    report = make_report()
    report["findings"] = [f for f in report["findings"] if f["symptom"] != "unapproved-connector"]
    plan, _ = build_plan(report, make_snapshot(), _baseline())
    relay = next(c for c in plan.connectors if c.identity == "Relay 365")
    assert relay.remove and "baseline" in relay.steps[0].why


def test_revert_sets_exactly_the_drifted_settings_to_baseline_values() -> None:
    plan, _ = build_plan(make_report(), make_snapshot(), _baseline())
    revert = next(s for s in plan.connectors[1].steps if s.phase == "revert")
    (command,) = revert.commands
    assert command.cmdlet == "Set-InboundConnector"
    assert dict(command.args) == {"Identity": ONPREM_GUID, "SenderIPAddresses": ("192.0.2.0/28",), "RequireTls": True}
    assert "CG-0007:" + ONPREM_GUID in revert.fingerprints


def test_revert_renames_back_a_renamed_connector() -> None:
    snapshot = make_snapshot(onprem="Inbound from on-prem (new)")
    report = make_report(onprem="Inbound from on-prem (new)")
    plan, _ = build_plan(report, snapshot, _baseline())
    revert = next(s for c in plan.connectors for s in c.steps if s.phase == "revert")
    assert dict(revert.commands[0].args)["Name"] == "Inbound from on-prem"


def test_without_a_baseline_the_revert_is_by_hand_and_lists_the_audited_changes() -> None:
    plan, _ = build_plan(make_report(), make_snapshot(), None)
    revert = next(s for s in plan.connectors[1].steps if s.phase == "revert")
    assert not revert.commands
    assert any("Set-InboundConnector by it-admin@contoso.com" in m and "RequireTls=False" in m for m in revert.manual)


def test_each_account_that_created_or_changed_a_connector_is_secured_once() -> None:
    plan, _ = build_plan(make_report(), make_snapshot(), None)
    secure = [s for c in plan.connectors for s in c.steps if s.phase == "secure-account"]
    assert len(secure) == 1
    assert [c.cmdlet for c in secure[0].commands] == [
        "Revoke-MgUserSignInSession", "Get-MgUserAuthenticationMethod", "Get-MgUserMemberOf"]
    assert all(dict(c.args)["UserId"] == "it-admin@contoso.com" for c in secure[0].commands)
    assert "CG-0008:tenant" in secure[0].fingerprints  # the connector-less admin-compromised finding
    assert all(c.accounts == ("it-admin@contoso.com",) for c in plan.connectors)
    assert not plan.other_findings


def test_message_trace_covers_the_spike_window_from_the_sending_ips() -> None:
    plan, timelines = build_plan(make_report(), make_snapshot(), None)
    trace = next(s for s in plan.connectors[0].steps if s.phase == "investigate")
    (command,) = trace.commands
    args = dict(command.args)
    assert command.cmdlet == "Get-MessageTraceV2" and not command.changes
    assert (args["StartDate"], args["EndDate"], args["FromIP"]) == (SPIKE_START, "2026-11-20T12:00:00Z", "203.0.113.77")
    assert "40% of it was filtered as spam" in trace.why
    assert timelines["Relay 365"].spam_share == 0.4


def test_unblock_comes_last_and_names_the_blocked_connector() -> None:
    plan, _ = build_plan(make_report(), make_snapshot(), _baseline())
    relay, onprem = plan.connectors
    assert relay.steps[-1].phase == "restore"
    assert relay.steps[-1].commands[0].cmdlet == "Remove-BlockedConnector"
    assert dict(relay.steps[-1].commands[0].args)["ConnectorId"] == RELAY_GUID
    # the approved connector is re-enabled last, as the baseline has it
    assert onprem.steps[-1].commands[-1].args == (("Identity", ONPREM_GUID), ("Enabled", True))


def test_timeline_orders_creation_change_alert_block_and_spike() -> None:
    _, timelines = build_plan(make_report(), make_snapshot(), None)
    events = timelines["Relay 365"].events
    assert [e.kind for e in events] == ["risky-sign-in", "created", "spike-start", "alert", "blocked"]
    assert events[1].actor == "it-admin@contoso.com" and events[1].details["client_ip"] == "203.0.113.77"
    assert events[2].time == SPIKE_START
    onprem = timelines["Inbound from on-prem"].events
    assert [e.kind for e in onprem] == ["created", "risky-sign-in", "changed"]


def test_suppressed_findings_are_left_out() -> None:
    report = make_report()
    for finding in report["findings"]:
        if finding["connector"] and finding["connector"]["identity"] == "Inbound from on-prem":
            finding["suppressed"] = True
            finding["suppression"] = {"reason": "known", "expires": None}
    plan, _ = build_plan(report, make_snapshot(), None)
    assert [c.identity for c in plan.connectors] == ["Relay 365"]
    assert plan.suppressed == 1


def test_no_findings_means_nothing_to_do() -> None:
    report = make_report()
    report["findings"] = []
    plan, timelines = build_plan(report, make_snapshot(), None)
    assert plan.empty and not plan.connectors and not timelines


def test_a_connector_removed_before_the_snapshot_is_confirmed_gone_and_recreated_from_baseline() -> None:
    snapshot = make_snapshot()
    snapshot["facts"]["inbound_connectors"] = [c for c in snapshot["facts"]["inbound_connectors"]
                                               if c["identity"] != "Inbound from on-prem"]
    snapshot["facts"]["audit_events"].append(
        {"id": "evt-3", "time": "2026-11-19T22:30:00Z", "operation": "Remove-InboundConnector",
         "actor": "it-admin@contoso.com", "target": "Inbound from on-prem", "parameters": {}, "succeeded": True})
    report = copy.deepcopy(make_report())
    plan, timelines = build_plan(report, snapshot, _baseline())
    onprem = next(c for c in plan.connectors if c.identity == "Inbound from on-prem")
    assert not onprem.exists
    assert onprem.steps[0].commands[0].cmdlet == "Get-InboundConnector"
    recreate = next(s for s in onprem.steps if s.phase == "revert").commands[0]
    assert recreate.cmdlet == "New-InboundConnector" and dict(recreate.args)["Name"] == "Inbound from on-prem"
    assert "removed" in [e.kind for e in timelines["Inbound from on-prem"].events]


def test_a_finding_about_no_connector_and_no_involved_account_is_listed_for_review() -> None:
    report = make_report()
    report["findings"].append({**report["findings"][-1], "rule_id": "CG-0013", "fingerprint": "CG-0013:other",
                               "evidence": {"account": "someone-else@contoso.com"}})
    plan, _ = build_plan(report, make_snapshot(), None)
    assert [f["fingerprint"] for f in plan.other_findings] == ["CG-0013:other"]
    assert all("someone-else@contoso.com" not in c.accounts for c in plan.connectors)


def test_a_baseline_without_an_inbound_section_does_not_make_every_connector_unknown() -> None:
    report = make_report()
    report["findings"] = [f for f in report["findings"] if f["symptom"] != "unapproved-connector"]
    baseline = make_baseline()
    del baseline["inbound_connectors"]
    plan, _ = build_plan(report, make_snapshot(), _baseline(baseline))
    assert not any(c.remove for c in plan.connectors)


def test_a_renamed_connector_without_guid_keeps_its_approval_and_is_renamed_back() -> None:
    """The audit log links the new name to the approved one; later steps use the approved name."""
    snapshot = make_snapshot(onprem="Inbound from on-prem (new)")
    snapshot["facts"]["inbound_connectors"][0]["guid"] = None
    snapshot["facts"]["mail_stats"] = [r for r in snapshot["facts"]["mail_stats"] if r["connector_guid"] != ONPREM_GUID]
    snapshot["facts"]["audit_events"][0]["target"] = "Inbound from on-prem"
    snapshot["facts"]["audit_events"][0]["parameters"]["Name"] = "Inbound from on-prem (new)"
    report = make_report(onprem="Inbound from on-prem (new)")
    for finding in report["findings"]:
        if finding["connector"] and finding["connector"]["guid"] == ONPREM_GUID:
            finding["connector"]["guid"] = None
    baseline = make_baseline()
    del baseline["inbound_connectors"][0]["guid"]
    plan, timelines = build_plan(report, snapshot, _baseline(baseline))
    onprem = next(c for c in plan.connectors if c.identity == "Inbound from on-prem (new)")
    assert not onprem.remove
    revert = next(s for s in onprem.steps if s.phase == "revert").commands[0]
    assert dict(revert.args)["Identity"] == "Inbound from on-prem (new)"
    assert dict(revert.args)["Name"] == "Inbound from on-prem"
    assert onprem.steps[-1].commands[-1].args == (("Identity", "Inbound from on-prem"), ("Enabled", True))
    assert "changed" in [e.kind for e in timelines["Inbound from on-prem (new)"].events]
