"""Normalise the values Microsoft 365 returns inconsistently.

Every collector and importer funnels tenant data through these functions, so that
rules, baselines and diffs compare like with like: `smtp:*;1` and `*` are the same
sender domain, `198.51.100.7` and `198.51.100.7/32` the same range, and
`2026-07-23T22:55:13.0000000Z` a timestamp Python 3.10 can parse.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone
from typing import Iterable

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d+))?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_MS_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?:[+-]\d{4})?\)/$")


class NormalizationError(ValueError):
    """A value could not be normalised; the message names the value."""


def parse_time(value: str, *, assume_utc: bool = True) -> datetime:
    """Parse the timestamp forms Microsoft emits into an aware UTC datetime.

    Accepts ISO 8601 with 0-9 fractional digits (Exchange writes seven), with `Z`, an
    offset or no zone at all (audit `CreationTime` and `LastValidationTimestamp` carry
    none and are UTC), and Windows PowerShell 5.1's `/Date(1795045502000)/`.
    """
    if not isinstance(value, str) or not value.strip():
        raise NormalizationError(f"not a timestamp: {value!r}")
    text = value.strip().replace("\\/", "/")
    ms = _MS_DATE.match(text)
    if ms:
        return datetime.fromtimestamp(int(ms.group("ms")) / 1000, tz=timezone.utc)
    m = _ISO.match(text)
    if m is None:
        raise NormalizationError(f"not a timestamp: {value!r}")
    frac = (m.group("frac") or "")[:6].ljust(6, "0")
    zone = (m.group("zone") or "").upper()
    zone = "+00:00" if zone == "Z" else (zone[:3] + ":" + zone[-2:] if zone else "")
    try:
        parsed = datetime.fromisoformat(f"{m.group('date')}T{m.group('time') or '00:00'}.{frac}{zone}")
    except ValueError as exc:
        raise NormalizationError(f"not a timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        if not assume_utc:
            raise NormalizationError(f"timestamp has no time zone: {value!r}")
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """The snapshot's one timestamp form: UTC, seconds precision, `Z` suffix."""
    if moment.tzinfo is None:
        raise NormalizationError("naive datetime: connguard only stores UTC times")
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_time(value: str) -> str:
    """Parse any accepted timestamp form and return the snapshot's canonical form."""
    return format_time(parse_time(value))


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour containing `moment` (the mail statistics bucket)."""
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[hd])\s*$", re.IGNORECASE)
_ISO_DURATION = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?)?$",
    re.IGNORECASE,
)


def parse_duration(value: str) -> timedelta:
    """Parse `36h`, `9d` or an ISO 8601 duration such as `P9D` / `PT36H` / `P1W`.

    Weeks are ISO 8601 too (contracts.md promises ISO durations); years and months are
    refused because their length depends on the calendar.
    """
    m = _DURATION.match(value or "")
    if m:
        n = float(m.group("n"))
        return timedelta(hours=n) if m.group("unit").lower() == "h" else timedelta(days=n)
    m = _ISO_DURATION.match((value or "").strip())
    if m and any(m.group(k) for k in ("w", "d", "h", "m")):
        return timedelta(
            weeks=float(m.group("w") or 0), days=float(m.group("d") or 0), hours=float(m.group("h") or 0),
            minutes=float(m.group("m") or 0),
        )
    raise NormalizationError(f"not a duration (use e.g. 36h, 9d or P9D): {value!r}")


def normalize_ip(value: str) -> str:
    """Canonical text of an address or range: a lone address is `/32` or `/128`.

    Host bits are cleared (`10.0.0.5/24` -> `10.0.0.0/24`) because Exchange accepts such
    input and two spellings of one range must not look like drift.
    """
    text = str(value).strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_network(text, strict=False).with_prefixlen
    except ValueError:
        pass
    if "-" in text:  # Exchange also accepts ranges written as `a.b.c.d-a.b.c.e`.
        return text
    raise NormalizationError(f"not an IP address or CIDR range: {value!r}")


def normalize_ips(values: Iterable[str] | None) -> list[str]:
    """Canonical, de-duplicated, sorted list of addresses/ranges."""
    return sorted({normalize_ip(v) for v in (values or []) if str(v).strip()}, key=_ip_sort_key)


def _ip_sort_key(text: str) -> tuple[int, int, int, str]:
    try:
        net = ipaddress.ip_network(text, strict=False)
        return (net.version, int(net.network_address), net.prefixlen, text)
    except ValueError:
        return (9, 0, 0, text)


def strip_port(client_ip: str | None) -> str | None:
    """Audit `ClientIP` values carry ports (`203.0.113.5:51234`, `[2001:db8::1]:443`)."""
    if not client_ip:
        return None
    text = client_ip.strip()
    if text.startswith("["):
        return text[1 : text.index("]")] if "]" in text else text[1:]
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text or None


def normalize_domain(value: str) -> str:
    """Lower-case, trimmed domain without a trailing dot."""
    return str(value).strip().rstrip(".").lower()


def normalize_sender_domain(value: str) -> str:
    """`smtp:*.Contoso.com;1` -> `*.contoso.com` (address-space prefix and priority removed)."""
    text = str(value).strip()
    if ":" in text and text.split(":", 1)[0].lower() in {"smtp", "x400", "x500"}:
        text = text.split(":", 1)[1]
    text = text.split(";", 1)[0]
    return normalize_domain(text)


def normalize_sender_domains(values: Iterable[str] | None) -> list[str]:
    """Canonical, de-duplicated, sorted SenderDomains."""
    return sorted({normalize_sender_domain(v) for v in (values or []) if str(v).strip()})


def domain_of(address: str | None) -> str | None:
    """The domain part of an e-mail address, lower-cased; None when there is none."""
    if not address or "@" not in address:
        return None
    return normalize_domain(address.rsplit("@", 1)[1]) or None


def normalize_upn(value: str | None) -> str | None:
    """User principal names compare case-insensitively."""
    return value.strip().lower() if value and value.strip() else None


def normalize_smart_host(value: str) -> str:
    """A SmartHosts entry: an address in its canonical text, else a lower-case host name.

    Smart hosts are single hosts, so unlike sender IPs an address stays an address
    (`2001:DB8::0001` -> `2001:db8::1`) rather than becoming a `/128` range.
    """
    text = str(value).strip()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return normalize_domain(text)


def normalize_smart_hosts(values: Iterable[str] | None) -> list[str]:
    """Canonical, de-duplicated, sorted SmartHosts."""
    return sorted({normalize_smart_host(v) for v in (values or []) if str(v).strip()})
