"""The JMESPath functions rules may call besides the built-ins (docs/rule-format.md).

One `RuleFunctions` instance is made per rule per scan, bound to that rule's resolved
params and to the snapshot's `collected_at`: "recent" is always measured from the
snapshot's own time, never the wall clock, so a snapshot gives the same findings next year.
"""

from __future__ import annotations

import ipaddress
import json
import math
import statistics
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

import jmespath
from jmespath import functions

from connguard.normalize import NormalizationError, parse_time

NAMES: frozenset[str] = frozenset(
    {"param", "age_hours", "median", "hourly", "group_by", "domain", "cidr_outside", "unique", "lower", "ratio"}
)
MAX_HOURS = 24 * 366 * 2  # two years of hours: more than any snapshot window
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=262_144)
def epoch(value: str) -> float | None:
    """Seconds since the epoch for a timestamp string, None when it is not one.

    Cached: mail statistics repeat the same few hundred hour stamps across thousands of rows.
    """
    try:
        return parse_time(value).timestamp()
    except (NormalizationError, TypeError, ValueError, OverflowError):
        return None


@lru_cache(maxsize=4096)
def parse_networks(value: str) -> tuple[Network, ...] | None:
    """An address, CIDR or Exchange `a.b.c.d-a.b.c.e` range as networks; None if unparseable."""
    text = value.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        return (ipaddress.ip_network(text, strict=False),)
    except ValueError:
        pass
    if "-" in text:
        first, _, last = text.partition("-")
        try:
            return tuple(
                ipaddress.summarize_address_range(ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip()))
            )
        except (ValueError, TypeError):
            return None
    return None


@lru_cache(maxsize=1024)
def parse_cidr_list(values: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks of a CIDR list (unparseable entries dropped: they contain nothing)."""
    result: list[Network] = []
    for value in values:
        nets = parse_networks(value) if isinstance(value, str) else None
        if nets:
            result.extend(nets)
    return tuple(result)


def lies_within(value: Any, cidrs: tuple[Network, ...]) -> bool:
    """True when `value` (address, CIDR or range) lies entirely inside one of `cidrs`.

    An unparseable value lies within nothing, so `cidr-not-in` reports it rather than
    letting a malformed sender address pass for an on-premises one.
    """
    nets = parse_networks(value) if isinstance(value, str) else None
    if not nets:
        return False
    return all(
        any(net.version == c.version and net.subnet_of(c) for c in cidrs)  # type: ignore[arg-type]
        for net in nets
    )


def as_cidr_tuple(value: Any) -> tuple[str, ...]:
    """A CIDR operand (one string or a list of strings) as a hashable tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


class RuleFunctions(functions.Functions):
    """Custom functions bound to one rule's params and the snapshot's time."""

    def __init__(self, collected_at: datetime, params: dict[str, Any]) -> None:
        super().__init__()
        self.now = collected_at.timestamp()
        self.params = params

    @functions.signature({"types": ["string"]})
    def _func_param(self, name: str) -> Any:
        if name not in self.params:
            raise KeyError(f"unknown param {name!r}")
        return self.params[name]

    @functions.signature({"types": ["string", "null"]})
    def _func_age_hours(self, ts: str | None) -> float | None:
        seconds = epoch(ts) if ts is not None else None
        return None if seconds is None else (self.now - seconds) / 3600.0

    @functions.signature({"types": ["array"]})
    def _func_median(self, values: list[Any]) -> float | None:
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return statistics.median(numbers) if numbers else None

    @functions.signature({"types": ["array", "null"]}, {"types": ["string"]}, {"types": ["number"]}, {"types": ["number"]})
    def _func_hourly(self, rows: list[Any] | None, field: str, from_hours: float, to_hours: float) -> list[float]:
        # Every whole UTC hour with from_hours <= age < to_hours gets a slot (0 when no row
        # falls in it), so quiet hours pull a median down instead of vanishing.
        top = self.now - (self.now % 3600)
        frac = (self.now - top) / 3600.0
        first, last = math.ceil(from_hours - frac), math.ceil(to_hours - frac)
        if last - first > MAX_HOURS:
            raise ValueError(f"hourly(): range of {last - first} hours is larger than {MAX_HOURS}")
        totals: dict[float, float] = {top - k * 3600: 0 for k in range(first, last)}
        for row in rows or []:
            if not isinstance(row, dict):
                continue
            stamp = epoch(row.get("hour")) if isinstance(row.get("hour"), str) else None
            value = row.get(field)
            if stamp is None or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            age = (self.now - stamp) / 3600.0
            if from_hours <= age < to_hours:
                totals[stamp] = totals.get(stamp, 0) + value
        return [totals[k] for k in sorted(totals)]

    @functions.signature({"types": ["array", "null"]}, {"types": ["string"]})
    def _func_group_by(self, items: list[Any] | None, field: str) -> list[dict[str, Any]]:
        groups: dict[Any, tuple[Any, list[Any]]] = {}
        for item in items or []:
            key = item.get(field) if isinstance(item, dict) else None
            groups.setdefault(_hashable(key), (key, []))[1].append(item)
        ordered = sorted(groups.values(), key=lambda g: (g[0] is None, type(g[0]).__name__, str(g[0])))
        return [{"key": key, "items": members} for key, members in ordered]

    @functions.signature({"types": ["string", "null"]})
    def _func_domain(self, address: str | None) -> str | None:
        if not address or "@" not in address:
            return None
        return address.rsplit("@", 1)[1].strip().rstrip(".").lower() or None

    @functions.signature({"types": ["array", "string", "null"]}, {"types": ["array", "string", "null"]})
    def _func_cidr_outside(self, values: Any, cidrs: Any) -> list[Any]:
        nets = parse_cidr_list(as_cidr_tuple(cidrs))
        items: Iterable[Any] = [values] if isinstance(values, str) else (values or [])
        return [v for v in items if not lies_within(v, nets)]

    @functions.signature({"types": ["array", "null"]})
    def _func_unique(self, values: list[Any] | None) -> list[Any]:
        seen: set[Any] = set()
        result = []
        for value in values or []:
            key = _hashable(value)
            if key not in seen:
                seen.add(key)
                result.append(value)
        return result

    @functions.signature({"types": ["string", "null"]})
    def _func_lower(self, value: str | None) -> str | None:
        return None if value is None else value.lower()

    @functions.signature({"types": ["number", "null"]}, {"types": ["number", "null"]})
    def _func_ratio(self, a: float | None, b: float | None) -> float | None:
        if a is None or b is None or b == 0:
            return None
        return a / b


def options(collected_at: datetime, params: dict[str, Any]) -> jmespath.Options:
    """JMESPath options carrying a rule's bound functions."""
    return jmespath.Options(custom_functions=RuleFunctions(collected_at, params))

