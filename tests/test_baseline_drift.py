"""The drift view the rules read: which audit record explains a change, and who is approved."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from helpers_baseline import ADMIN, INTRUDER, audit_event, drifted_snapshot, healthy_snapshot

from connguard.baseline import BaselineError, compute, from_snapshot, load_for_scan
from connguard.baseline.save import save_baseline


def _relay(data: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in data["facts"]["inbound_connectors"] if c["identity"] == "Hybrid relay")


def test_done_when_drift_names_field_added_ip_and_actor() -> None:
    drift = compute(drifted_snapshot(), from_snapshot(healthy_snapshot()))
    assert [(c["connector"], c["field"], c["added"], c["actor"], c["actor_approved"]) for c in drift["changes"]] == [
        ("Hybrid relay", "sender_ip_addresses", ["192.0.2.77/32"], INTRUDER, False)]
    assert [(u["identity"], u["actor"], u["audit_event_id"]) for u in drift["unapproved"]] == [
        ("Backup relay", INTRUDER, "e-2")]
    assert drift["removed"] == [] and drift["not_compared"] == []


def test_latest_matching_event_before_the_snapshot_is_the_cause() -> None:
    data = drifted_snapshot()
    data["facts"]["audit_events"] += [
        # Earlier change of the same parameter by the admin: superseded by e-1.
        audit_event("e-0", "Set-InboundConnector", "Hybrid relay", ADMIN, "2026-11-01T08:00:00Z",
                    SenderIPAddresses="203.0.113.5"),
        # Newer, but a different parameter: not the cause of the IP change.
        audit_event("e-3", "Set-InboundConnector", "Hybrid relay", ADMIN, "2026-11-20T05:00:00Z", Comment="x"),
        # After the snapshot was taken: cannot have caused what the snapshot shows.
        audit_event("e-4", "Set-InboundConnector", "Hybrid relay", ADMIN, "2026-11-20T12:30:00Z",
                    SenderIPAddresses="192.0.2.77"),
    ]
    (change,) = compute(data, from_snapshot(healthy_snapshot()))["changes"]
    assert (change["audit_event_id"], change["changed_at"]) == ("e-1", "2026-11-20T03:14:00Z")
    assert change["attribution"] == f"changed by {INTRUDER} at 2026-11-20T03:14:00Z (NOT an approved admin)"


def test_parameter_names_match_case_insensitively_and_rename_uses_the_old_name() -> None:
    data = healthy_snapshot()
    _relay(data)["identity"] = "Contoso relay"
    data["facts"]["audit_events"] = [
        audit_event("r-1", "Set-InboundConnector", "Hybrid relay", ADMIN, "2026-11-19T09:00:00Z", NAME="Contoso relay")]
    (change,) = compute(data, from_snapshot(healthy_snapshot()))["changes"]
    assert (change["field"], change["before"], change["after"]) == ("identity", "Hybrid relay", "Contoso relay")
    assert (change["actor"], change["actor_approved"]) == (ADMIN, True)


def test_config_approved_admins_add_to_the_baseline_list() -> None:
    drift = compute(drifted_snapshot(), from_snapshot(healthy_snapshot()), approved_admins=["HelpDesk7@Contoso.com"])
    assert drift["changes"][0]["actor_approved"] is True
    assert drift["changes"][0]["attribution"].endswith("(an approved admin)")


def test_no_approved_admins_at_all_leaves_approval_unknown() -> None:
    baseline = from_snapshot(healthy_snapshot())
    del baseline["approved_admins"]
    change = compute(drifted_snapshot(), baseline)["changes"][0]
    assert change["actor_approved"] is None
    assert "no approved admins are listed" in change["attribution"]


def test_sections_that_cannot_be_compared_are_listed_not_reported() -> None:
    data = healthy_snapshot()
    data["facts"]["outbound_connectors"] = []
    data["sources"]["outbound_connectors"] = {"status": "error", "reason": "403"}
    baseline = from_snapshot(healthy_snapshot())
    del baseline["inbound_connectors"]
    drift = compute(data, baseline)
    assert drift["removed"] == []
    assert drift["not_compared"] == [
        "inbound_connectors: the baseline does not list them",
        "outbound_connectors: the snapshot could not read them (source error)",
    ]


def test_a_bad_value_in_the_snapshot_is_an_input_error_with_its_path() -> None:
    data = healthy_snapshot()
    _relay(data)["sender_ip_addresses"] = ["203.0.113.5/32", "mail.example"]
    with pytest.raises(BaselineError, match=r"\$\.facts\.inbound_connectors\[0\]\.sender_ip_addresses: not an IP"):
        compute(data, from_snapshot(healthy_snapshot()))


def test_load_for_scan_refuses_another_tenant_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "baseline.yaml"
    save_baseline(path, from_snapshot(healthy_snapshot()))
    other = copy.deepcopy(healthy_snapshot())
    other["tenant"] = {"id": "11111111-2222-4333-8444-555555555555", "domain": "fabrikam.com", "name": None}
    with pytest.raises(BaselineError, match=r"baseline\.yaml: baseline is for tenant contoso\.com .* --allow-tenant-mismatch"):
        load_for_scan(path, other)
    doc = load_for_scan(path, other, allow_tenant_mismatch=True)
    assert doc["tenant"]["domain"] == "contoso.com" and "drift" in doc


def test_load_for_scan_returns_the_baseline_with_its_drift(tmp_path: Path) -> None:
    path = tmp_path / "baseline.yaml"
    save_baseline(path, from_snapshot(healthy_snapshot()))
    doc = load_for_scan(path, drifted_snapshot())
    assert doc["approved_admins"] == [ADMIN]
    assert len(doc["drift"]["changes"]) == 1 and len(doc["drift"]["unapproved"]) == 1


def test_an_audit_record_naming_the_connector_by_guid_is_found() -> None:
    data = drifted_snapshot()
    relay_guid = _relay(data)["guid"]
    data["facts"]["audit_events"][0]["target"] = relay_guid.upper()
    (change,) = compute(data, from_snapshot(healthy_snapshot()))["changes"]
    assert change["audit_event_id"] == "e-1"


def test_fields_the_collector_could_not_read_are_not_compared() -> None:
    data = healthy_snapshot()
    data["sources"]["inbound_connectors"]["unavailable_fields"] = ["require_tls", "comment"]
    for record in data["facts"]["inbound_connectors"]:
        record["require_tls"] = record["comment"] = None
    drift = compute(data, from_snapshot(healthy_snapshot()))
    assert drift["changes"] == []
