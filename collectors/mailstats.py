"""Per-message mail rows -> the snapshot's hourly `mail_stats`, in one streaming pass.

Message trace and EmailEvents return one row per recipient, millions for a busy week; the
snapshot keeps only hourly counts per connector (or per sender IP when no connector is
known), so rules see spikes, spam shares and new recipient domains without raw rows.
Shared by the importers and the live collectors so both count the same way.

API:

- `MailRow`                     one message-to-recipient row in source-neutral form.
- `message_trace_row(rec)`      Get-MessageTraceV2 object / CSV row, or a Graph
                                `messageTraces` record -> MailRow (no P2: `from_address` None).
- `email_event_row(rec)`        EmailEvents row (Advanced hunting CSV / runHuntingQuery) -> MailRow.
- `row_key(rec)`                the de-duplication key (MessageTraceId / NetworkMessageId +
                                recipient); the two ids are the same GUID, so a message in
                                both sources has one key.
- `SeenKeys`                    exact "seen before?" set with memory bounded (spills to a
                                temporary SQLite file), for de-duplicating rows.
- `MailStatsAggregator(inbound_connectors=..., accepted_domains=...)`
    `.add(row) -> bool`         count the row (True) or skip it (False: not outbound);
    `.facts()`                  mail_stats facts, sorted; `.unavailable_fields()`;
    `.earliest` / `.latest`     times of the first and last row seen (for the window).

Counting rules (documented for users in docs/import.md):
- A row is outbound when the source says so (EmailEvents `EmailDirection == "Outbound"`);
  otherwise (message trace) when its recipient's domain is not an accepted domain and its
  sender's domain is accepted or it came from a connector's sender IP. Without accepted
  domains, only rows from a connector's sender IPs count as outbound.
- Only outbound rows are counted; `outbound` counts recipient rows (one per recipient, the
  unit both sources use).
- A row belongs to the connector whose name is in its `Connectors` column (EmailEvents), else
  the inbound connector whose SenderIPAddresses contain its sender IP, else to no connector,
  with one statistics row per sender IP.
- `non_accepted_sender` counts rows whose P1 or P2 domain is not accepted; `p1_p2_mismatch`
  rows whose P1 and P2 domains differ (null for hours with no P2 at all, i.e. message trace).
- `new_recipient_domains`: external recipient domains first seen in the window, per
  connector (or sender IP), in that hour. Memory is bounded by distinct (connector, domain)
  pairs and statistics rows, not by rows read.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from connguard.normalize import NormalizationError, format_time, parse_time

_NEW_DOMAIN_LIMIT = 50
_HOUR = timedelta(hours=1)
_ORIGIN_MARGIN = timedelta(hours=24)  # room for rows a little newer than the first one
_US_TIME = re.compile(
    r"^(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:\s*(?P<ampm>[AaPp][Mm]))?$"
)
_SPAM_STATUSES = {"filteredasspam"}
_JUNK_ACTIONS = {"junked"}


class MailRowError(ValueError):
    """A mail row cannot be read (its time, typically); the message names the value."""


_MINUTES: dict[str, datetime] = {}  # the text of a row time with seconds zeroed -> that minute
_MINUTES_MAX = 500_000  # 347 days of distinct minutes; cleared when full (bounded memory)


def _minute_key(raw: str) -> tuple[str, int] | None:
    """(the text with its seconds zeroed, the seconds) for the two common row forms
    (`2026-11-25T15:04:05.1234567Z`, `11/25/2026 3:04:05 PM`); None for anything else."""
    if len(raw) >= 20 and raw[10] == "T" and raw[4] == "-" and raw[-1] in "Zz" and raw[16] == ":":
        seconds = raw[17:19]
        return (raw[:16] + ":00Z", int(seconds)) if seconds.isdigit() else None
    colon = raw.rfind(":")
    if colon > 0 and "/" in raw[:6] and raw[colon + 1:colon + 3].isdigit():
        return raw[:colon + 1] + "00" + raw[colon + 3:], int(raw[colon + 1:colon + 3])
    return None


def parse_export_time(value: Any) -> datetime:
    """Times as exports write them: ISO 8601, `/Date(ms)/`, or en-US `11/25/2026 3:04:05 PM`.

    Export-Csv writes a DateTime in the exporting machine's culture; en-US is the only
    culture read (as UTC, which is what the Exchange cmdlets return). `25/11/2026` is not
    guessed at: a wrong date is worse than a rejected row, and docs/import.md says to export
    ISO dates from other cultures. Rows of one minute share one parse (a million rows of a
    10-day trace hold only 14,400 distinct minutes).
    """
    raw = "" if value is None else str(value).strip()
    keyed = _minute_key(raw)
    if keyed is None:
        return _parse_slow(raw)
    text, seconds = keyed
    minute = _MINUTES.get(text)
    if minute is None:
        minute = _parse_slow(text)
        if len(_MINUTES) >= _MINUTES_MAX:
            _MINUTES.clear()
        _MINUTES[text] = minute
    if seconds > 59:
        raise MailRowError(f"not a timestamp: {raw!r}")
    return minute.replace(second=seconds) if seconds else minute


def _parse_slow(raw: str) -> datetime:
    us = _US_TIME.match(raw)
    if us:
        hour = int(us["h"])
        ampm = (us["ampm"] or "").lower()
        if ampm:
            if not 1 <= hour <= 12:
                raise MailRowError(f"not a timestamp: {raw!r}")
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        try:
            return datetime(int(us["y"]), int(us["mo"]), int(us["d"]), hour, int(us["mi"]), int(us["s"] or 0),
                            tzinfo=timezone.utc)
        except ValueError:
            raise MailRowError(f"not a timestamp (en-US month/day/year expected): {raw!r}") from None
    try:
        return parse_time(raw)
    except NormalizationError as exc:
        raise MailRowError(str(exc)) from None


class MailRow(NamedTuple):
    """One message-to-recipient row, whatever its source."""

    time: datetime
    sender: str | None  # 5321.MailFrom (P1)
    from_address: str | None  # 5322.From (P2); None when the source has no P2
    recipient: str | None
    sender_ip: str | None
    connector: str | None  # connector name as the source names it
    direction: str | None  # Outbound / Inbound / Intra-org; None = infer
    spam: bool


def _text(value: Any) -> str | None:
    """A cell as text; "", {} and [] (hunting's empty dynamic cells) are None."""
    if value.__class__ is str:
        return value or None
    if not value or isinstance(value, (dict, list)):
        return None
    return str(value)


def _get(rec: dict[str, Any], *keys: str) -> str | None:
    """The first present value among `keys` as text."""
    for key in keys:
        value = _text(rec.get(key))
        if value is not None:
            return value
    return None


def message_trace_row(rec: dict[str, Any]) -> MailRow:
    """Get-MessageTraceV2 (PascalCase) or Graph messageTraces (camelCase) record -> MailRow."""
    get = rec.get  # a million rows: the PascalCase spelling is looked up first, inline
    received = _text(get("Received") or get("receivedDateTime"))
    if received is None:
        raise MailRowError("missing Received")
    status = _text(get("Status") or get("status"))
    return MailRow(
        parse_export_time(received),
        _text(get("SenderAddress") or get("senderAddress")),
        None,
        _text(get("RecipientAddress") or get("recipientAddress")),
        _text(get("FromIP") or get("fromIP") or get("fromIp")),
        None,
        None,
        status is not None and status.lower() in _SPAM_STATUSES,
    )


def email_event_row(rec: dict[str, Any]) -> MailRow:
    """EmailEvents row -> MailRow; spam = delivered to Junk, junked, or a Spam threat type."""
    timestamp = _get(rec, "Timestamp", "timestamp")
    if timestamp is None:
        raise MailRowError("missing Timestamp")
    location = (_get(rec, "DeliveryLocation") or "").lower()
    action = (_get(rec, "DeliveryAction") or "").lower()
    threats = (_get(rec, "ThreatTypes") or "").lower()
    return MailRow(
        parse_export_time(timestamp),
        _get(rec, "SenderMailFromAddress"),
        _get(rec, "SenderFromAddress") or "",
        _get(rec, "RecipientEmailAddress"),
        _get(rec, "SenderIPv4", "SenderIPv6"),
        _get(rec, "Connectors"),
        _get(rec, "EmailDirection"),
        location.startswith("junk") or action in _JUNK_ACTIONS or "spam" in threats,
    )


def row_key(rec: dict[str, Any]) -> str | None:
    """MessageTraceId (= NetworkMessageId) + recipient, lower case; None when either is absent."""
    message = _get(rec, "MessageTraceId", "NetworkMessageId", "id")
    recipient = _get(rec, "RecipientAddress", "recipientAddress", "RecipientEmailAddress")
    if message is None or recipient is None:
        return None
    return f"{message.lower()}|{recipient.lower()}"


_FILTER_MASK = (1 << 27) - 1  # SeenKeys._FILTER_BITS - 1
_JSON_SLICE = 25_000  # keys per INSERT ... json_each when SeenKeys spills


class SeenKeys:
    """Exact "seen before?" test for de-duplication, with memory that does not grow with rows.

    Keys are kept as 64-bit hashes in a Python set until `memory_keys` of them; then they
    move, sorted (so the B-tree is written in order), to a temporary on-disk SQLite table
    (deleted on close), and a fixed-size Bloom filter in front of it answers "certainly not
    seen" for almost every new key without touching the disk. A 4-million-row import thus
    costs the same memory as a 1-million-row one. A 64-bit hash collision (about 1 in 10^6
    for 4 million distinct keys) would drop one row from the counts.
    """

    # 16 MiB, one bit per key: about 0.7% false positives at 1 million spilled keys and 3%
    # at 4 million, each costing one indexed look-up; setting and testing one bit instead of
    # three is what a spill of 250,000 keys mostly spends its time on.
    _FILTER_BITS = 1 << 27

    def __init__(self, memory_keys: int = 250_000) -> None:
        self._memory: set[int] = set()
        self._limit = memory_keys
        self._db: sqlite3.Connection | None = None
        self._filter: bytearray | None = None
        self._json = False  # whether spills go through json_each (see _reads_json_integers)

    @classmethod
    def _position(cls, digest: int) -> int:
        """The key's bit in the Bloom filter (the low 27 bits of its hash)."""
        return digest & (cls._FILTER_BITS - 1)

    def add(self, key: str) -> bool:
        """Remember `key`; True when it was not seen before.

        Called once per mail row, so the Bloom filter's bit test is written out here.
        """
        digest = hash(key)
        if digest in self._memory:
            return False
        bits = self._filter
        if bits is not None:
            position = digest & _FILTER_MASK
            if bits[position >> 3] >> (position & 7) & 1:
                assert self._db is not None
                if self._db.execute("SELECT 1 FROM seen WHERE k = ?", (digest,)).fetchone():
                    return False
        self._memory.add(digest)
        if len(self._memory) >= self._limit:
            self._spill()
        return True

    def _spill(self) -> None:
        if self._db is None:
            self._db = sqlite3.connect("")  # "" = private temporary file, removed on close
            # A scratch table: nothing to recover after a crash, so no journal and no fsync.
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
            self._db.execute("CREATE TABLE seen (k INTEGER PRIMARY KEY) WITHOUT ROWID")
            self._filter = bytearray(self._FILTER_BITS // 8)
            self._json = _reads_json_integers(self._db)
        bits = self._filter
        assert bits is not None
        mask = _FILTER_MASK
        for digest in self._memory:  # 250,000 keys a spill: the bit of `_position`, written out
            bits[(digest & mask) >> 3] |= 1 << (digest & 7)
        keys = sorted(self._memory)
        if self._json:
            # SQLite reads the keys from JSON texts, a third faster than binding 250,000
            # parameters one by one through executemany; in slices, so the texts (and
            # SQLite's parse of them) stay a few MB.
            for start in range(0, len(keys), _JSON_SLICE):
                self._db.execute("INSERT OR IGNORE INTO seen SELECT value FROM json_each(?)",
                                 (json.dumps(keys[start:start + _JSON_SLICE]),))
        else:
            self._db.executemany("INSERT OR IGNORE INTO seen VALUES (?)", zip(keys))
        self._memory.clear()

    def close(self) -> None:
        """Drop the spill file."""
        if self._db is not None:
            self._db.close()
            self._db = None
            self._filter = None


def _reads_json_integers(db: sqlite3.Connection) -> bool:
    """Whether this SQLite has json_each and reads every 64-bit integer from JSON exactly
    (an SQLite without JSON, or one that would read a key as a float, gets executemany)."""
    extremes = [-(1 << 63), (1 << 63) - 1, (1 << 53) + 1]
    try:
        rows = db.execute("SELECT value, typeof(value) FROM json_each(?)", (json.dumps(extremes),)).fetchall()
    except sqlite3.Error:
        return False
    return rows == [(value, "integer") for value in extremes]


class _Bucket:
    __slots__ = (
        "guid",
        "ips",
        "mismatch",
        "non_accepted",
        "outbound",
        "sender_domains",
        "spam",
        "with_p2",
    )

    def __init__(self, guid: str | None) -> None:
        self.outbound = 0
        self.spam = 0
        self.mismatch = 0
        self.with_p2 = 0
        self.non_accepted = 0
        self.ips: set[str] = set()
        self.sender_domains: set[str] = set()
        self.guid = guid


class _Route:
    """Where rows of one connector column and sender IP are counted: the connector (`via`,
    None for a sender IP without one), its statistics buckets by hour and its recipient
    domain bitmaps. Routes of one (connector, sender IP key) share buckets and bitmaps."""

    __slots__ = ("buckets", "connector", "domain_hours", "ip_key", "via")

    def __init__(self, via: tuple[str, str | None] | None, connector: str | None, ip_key: str | None,
                 domain_hours: dict[str, int], buckets: dict[datetime, _Bucket]) -> None:
        self.via = via
        self.connector = connector
        self.ip_key = ip_key
        self.domain_hours = domain_hours
        self.buckets = buckets


_NO_DOMAIN: tuple[None, bool, bool] = (None, False, False)
_CACHE_MAX = 200_000  # per-distinct-value caches are cleared when this full (bounded memory)


def _domain(address: str | None) -> str | None:
    if not address:
        return None
    at = address.rfind("@")
    if at < 0:
        return None
    return address[at + 1:].strip().rstrip(".").lower() or None


class MailStatsAggregator:
    """Streaming aggregation of MailRows into hourly statistics (see the module docstring)."""

    def __init__(self, *, inbound_connectors: Iterable[dict[str, Any]] | None,
                 accepted_domains: Iterable[dict[str, Any]] | None) -> None:
        connectors = list(inbound_connectors or [])
        self._by_name = {c["identity"].lower(): (c["identity"], c.get("guid")) for c in connectors}
        for c in connectors:
            if c.get("name"):
                self._by_name.setdefault(c["name"].lower(), (c["identity"], c.get("guid")))
        self._ranges: list[tuple[Any, str, str | None]] = []
        for c in connectors:
            for cidr in c.get("sender_ip_addresses") or []:
                for network in _networks(cidr):
                    self._ranges.append((network, c["identity"], c.get("guid")))
        domains = list(accepted_domains) if accepted_domains is not None else None
        self._accepted_known = domains is not None
        self._accepted = {d["domain"].lower() for d in domains or []}
        self._accepted_parents = {d["domain"].lower() for d in domains or [] if d.get("match_subdomains")}
        self._ip_cache: dict[str, tuple[str, str | None] | None] = {}
        self._accepted_cache: dict[str, bool] = {}
        self._buckets: dict[tuple[datetime, str | None, str | None], _Bucket] = {}
        # Per connector (or sender IP) and external recipient domain, the hours it was mailed
        # as a bitmap: bit i = `_origin` minus i hours. One small int per (connector, domain)
        # whatever the number of rows, where a set per hour would grow with traffic density;
        # the distinct count per hour and the first hour (the highest bit) both come from it.
        self._domain_hours: dict[tuple[str | None, str | None], dict[str, int]] = {}
        self._origin: datetime | None = None
        self._hour_bits: dict[datetime, int] = {}
        self._interned: dict[str, str] = {}  # one string object per distinct domain / IP
        self._domain_cache: dict[str, tuple[str | None, bool, bool]] = {}  # text after "@" -> see _judge
        self._sender_cache: dict[str, tuple[str | None, bool, bool]] = {}  # sender address -> see _judge
        self._direction_cache: dict[str, bool] = {}  # EmailDirection text -> outbound?
        self._routes: dict[tuple[str | None, str | None], _Route] = {}  # (connector column, IP) -> route
        self._route_by_key: dict[tuple[str | None, str | None], _Route] = {}  # (connector, ip_key) -> route
        self._any_p2 = False
        self.earliest: datetime | None = None
        self.latest: datetime | None = None

    # -- classification helpers (cached: bounded by distinct IPs / domains, not rows)

    def _by_ip(self, ip: str | None) -> tuple[str, str | None] | None:
        if not ip or not self._ranges:
            return None
        if ip in self._ip_cache:
            return self._ip_cache[ip]
        found = None
        try:
            address = ipaddress.ip_address(ip.strip("[]"))
        except ValueError:
            address = None
        if address is not None:
            for network, identity, guid in self._ranges:
                if address.version == network.version and address in network:
                    found = (identity, guid)
                    break
        self._ip_cache[ip] = found
        return found

    def _is_accepted(self, domain: str | None) -> bool:
        if domain is None:
            return False
        cached = self._accepted_cache.get(domain)
        if cached is None:
            cached = domain in self._accepted or any(
                domain.endswith("." + parent) for parent in self._accepted_parents
            )
            self._accepted_cache[domain] = cached
        return cached

    def _by_connector_name(self, names: str) -> tuple[str, str | None]:
        parts = [p.strip() for p in names.split(",") if p.strip()]
        for part in parts:
            known = self._by_name.get(part.lower())
            if known:
                return known
        return (parts[0] if parts else names.strip(), None)

    # -- the pass

    def add(self, row: MailRow) -> bool:
        """Count one row; False when it is not outbound (and so not counted)."""
        moment = row.time
        if self.earliest is None or moment < self.earliest:
            self.earliest = moment
        if self.latest is None or moment > self.latest:
            self.latest = moment
        via: tuple[str, str | None] | None
        if row.connector:
            via = self._by_connector_name(row.connector)
        else:
            via = self._ip_cache.get(row.sender_ip) if row.sender_ip in self._ip_cache else self._by_ip(row.sender_ip)
        accepted = self._accepted_cache
        p1 = _domain(row.sender)
        recipient_domain = _domain(row.recipient)
        if recipient_domain is None:
            external = False
        else:
            known = accepted.get(recipient_domain)
            external = not (self._is_accepted(recipient_domain) if known is None else known)
        if row.direction:
            outbound = row.direction.lower() == "outbound"
        elif self._accepted_known:
            outbound = external and (via is not None or self._is_accepted(p1))
        else:
            outbound = via is not None
        if not outbound:
            return False
        hour = moment.replace(minute=0, second=0, microsecond=0)
        connector = via[0] if via else None
        ip_key = None if via else (row.sender_ip or None)
        key = (hour, connector, ip_key)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(via[1] if via else None)
        bucket.outbound += 1
        if row.spam:
            bucket.spam += 1
        intern = self._interned.setdefault
        if row.sender_ip and row.sender_ip not in bucket.ips:
            bucket.ips.add(intern(row.sender_ip, row.sender_ip))
        p2 = None
        if row.from_address is not None:
            p2 = _domain(row.from_address)
            self._any_p2 = True
            bucket.with_p2 += 1
            if p1 and p2 and p1 != p2:
                bucket.mismatch += 1
        if self._accepted_known:
            foreign = False
            for domain in (p1, p2):
                if domain and not self._is_accepted(domain):
                    foreign = True
                    if domain not in bucket.sender_domains:
                        bucket.sender_domains.add(intern(domain, domain))
            if foreign:
                bucket.non_accepted += 1
            if external:
                bit = self._hour_bits.get(hour) or self._hour_bit(hour)
                hours = self._domain_hours.get((connector, ip_key))
                if hours is None:
                    hours = self._domain_hours[(connector, ip_key)] = {}
                mask = hours.get(recipient_domain, 0)  # type: ignore[arg-type]
                if not mask & bit:
                    hours[intern(recipient_domain, recipient_domain)] = mask | bit  # type: ignore[arg-type]
        return True

    def saw_times(self, earliest: datetime, latest: datetime) -> None:
        """Widen the span of row times as `add` does per row (for callers of `add_parts`,
        which track the span of a batch themselves, in cheap integer seconds)."""
        if self.earliest is None or earliest < self.earliest:
            self.earliest = earliest
        if self.latest is None or latest > self.latest:
            self.latest = latest

    def add_parts(self, rows: Iterable[tuple[datetime, str | None, str | None, str | None, str | None,
                                             str | None, str | None, bool]]) -> None:
        """Count rows given as (hour, sender, from_address, recipient, sender_ip, connector,
        direction, spam) tuples: what `add` does for a MailRow whose time falls in `hour`,
        except the span of times (see `saw_times`).

        The import of a million-row export spends most of its time here, so the work per
        row is dictionary look-ups of things that repeat: the route (connector or sender IP),
        the domain text after the `@` (normalised and judged accepted once per distinct
        text), the bucket of the route in that hour. Results are the same as `add`'s.
        """
        known = self._accepted_known
        routes = self._routes
        domains = self._domain_cache
        senders = self._sender_cache
        directions = self._direction_cache
        interned = self._interned
        hour_bits = self._hour_bits
        for hour, sender, from_address, recipient, sender_ip, connector, direction, spam in rows:
            # Cache hits are the rule, so look-ups are subscripts; a miss fills the cache.
            try:
                route = routes[connector, sender_ip]
            except KeyError:
                route = self._route(connector, sender_ip)
            if sender:
                try:
                    p1, _, p1_foreign = senders[sender]
                except KeyError:
                    p1, _, p1_foreign = self._judge_address(sender)
            else:
                p1 = None
                p1_foreign = False
            external = False
            if recipient:
                at = recipient.rfind("@")
                if at >= 0:
                    try:
                        recipient_domain, _, external = domains[recipient[at + 1:]]
                    except KeyError:
                        recipient_domain, _, external = self._judge(recipient[at + 1:])
            if direction:
                try:
                    outbound = directions[direction]
                except KeyError:
                    outbound = directions[direction] = direction.lower() == "outbound"
            elif known:
                outbound = external and (route.via is not None or (p1 is not None and not p1_foreign))
            else:
                outbound = route.via is not None
            if not outbound:
                continue
            try:
                bucket = route.buckets[hour]
            except KeyError:
                bucket = self._bucket(route, hour)
            bucket.outbound += 1
            if spam:
                bucket.spam += 1
            if sender_ip and sender_ip not in bucket.ips:
                bucket.ips.add(interned.setdefault(sender_ip, sender_ip))
            p2 = None
            p2_foreign = False
            if from_address is not None:
                if from_address:
                    try:
                        p2, _, p2_foreign = senders[from_address]
                    except KeyError:
                        p2, _, p2_foreign = self._judge_address(from_address)
                self._any_p2 = True
                bucket.with_p2 += 1
                if p1 and p2 and p1 != p2:
                    bucket.mismatch += 1
            if known:
                if p1_foreign or p2_foreign:
                    bucket.non_accepted += 1
                    if p1_foreign and p1 not in bucket.sender_domains:
                        bucket.sender_domains.add(p1)
                    if p2_foreign and p2 not in bucket.sender_domains:
                        bucket.sender_domains.add(p2)
                if external:
                    try:
                        bit = hour_bits[hour]
                    except KeyError:
                        bit = self._hour_bit(hour)
                    hours = route.domain_hours
                    mask = hours.get(recipient_domain, 0)
                    if not mask & bit:
                        hours[recipient_domain] = mask | bit

    def _judge(self, text: str) -> tuple[str | None, bool, bool]:
        """(domain as `_domain` normalises it, accepted?, a domain and not accepted?) for the
        text after an `@`, cached: a million rows hold a few thousand distinct domains. The
        cache is cleared when full so hostile input cannot grow it without bound."""
        domain = text.strip().rstrip(".").lower() or None
        if domain is not None:
            domain = self._interned.setdefault(domain, domain)
        accepted = self._is_accepted(domain)
        judged = (domain, accepted, domain is not None and not accepted)
        if len(self._domain_cache) >= _CACHE_MAX:
            self._domain_cache.clear()
        self._domain_cache[text] = judged
        return judged

    def _judge_address(self, address: str) -> tuple[str | None, bool, bool]:
        """`_judge` of a sender address's domain, cached per address (senders repeat: the
        tenant's own mailboxes)."""
        at = address.rfind("@")
        judged = self._judge(address[at + 1:]) if at >= 0 else _NO_DOMAIN
        if len(self._sender_cache) >= _CACHE_MAX:
            self._sender_cache.clear()
        self._sender_cache[address] = judged
        return judged

    def _route(self, connector: str | None, sender_ip: str | None) -> _Route:
        """The route (connector, or sender IP without one) of rows with this connector
        column and sender IP, cached per distinct pair."""
        via = self._by_connector_name(connector) if connector else self._by_ip(sender_ip)
        name = via[0] if via else None
        ip_key = None if via else (sender_ip or None)
        hours = self._domain_hours.get((name, ip_key))
        if hours is None:
            hours = self._domain_hours[(name, ip_key)] = {}
        shared = self._route_by_key.get((name, ip_key))
        route = _Route(via, name, ip_key, hours, shared.buckets if shared else {})
        self._route_by_key.setdefault((name, ip_key), route)
        if len(self._routes) >= _CACHE_MAX:
            self._routes.clear()
        self._routes[(connector, sender_ip)] = route
        return route

    def _bucket(self, route: _Route, hour: datetime) -> _Bucket:
        """The statistics bucket of `route` in `hour`, created on its first row (the same
        object `add` counts into)."""
        key = (hour, route.connector, route.ip_key)
        bucket = self._buckets.get(key)
        if bucket is None:
            via = route.via
            bucket = self._buckets[key] = _Bucket(via[1] if via else None)
        route.buckets[hour] = bucket
        return bucket

    def _hour_bit(self, hour: datetime) -> int:
        """The bitmap bit of `hour`, moving the origin (and every bitmap) when a row is newer
        than it. Rows mostly arrive newest first, so moves are rare."""
        if self._origin is None:
            self._origin = hour + _ORIGIN_MARGIN
        if hour > self._origin:
            shift = int((hour + _ORIGIN_MARGIN - self._origin) / _HOUR)
            for hours in self._domain_hours.values():
                for domain in hours:
                    hours[domain] <<= shift
            self._origin += shift * _HOUR
            self._hour_bits.clear()
        bit = 1 << int((self._origin - hour) / _HOUR)
        self._hour_bits[hour] = bit
        return bit

    def _recipient_domains(self) -> tuple[dict[tuple[datetime, str | None, str | None], int],
                                          dict[tuple[datetime, str | None, str | None], list[str]]]:
        """Per statistics key: distinct external recipient domains, and those first seen then."""
        distinct: dict[tuple[datetime, str | None, str | None], int] = {}
        new: dict[tuple[datetime, str | None, str | None], list[str]] = {}
        origin = self._origin
        for (connector, ip_key), hours in self._domain_hours.items():
            if not hours:
                continue
            assert origin is not None
            # Count per bit index first (a million-row import sets ~10^6 bits), and turn
            # the indexes with a count into hours once.
            counts = [0] * max(mask.bit_length() for mask in hours.values())
            for domain, mask in hours.items():
                first = mask.bit_length() - 1
                new.setdefault((origin - first * _HOUR, connector, ip_key), []).append(domain)
                while mask:
                    low = mask & -mask
                    counts[low.bit_length() - 1] += 1
                    mask ^= low
            for index, count in enumerate(counts):
                if count:
                    distinct[(origin - index * _HOUR, connector, ip_key)] = count
        return distinct, new

    def unavailable_fields(self) -> list[str]:
        """Fields the rows could not provide (rules needing them are not evaluated)."""
        missing = [] if self._any_p2 else ["p1_p2_mismatch"]
        if not self._accepted_known:
            missing += ["non_accepted_sender", "recipient_domains", "new_recipient_domains", "sender_domains"]
        return sorted(missing)

    def facts(self) -> list[dict[str, Any]]:
        """The mail_stats facts, sorted by hour, connector, sender IP."""
        distinct, new_by_key = self._recipient_domains()
        result = []
        for key in sorted(self._buckets, key=lambda k: (k[0], k[1] or "", k[2] or "")):
            hour, connector, ip_key = key
            bucket = self._buckets[key]
            new = sorted(new_by_key.get(key, []))
            known = self._accepted_known
            result.append({
                "hour": format_time(hour),
                "connector": connector,
                "connector_guid": bucket.guid,
                "sender_ip": ip_key,
                "sender_ips": sorted(bucket.ips),
                "outbound": bucket.outbound,
                "spam": bucket.spam,
                "p1_p2_mismatch": bucket.mismatch if bucket.with_p2 else None,
                "non_accepted_sender": bucket.non_accepted if known else None,
                "recipient_domains": distinct.get(key, 0) if known else None,
                "new_recipient_domain_count": len(new) if known else None,
                "new_recipient_domains": new[:_NEW_DOMAIN_LIMIT],
                "sender_domains": sorted(bucket.sender_domains)[:_NEW_DOMAIN_LIMIT],
            })
        return result


def _networks(cidr: str) -> list[Any]:
    """A snapshot sender range (`a.b.c.d/n`, or Exchange's `a-b` form) as ip_network objects."""
    try:
        return [ipaddress.ip_network(cidr, strict=False)]
    except ValueError:
        pass
    if "-" in cidr:
        low, high = (part.strip() for part in cidr.split("-", 1))
        try:
            return list(ipaddress.summarize_address_range(ipaddress.ip_address(low), ipaddress.ip_address(high)))
        except (ValueError, TypeError):
            return []
    return []


__all__ = [
    "MailRow", "MailRowError", "MailStatsAggregator", "SeenKeys", "email_event_row", "message_trace_row",
    "parse_export_time", "row_key",
]
