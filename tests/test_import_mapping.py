"""The shared record -> fact mappers and the hourly mail aggregator (also used by `collect`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from connguard.collectors import mailstats, mapping
from connguard.collectors.mailstats import (
    MailRow,
    MailStatsAggregator,
    SeenKeys,
    parse_export_time,
)
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


def test_inbound_connector_reads_powershell_51_spellings() -> None:
    fact = mapping.inbound_connector({
        "Identity": "Relay", "Name": "Relay", "Enabled": "True", "ConnectorType": "OnPremises",
        "SenderIPAddresses": "198.51.100.7", "SenderDomains": ["smtp:*.Contoso.com;1", "smtp:*;1"],
        "RequireTls": False, "WhenChangedUTC": "/Date(1795045502000)/",
        "WhenCreatedUTC": {"value": "/Date(1795045502000)/", "DateTime": "Wednesday, November 18, 2026"},
        "TlsSenderCertificateName": None,
    })
    assert fact["sender_ip_addresses"] == ["198.51.100.7/32"]
    assert fact["sender_domains"] == ["*", "*.contoso.com"]
    assert fact["enabled"] is True and fact["require_tls"] is False
    assert fact["when_changed"] == fact["when_created"] == "2026-11-18T23:45:02Z"
    assert fact["tls_sender_certificate_name"] is None


def test_inbound_connector_reads_ip_range_objects() -> None:
    fact = mapping.inbound_connector({"Identity": "R", "ConnectorType": "OnPremises", "SenderIPAddresses": [
        {"LowerBound": "203.0.113.5", "UpperBound": "203.0.113.5"}, {"Expression": "192.0.2.0/24"}]})
    assert fact["sender_ip_addresses"] == ["192.0.2.0/24", "203.0.113.5/32"]


def test_connector_without_identity_is_an_error() -> None:
    with pytest.raises(mapping.MappingError, match="Identity"):
        mapping.inbound_connector({"Enabled": True})


def test_bad_connector_ip_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(mapping.MappingError, match="not an IP"):
        mapping.inbound_connector({"Identity": "R", "SenderIPAddresses": ["mail.example"]})


def test_outbound_accepted_and_blocked() -> None:
    out = mapping.outbound_connector({"Identity": "Out", "Enabled": True, "SmartHosts": ["Mail.Contoso.com"],
                                      "RecipientDomains": ["*"], "UseMXRecord": "False"})
    assert out["smart_hosts"] == ["mail.contoso.com"] and out["use_mx_record"] is False
    domain = mapping.accepted_domain({"DomainName": "Contoso.COM", "DomainType": "Authoritative", "Default": True})
    assert domain == {"domain": "contoso.com", "domain_type": "Authoritative", "default": True, "initial": None,
                      "match_subdomains": None}
    blocked = mapping.blocked_connector({"ConnectorName": "Relay", "CreatedTime": "2026-11-25T09:00:00Z"})
    assert blocked["connector_name"] == "Relay" and blocked["blocked_at"] == "2026-11-25T09:00:00Z"
    with pytest.raises(mapping.MappingError):
        mapping.blocked_connector({"Reason": "x"})


def _audit(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "CreationTime": "2026-11-24T06:00:00", "Id": "rec-1", "Operation": "Set-InboundConnector",
        "UserId": "Mallory@Contoso.com", "ResultStatus": "True", "ClientIP": "[2001:db8::66]:443", "RecordType": 1,
        "ObjectId": "Object name", "Parameters": [{"Name": "Identity", "Value": "Relay"},
                                                  {"Name": "SenderIPAddresses", "Value": "198.51.100.7"}],
    }
    data.update(overrides)
    return data


def test_audit_event_prefers_creation_time_and_identity_parameter() -> None:
    event = mapping.audit_event(_audit(), time="2020-01-01T00:00:00Z", source="x")
    assert event["time"] == "2026-11-24T06:00:00Z"
    assert event["target"] == "Relay" and event["actor"] == "mallory@contoso.com"
    assert event["client_ip"] == "2001:db8::66" and event["record_type"] == "ExchangeAdmin"
    assert event["parameters"]["SenderIPAddresses"] == "198.51.100.7" and event["succeeded"] is True


def test_audit_event_falls_back_to_caller_time_and_object_id() -> None:
    event = mapping.audit_event(_audit(CreationTime=None, Parameters=[]), time="2026-11-24T07:00:00Z")
    assert event["time"] == "2026-11-24T07:00:00Z" and event["target"] == "Object name"
    with pytest.raises(mapping.MappingError, match="CreationTime"):
        mapping.audit_event(_audit(CreationTime=None))


def test_graph_audit_record_fills_gaps_from_top_level() -> None:
    event = mapping.graph_audit_event({
        "id": "g-1", "createdDateTime": "2026-11-24T08:00:00Z", "operation": "New-InboundConnector",
        "userPrincipalName": "Admin@Contoso.com", "auditLogRecordType": "ExchangeAdmin",
        "auditData": {"Parameters": [{"Name": "Identity", "Value": "Relay"}]},
    })
    assert (event["id"], event["time"], event["operation"], event["actor"], event["target"]) == (
        "g-1", "2026-11-24T08:00:00Z", "New-InboundConnector", "admin@contoso.com", "Relay")


def test_connector_operation_filter() -> None:
    assert mapping.is_connector_operation("Set-InboundConnector")
    assert mapping.is_connector_operation("remove-blockedconnector")
    assert not mapping.is_connector_operation("Set-Mailbox")


def test_alert_finds_connector_name_ip_and_domain() -> None:
    fact = mapping.alert({
        "id": "a", "title": "Suspicious connector activity", "createdDateTime": "2026-11-25T09:00:00.123Z",
        "description": "Activity on connector 'Relay via partner' was suspicious.",
        "evidence": [{"ipAddress": "198.51.100.7"}, {"domainName": "Spoof.Example"}],
    })
    assert fact["connector_names"] == ["Relay via partner"]
    assert fact["ip_addresses"] == ["198.51.100.7"] and fact["domains"] == ["spoof.example"]
    assert fact["created"] == "2026-11-25T09:00:00Z"


def test_admins_builder_merges_sources_and_keeps_sign_ins_of_admins_only() -> None:
    builder = mapping.AdminsBuilder()
    builder.add_sign_in({"userPrincipalName": "Mallory@contoso.com", "createdDateTime": "2026-11-25T01:00:00Z",
                         "ipAddress": "192.0.2.9", "status": {"errorCode": 0}, "riskLevelDuringSignIn": "high"})
    builder.add_sign_in({"userPrincipalName": "nobody@contoso.com", "createdDateTime": "2026-11-25T01:00:00Z"})
    builder.add_role_assignment({"roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de",
                                 "principal": {"id": "u1", "userPrincipalName": "mallory@contoso.com"}})
    builder.add_risky_user({"userPrincipalName": "MALLORY@contoso.com", "riskLevel": "high", "riskState": "atRisk"})
    builder.add_role_assignment({"roleDefinitionId": "x", "principal": {"id": "g1", "displayName": "A group"}})
    (admin,) = builder.facts()
    assert admin["upn"] == "mallory@contoso.com" and admin["roles"] == ["Exchange Administrator"]
    assert admin["risk_level"] == "high" and admin["sign_ins"][0]["error_code"] == 0
    assert admin["sign_ins"][0]["risk_level"] == "high"


@pytest.mark.parametrize("text, expected", [
    ("11/25/2026 3:04:05 PM", datetime(2026, 11, 25, 15, 4, 5, tzinfo=timezone.utc)),
    ("11/25/2026 12:00:00 AM", datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc)),
    ("11/25/2026 12:30:00 PM", datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc)),
    ("11/25/2026 15:04:05", datetime(2026, 11, 25, 15, 4, 5, tzinfo=timezone.utc)),
    ("2026-11-25T15:04:05.1234567Z", datetime(2026, 11, 25, 15, 4, 5, tzinfo=timezone.utc)),
    ("2026-11-25T16:04:05+01:00", datetime(2026, 11, 25, 15, 4, 5, tzinfo=timezone.utc)),
    ("/Date(1795045502000)/", datetime(2026, 11, 18, 23, 45, 2, tzinfo=timezone.utc)),
])
def test_export_times(text: str, expected: datetime) -> None:
    assert parse_export_time(text) == expected


@pytest.mark.parametrize("text", ["25/11/2026 15:04:05", "11/25/2026 13:04:05 PM", "yesterday", ""])
def test_export_times_that_are_not_guessed(text: str) -> None:
    with pytest.raises(mailstats.MailRowError):
        parse_export_time(text)


CONNECTORS = [{"identity": "Relay", "guid": "g-r", "sender_ip_addresses": ["198.51.100.0/29"]},
              {"identity": "Range", "guid": None, "sender_ip_addresses": ["192.0.2.10-192.0.2.20"]}]
ACCEPTED = [{"domain": "contoso.com"}, {"domain": "corp.example", "match_subdomains": True}]


def _row(minutes: int, *, sender: str = "a@contoso.com", recipient: str = "b@external.example",
         ip: str = "198.51.100.3", p2: str | None = None, connector: str | None = None,
         direction: str | None = None, spam: bool = False) -> MailRow:
    return MailRow(T0 + timedelta(minutes=minutes), sender, p2, recipient, ip, connector, direction, spam)


def test_attribution_by_ip_range_name_and_fallback_to_sender_ip() -> None:
    agg = MailStatsAggregator(inbound_connectors=CONNECTORS, accepted_domains=ACCEPTED)
    assert agg.add(_row(1))
    assert agg.add(_row(2, ip="192.0.2.15"))
    assert agg.add(_row(3, ip="203.0.113.99"))
    assert agg.add(_row(4, ip="", connector="relay", direction="Outbound"))
    facts = {(f["connector"], f["sender_ip"]): f for f in agg.facts()}
    assert facts[("Relay", None)]["outbound"] == 2 and facts[("Relay", None)]["connector_guid"] == "g-r"
    assert facts[("Range", None)]["outbound"] == 1
    assert facts[(None, "203.0.113.99")]["sender_ips"] == ["203.0.113.99"]


def test_outbound_rule_for_message_trace() -> None:
    agg = MailStatsAggregator(inbound_connectors=CONNECTORS, accepted_domains=ACCEPTED)
    assert not agg.add(_row(1, recipient="x@contoso.com"))  # internal recipient
    assert not agg.add(_row(1, recipient="x@a.corp.example"))  # accepted subdomain
    assert not agg.add(_row(1, sender="spam@evil.example", ip="203.0.113.1"))  # inbound internet mail
    assert agg.add(_row(1, sender="spam@evil.example"))  # foreign sender via a connector IP
    assert agg.add(_row(1, ip="203.0.113.1"))  # accepted sender from anywhere
    assert not agg.add(_row(1, direction="Inbound"))  # the source's own direction wins


def test_counts_in_one_hour() -> None:
    agg = MailStatsAggregator(inbound_connectors=CONNECTORS, accepted_domains=ACCEPTED)
    agg.add(_row(1, sender="x@evil.example", p2="ceo@contoso.com", spam=True))
    agg.add(_row(2, sender="a@contoso.com", p2="a@contoso.com"))
    agg.add(_row(3, sender="a@contoso.com", recipient="c@other.example"))
    (fact,) = agg.facts()
    assert fact["hour"] == "2026-11-25T10:00:00Z"
    assert (fact["outbound"], fact["spam"], fact["p1_p2_mismatch"], fact["non_accepted_sender"]) == (3, 1, 1, 1)
    assert fact["recipient_domains"] == 2 and fact["sender_domains"] == ["evil.example"]
    assert agg.unavailable_fields() == []


def test_message_trace_only_has_no_p1_p2_mismatch() -> None:
    agg = MailStatsAggregator(inbound_connectors=CONNECTORS, accepted_domains=ACCEPTED)
    agg.add(mailstats.message_trace_row({"Received": "2026-11-25T10:01:00Z", "SenderAddress": "a@contoso.com",
                                         "RecipientAddress": "b@x.example", "FromIP": "198.51.100.3",
                                         "Status": "FilteredAsSpam"}))
    (fact,) = agg.facts()
    assert fact["p1_p2_mismatch"] is None and fact["spam"] == 1
    assert agg.unavailable_fields() == ["p1_p2_mismatch"]


def test_new_recipient_domains_are_firsts_even_when_rows_arrive_newest_first() -> None:
    agg = MailStatsAggregator(inbound_connectors=CONNECTORS, accepted_domains=ACCEPTED)
    for minutes, domain in [(130, "old.example"), (125, "new.example"), (70, "old.example"), (5, "old.example")]:
        agg.add(_row(minutes, recipient=f"r@{domain}"))
    by_hour = {f["hour"]: f for f in agg.facts()}
    assert by_hour["2026-11-25T10:00:00Z"]["new_recipient_domains"] == ["old.example"]
    assert by_hour["2026-11-25T11:00:00Z"]["new_recipient_domain_count"] == 0
    assert by_hour["2026-11-25T12:00:00Z"]["new_recipient_domains"] == ["new.example"]
    assert by_hour["2026-11-25T12:00:00Z"]["recipient_domains"] == 2


def test_without_accepted_domains_domain_counts_are_unavailable() -> None:
    agg = MailStatsAggregator(inbound_connectors=CONNECTORS, accepted_domains=None)
    assert agg.add(_row(1))
    assert not agg.add(_row(1, ip="203.0.113.1"))
    (fact,) = agg.facts()
    assert fact["non_accepted_sender"] is None and fact["recipient_domains"] is None
    assert "non_accepted_sender" in agg.unavailable_fields()


def test_email_event_row_spam_and_p2() -> None:
    row = mailstats.email_event_row({"Timestamp": "2026-11-25T10:00:00Z", "SenderMailFromAddress": "a@x.example",
                                     "SenderFromAddress": "b@contoso.com", "RecipientEmailAddress": "c@y.example",
                                     "SenderIPv4": "198.51.100.3", "Connectors": {}, "EmailDirection": "Outbound",
                                     "DeliveryLocation": "Junk folder"})
    assert row.spam and row.from_address == "b@contoso.com" and row.connector is None


def test_row_key_is_shared_by_trace_and_events() -> None:
    trace = {"MessageTraceId": "ABC", "RecipientAddress": "V@x.example"}
    event = {"NetworkMessageId": "abc", "RecipientEmailAddress": "v@x.example"}
    assert mailstats.row_key(trace) == mailstats.row_key(event) == "abc|v@x.example"


def test_seen_keys_stays_exact_after_spilling_to_disk() -> None:
    seen = SeenKeys(memory_keys=10)
    try:
        assert all(seen.add(f"k{i}") for i in range(100))
        assert not any(seen.add(f"k{i}") for i in range(100))
        assert seen.add("k100")
    finally:
        seen.close()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=-300, max_value=300), st.sampled_from(["a", "b", "c", "d"]),
                          st.sampled_from(["198.51.100.3", "203.0.113.9"])), min_size=1, max_size=40))
def test_recipient_domain_counts_match_a_brute_force_count_in_any_row_order(
        rows: list[tuple[int, str, str]]) -> None:
    agg = MailStatsAggregator(inbound_connectors=CONNECTORS, accepted_domains=ACCEPTED)
    for hours, domain, ip in rows:
        agg.add(_row(hours * 60, recipient=f"r@{domain}.example", ip=ip))
    expected_distinct: dict[tuple[str, str | None], set[str]] = {}
    first: dict[tuple[str | None, str], int] = {}
    for hours, domain, ip in rows:
        hour = (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:00:00Z")
        connector = "Relay" if ip.startswith("198.51.100.") else None
        expected_distinct.setdefault((hour, connector), set()).add(f"{domain}.example")
        first[(connector, f"{domain}.example")] = min(hours, first.get((connector, f"{domain}.example"), hours))
    facts = {(f["hour"], f["connector"]): f for f in agg.facts()}
    assert set(facts) == set(expected_distinct)
    for (hour, connector), domains in expected_distinct.items():
        assert facts[(hour, connector)]["recipient_domains"] == len(domains)
        expected_new = sorted(d for (c, d), h in first.items() if c == connector
                              and (T0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H:00:00Z") == hour)
        assert facts[(hour, connector)]["new_recipient_domains"] == expected_new
