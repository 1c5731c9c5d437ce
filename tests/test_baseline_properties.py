"""Property tests of the drift comparison (issue 5): no false drift, no missed drift.

Tenants are generated: connectors with random sender IPs, domains, TLS and restriction
settings. Then (1) a tenant compared with itself, (2) with a copy that only re-spells
values the way Exchange and people do, (3) with a copy where one security field really
changed, and (4) with a baseline saved from it.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import pytest
from helpers_baseline import healthy_snapshot, inbound, outbound
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connguard.baseline import compute, from_snapshot
from connguard.baseline.diff import diff
from connguard.baseline.fields import FIELDS, compare_key, normalise
from connguard.baseline.load import loads_baseline
from connguard.baseline.save import dumps_baseline

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
domains = st.builds(lambda a, b: f"{a}.{b}", labels, st.sampled_from(["com", "net", "example", "co.uk"]))
sender_domains = st.one_of(st.just("*"), domains, domains.map(lambda d: f"*.{d}"))
ipv4 = st.integers(min_value=0x0B000000, max_value=0xDF000000).map(lambda n: str(ipaddress.IPv4Address(n)))
cidrs = st.one_of(ipv4.map(lambda a: f"{a}/32"),
                  st.tuples(ipv4, st.integers(20, 31)).map(
                      lambda t: ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False).with_prefixlen))
optional_bool = st.one_of(st.none(), st.booleans())
names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz -", min_size=3, max_size=20).map(
    lambda s: " ".join(s.split())).filter(lambda s: len(s) >= 3)


@st.composite
def inbound_facts(draw: Any, identity: str) -> dict[str, Any]:
    return inbound(
        identity,
        guid=draw(st.uuids()).hex,
        enabled=draw(st.booleans()),
        connector_type=draw(st.sampled_from(["OnPremises", "Partner"])),
        sender_domains=sorted(set(draw(st.lists(sender_domains, min_size=1, max_size=4)))),
        sender_ip_addresses=draw(st.lists(cidrs, max_size=5)),
        trusted_organizations=draw(st.lists(domains, max_size=2)),
        associated_accepted_domains=draw(st.lists(domains, max_size=2)),
        require_tls=draw(optional_bool),
        restrict_domains_to_ip_addresses=draw(optional_bool),
        restrict_domains_to_certificate=draw(optional_bool),
        tls_sender_certificate_name=draw(st.one_of(st.none(), domains)),
        treat_messages_as_internal=draw(optional_bool),
        cloud_services_mail_enabled=draw(optional_bool),
        comment=draw(st.one_of(st.none(), st.sampled_from(["Hybrid relay", "Partner mail via TLS"]))),
    )


@st.composite
def tenants(draw: Any) -> dict[str, Any]:
    """A snapshot with 1-4 generated inbound connectors and the helper's outbound connector."""
    data = healthy_snapshot()
    identities = draw(st.lists(names, min_size=1, max_size=4, unique_by=str.casefold))
    data["facts"]["inbound_connectors"] = [draw(inbound_facts(i)) for i in identities]
    data["facts"]["outbound_connectors"] = [outbound("Outbound to on-prem", guid=draw(st.uuids()).hex,
                                                     smart_hosts=draw(st.lists(domains, min_size=1, max_size=3)))]
    return data


def _swap_case(text: str) -> str:
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))


def respelled(data: dict[str, Any], draw: Any, *, recase_names: bool = True) -> dict[str, Any]:
    """The same tenant as Exchange or a person might write it: only normalisation differs.

    `recase_names` also changes the case of names and enum values, which compare
    case-insensitively but are stored as Exchange spells them (so they change the bytes).
    """
    other = copy.deepcopy(data)
    for record in other["facts"]["inbound_connectors"]:
        record["sender_domains"] = draw(st.permutations(
            [f"smtp:{_swap_case(d)};{n}" for n, d in enumerate(record["sender_domains"], 1)]))
        record["sender_ip_addresses"] = draw(st.permutations(
            [c.removesuffix("/32") for c in record["sender_ip_addresses"]]))
        record["trusted_organizations"] = [d.upper() + "." for d in reversed(record["trusted_organizations"])]
        if recase_names:
            record["connector_type"] = record["connector_type"].lower()
            record["identity"] = _swap_case(record["identity"])
        if record["comment"]:
            record["comment"] = "  " + record["comment"].replace(" ", "   ") + "\n"
        if record["tls_sender_certificate_name"]:
            record["tls_sender_certificate_name"] = record["tls_sender_certificate_name"].upper()
        record["when_changed"] = "2026-11-20T11:59:59Z"  # bookkeeping fields never count
        record["identity"] = " " + record["identity"] + " "
    other["facts"]["inbound_connectors"].reverse()
    for record in other["facts"]["outbound_connectors"]:
        record["smart_hosts"] = [h.upper() for h in reversed(record["smart_hosts"])]
    return other


