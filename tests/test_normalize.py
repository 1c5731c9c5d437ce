"""Normalisation is what keeps drift and rules honest: one value, one spelling."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connguard import normalize as n


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-07-23T22:55:13.0000000Z", "2026-07-23T22:55:13Z"),  # Exchange's seven digits
        ("2026-01-05T10:00:00", "2026-01-05T10:00:00Z"),  # audit CreationTime has no zone: UTC
        ("2026-11-20T12:00:00+01:00", "2026-11-20T11:00:00Z"),
        ("2026-11-20T12:00:00+0100", "2026-11-20T11:00:00Z"),
        ("2026-11-20 12:00:00", "2026-11-20T12:00:00Z"),
        ("/Date(1795045502000)/", "2026-11-18T23:45:02Z"),  # Windows PowerShell 5.1
        ("\\/Date(1795045502000)\\/", "2026-11-18T23:45:02Z"),
    ],
)
def test_times_from_every_microsoft_spelling(raw: str, expected: str) -> None:
    assert n.normalize_time(raw) == expected


@pytest.mark.parametrize("raw", ["", "yesterday", "2026-13-45T00:00:00Z", "11/25/2026 3:04:05 PM", None])
def test_bad_times_are_rejected_with_the_value(raw: object) -> None:
    with pytest.raises(n.NormalizationError, match="not a timestamp"):
        n.parse_time(raw)  # type: ignore[arg-type]


def test_a_naive_time_can_be_refused() -> None:
    with pytest.raises(n.NormalizationError, match="no time zone"):
        n.parse_time("2026-01-05T10:00:00", assume_utc=False)


def test_ips_are_canonical_sorted_and_deduplicated() -> None:
    assert n.normalize_ips(["198.51.100.7", "10.0.0.5/24", " 2001:DB8::1 ", "198.51.100.7/32"]) == [
        "10.0.0.0/24",
        "198.51.100.7/32",
        "2001:db8::1/128",
    ]


def test_a_non_ip_is_an_error() -> None:
    with pytest.raises(n.NormalizationError, match="not an IP"):
        n.normalize_ip("mail.contoso.com")


def test_sender_domains_lose_prefix_priority_and_case() -> None:
    assert n.normalize_sender_domains(["smtp:*;1", "SMTP:Contoso.COM;2", "contoso.com."]) == ["*", "contoso.com"]


@pytest.mark.parametrize(
    "raw, expected",
    [("203.0.113.5:51234", "203.0.113.5"), ("[2001:db8::1]:443", "2001:db8::1"), ("2001:db8::5", "2001:db8::5"), ("", None)],
)
def test_client_ip_ports_are_stripped(raw: str, expected: str | None) -> None:
    assert n.strip_port(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("36h", timedelta(hours=36)), ("9d", timedelta(days=9)), ("P9D", timedelta(days=9)), ("PT36H", timedelta(hours=36))],
)
def test_durations(raw: str, expected: timedelta) -> None:
    assert n.parse_duration(raw) == expected


@pytest.mark.parametrize("raw", ["", "9", "9w", "P", "-3d"])
def test_bad_durations(raw: str) -> None:
    with pytest.raises(n.NormalizationError, match="not a duration"):
        n.parse_duration(raw)


@given(st.ip_addresses())
def test_an_address_equals_its_host_range(addr) -> None:  # type: ignore[no-untyped-def]
    prefix = 32 if addr.version == 4 else 128
    assert n.normalize_ip(str(addr)) == n.normalize_ip(f"{addr}/{prefix}")


@given(st.lists(st.from_regex(r"[a-z]{1,8}\.(com|org|net)", fullmatch=True), max_size=6), st.randoms())
def test_sender_domain_normalisation_ignores_order_case_and_priority(domains, rnd) -> None:  # type: ignore[no-untyped-def]
    decorated = [f"smtp:{d.upper()};{i + 1}" for i, d in enumerate(domains)]
    rnd.shuffle(decorated)
    assert n.normalize_sender_domains(decorated) == n.normalize_sender_domains(domains)