def _differs_after_normalising(section: str, field_name: str, before: Any, after: Any) -> bool:
    spec = FIELDS[section][field_name]
    return compare_key(spec, normalise(spec, before)) != compare_key(spec, normalise(spec, after))


REAL_CHANGES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "inbound_connectors": {
        "enabled": st.booleans(),
        "connector_type": st.sampled_from(["OnPremises", "Partner"]),
        "sender_domains": st.lists(sender_domains, min_size=1, max_size=4),
        "sender_ip_addresses": st.lists(cidrs, max_size=5),
        "trusted_organizations": st.lists(domains, max_size=3),
        "associated_accepted_domains": st.lists(domains, max_size=3),
        "require_tls": optional_bool,
        "restrict_domains_to_ip_addresses": optional_bool,
        "restrict_domains_to_certificate": optional_bool,
        "tls_sender_certificate_name": st.one_of(st.none(), domains),
        "treat_messages_as_internal": optional_bool,
        "cloud_services_mail_enabled": optional_bool,
        "comment": st.one_of(st.none(), st.sampled_from(["Backup route", "temp"])),
    },
    "outbound_connectors": {
        "connector_type": st.sampled_from(["OnPremises", "Partner"]),
        "enabled": st.booleans(),
        "smart_hosts": st.lists(st.one_of(domains, ipv4), min_size=1, max_size=3),
        "recipient_domains": st.lists(domains, max_size=3),
        "use_mx_record": optional_bool,
        "route_all_messages_via_on_premises": optional_bool,
        "is_transport_rule_scoped": optional_bool,
        "all_accepted_domains": optional_bool,
        "tls_settings": st.sampled_from([None, "EncryptionOnly", "CertificateValidation", "DomainValidation"]),
        "tls_domain": st.one_of(st.none(), domains),
        "comment": st.one_of(st.none(), st.sampled_from(["Backup route", "temp"])),
    },
}
FIELD_CASES = [(section, name) for section, fields in REAL_CHANGES.items() for name in sorted(fields)]


def test_every_security_field_has_a_mutation_strategy() -> None:
    assert {s: set(f) for s, f in REAL_CHANGES.items()} == {s: set(f) for s, f in FIELDS.items()}


@pytest.mark.parametrize(("section", "field_name"), FIELD_CASES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data())
def test_every_real_change_to_a_security_field_gives_exactly_one_finding(
        section: str, field_name: str, draw: st.DataObject) -> None:
    data = draw.draw(tenants())
    target = draw.draw(st.sampled_from(data["facts"][section]))
    new_value = draw.draw(REAL_CHANGES[section][field_name].filter(
        lambda v: _differs_after_normalising(section, field_name, target[field_name], v)))
    changed = copy.deepcopy(data)
    next(c for c in changed["facts"][section] if c["identity"] == target["identity"])[field_name] = new_value

    changes = diff(from_snapshot(data), from_snapshot(changed))
    assert [(c.section, c.connector, c.field) for c in changes] == [(section, target["identity"], field_name)]

    drift = compute(changed, from_snapshot(data))
    direction = section.split("_")[0]
    assert [(c["direction"], c["connector"], c["field"]) for c in drift["changes"]] == [
        (direction, target["identity"], field_name)]
    assert drift["unapproved"] == drift["removed"] == []
    spec = FIELDS[section][field_name]
    if spec.is_list:
        before, after = set(normalise(spec, target[field_name])), set(normalise(spec, new_value))
        assert (set(drift["changes"][0]["added"]), set(drift["changes"][0]["removed"])) == (
            after - before, before - after)


@SETTINGS
@given(tenants())
def test_a_tenant_does_not_differ_from_itself(data: dict[str, Any]) -> None:
    model = from_snapshot(data)
    assert diff(model, copy.deepcopy(model)) == []


@SETTINGS
@given(st.data())
def test_normalisation_only_changes_are_not_drift(draw: st.DataObject) -> None:
    data = draw.draw(tenants())
    other = respelled(data, draw.draw)
    assert diff(from_snapshot(data), from_snapshot(other)) == []
    baseline = from_snapshot(data)
    drift = compute(other, baseline)
    assert (drift["changes"], drift["unapproved"], drift["removed"]) == ([], [], [])


@SETTINGS
@given(tenants())
def test_a_baseline_saved_from_a_snapshot_shows_no_drift_against_it(data: dict[str, Any]) -> None:
    text = dumps_baseline(from_snapshot(data))
    baseline = loads_baseline(text, origin="saved.yaml")
    assert diff(baseline, from_snapshot(data)) == []
    drift = compute(data, baseline)
    assert (drift["changes"], drift["unapproved"], drift["removed"]) == ([], [], [])


@SETTINGS
@given(st.data())
def test_saving_the_same_tenant_twice_gives_the_same_bytes(draw: st.DataObject) -> None:
    data = draw.draw(tenants())
    assert dumps_baseline(from_snapshot(data)) == dumps_baseline(
        from_snapshot(respelled(data, draw.draw, recase_names=False)))
