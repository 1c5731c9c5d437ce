"""The fast path for message trace and EmailEvents CSV exports: a million rows in seconds.

`run._read_file` reads every other export as one dict per record through a handler. For
mail CSVs that costs about 20 µs a row (a dict per row, a MailRow, a datetime parse, five
function layers), ten times what tokenising the file costs. Here the same rows are read
with column indexes straight from the csv module, the time of a row is resolved from a
cache keyed by its minute text (the hour bucket and integer seconds, no datetime per
row), de-duplicated with the same key as `mailstats.row_key`, and handed to the
aggregator in batches (`MailStatsAggregator.add_parts`).

The result is the same as the handler path's, byte for byte: the same rows are rejected
with the same line and message (any row that is not in the common shape goes through
`mailstats.parse_export_time` itself), the same keys de-duplicate, and the same counts
come out. Only the work per row differs.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import Any

from connguard.collectors import mailstats
from connguard.collectors.importers.csvstream import CsvRows
from connguard.collectors.importers.ledger import FileRecord, Ledger
from connguard.collectors.importers.state import ImportState

_BATCH = 4096  # rows handed to the aggregator at once (bounded memory, few calls)
_CACHE_MAX = 200_000  # entries per per-distinct-value cache (cleared when full: bounded memory)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECOND = timedelta(seconds=1)
_US_ENDS = frozenset((" AM", " PM"))
SECONDS = {f"{second:02d}": second for second in range(60)}  # the seconds texts read inline
ODD = -(1 << 62)  # "seconds" of a row whose time was read the slow way (no real time is this early)

# The candidate columns of each field, in the order `mailstats` reads them.
TRACE_FIELDS: dict[str, tuple[str, ...]] = {
    "time": ("Received", "receivedDateTime"),
    "status": ("Status", "status"),
    "sender": ("SenderAddress", "senderAddress"),
    "recipient": ("RecipientAddress", "recipientAddress"),
    "ip": ("FromIP", "fromIP", "fromIp"),
}
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "time": ("Timestamp", "timestamp"),
    "location": ("DeliveryLocation",),
    "action": ("DeliveryAction",),
    "threats": ("ThreatTypes",),
    "sender": ("SenderMailFromAddress",),
    "from": ("SenderFromAddress",),
    "recipient": ("RecipientEmailAddress",),
    "ip": ("SenderIPv4", "SenderIPv6"),
    "connector": ("Connectors",),
    "direction": ("EmailDirection",),
}
# EmailEvents as the portal exports it: both IP columns (the IP is the first non-empty).
SIMPLE_EVENT_FIELDS = {**{k: v for k, v in EVENT_FIELDS.items() if k != "ip"},
                       "ipv4": ("SenderIPv4",), "ipv6": ("SenderIPv6",)}
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "key_message": ("MessageTraceId", "NetworkMessageId", "id"),
    "key_recipient": ("RecipientAddress", "recipientAddress", "RecipientEmailAddress"),
}


def column_picker(header: list[str], names: tuple[str, ...]) -> Callable[[list[str]], str | None]:
    """A function returning the first non-empty of the `names` columns of a row, or None:
    what `mailstats` reads from the row's dict (where a repeated column name means its last
    copy, and an absent column, None). Most exports hold one of the names: then it is a
    plain index, else a small loop."""
    where = {name: index for index, name in enumerate(header)}
    indexes = [where[name] for name in names if name in where]
    if not indexes:
        return lambda cells: None
    if len(indexes) == 1:
        index = indexes[0]
        return lambda cells: cells[index] or None

    def first(cells: list[str]) -> str | None:
        for index in indexes:
            if cells[index]:
                return cells[index]
        return None
    return first


class RowClock:
    """Row time text -> (hour bucket, integer seconds since 1970), as
    `mailstats.parse_export_time` reads it, with one parse per distinct minute.

    The two forms exports write (`2026-11-25T15:04:05.1234567Z`, `11/25/2026 3:04:05 PM`)
    are split into their minute text and seconds exactly as `mailstats._minute_key` does;
    the minute is parsed once (by `parse_export_time`, so its errors are the same) and kept.
    Anything else (another form, seconds over 59, a text that is no date) goes to
    `parse_export_time` every time, which returns the time or raises its MailRowError.

    `iso_minutes` and `us_minutes` let a caller skip even the call for the exact shapes
    exports write, without surrounding blanks: `iso_minutes[text[:17]]` for
    `yyyy-mm-ddThh:mm:SS...Z`, and `us_minutes[text[:-5] + text[-3:]]` for an en-US text
    ending `:SS AM` / `:SS PM`. A key is stored only after `resolve` read a text of that
    shape the keyed way, and the key fixes everything `_minute_key` looks at but the
    seconds, so any text of the shape with that key reads that minute. The caller checks
    the rest of the shape: the seconds in SECONDS (two ASCII digits below 60) and, for ISO,
    at least 20 characters ending in `Z`.
    """

    def __init__(self) -> None:
        self._minutes: dict[str, tuple[datetime, int]] = {}
        self.iso_minutes: dict[str, tuple[datetime, int]] = {}
        self.us_minutes: dict[str, tuple[datetime, int]] = {}
        self.odd: datetime | None = None  # the exact time of the last row read the slow way

    def resolve(self, raw: str) -> tuple[datetime, int]:
        """(hour, seconds since 1970) of `raw`, or (hour, ODD) with the exact time left in
        `odd`; raises mailstats.MailRowError for an unreadable time."""
        text = raw.strip()
        shortcut = None
        if len(text) >= 20 and text[10] == "T" and text[4] == "-" and text[-1] in "Zz" and text[16] == ":":
            seconds = text[17:19]
            key = text[:16] if seconds.isdigit() else None
            if text == raw and text[-1] == "Z":
                shortcut = (self.iso_minutes, text[:17])
        else:
            colon = text.rfind(":")
            if colon > 0 and "/" in text[:6] and text[colon + 1:colon + 3].isdigit():
                seconds = text[colon + 1:colon + 3]
                key = text[:colon + 1] + "00" + text[colon + 3:]
                if text == raw and text[colon + 3:] in _US_ENDS:
                    shortcut = (self.us_minutes, text[:colon + 1] + text[colon + 3:])
            else:
                key = None
        if key is not None:
            second = int(seconds)
            if second <= 59:
                minute = self._minutes.get(key)
                if minute is None:
                    minute = self._learn(key, raw)
                if shortcut is not None:
                    table, short = shortcut
                    if len(table) >= _CACHE_MAX:
                        table.clear()
                    table[short] = minute
                return minute[0], minute[1] + second
        return self._slow(raw)

    def _learn(self, key: str, raw: str) -> tuple[datetime, int]:
        moment = mailstats.parse_export_time(raw)  # raises as the handler path would
        minute = moment.replace(second=0, microsecond=0)
        entry = (minute.replace(minute=0), int((minute - _EPOCH).total_seconds()))
        if len(self._minutes) >= _CACHE_MAX:
            self._minutes.clear()
        self._minutes[key] = entry
        return entry

    def _slow(self, raw: str) -> tuple[datetime, int]:
        moment = mailstats.parse_export_time(raw)
        self.odd = moment
        return moment.replace(minute=0, second=0, microsecond=0), ODD


class MailCsvReader:
    """Reads one message trace or EmailEvents CSV into the import state (see module doc)."""

    def __init__(self, state: ImportState, ledger: Ledger, record: FileRecord, *, events: bool) -> None:
        assert state.mail is not None, "start_mail() runs before mail files"
        self._state = state
        self._ledger = ledger
        self._record = record
        self._events = events
        self._clock = RowClock()
        self._batch: list[tuple[Any, ...]] = []
        self._seconds: list[int] = []  # per batched row: seconds since 1970, or ODD
        self._odd: list[datetime] = []  # exact times of batched rows whose time was read the slow way

    def read(self, rows: CsvRows) -> None:
        """Read every row after the header; rejected rows are booked with their line."""
        header = rows.header
        if header is None:
            return
        reader: Any = rows._reader
        width = len(header)
        convert = self._converter(header)
        seen_add = self._state.seen_mail.add
        record = self._record
        batch = self._batch
        append = batch.append
        add_second = self._seconds.append
        last = rows._last_line
        read = used = 0  # rows read and used, kept in locals and booked in `finally`
        # The loop makes millions of short-lived tuples and no reference cycles: the cyclic
        # collector would only rescan the survivors (the batch, the caches) over and over.
        collecting = gc.isenabled()
        gc.disable()
        try:
            iterator = iter(reader)
            while True:
                start = last + 1
                try:
                    cells = next(iterator)
                except StopIteration:
                    break
                except csv.Error as exc:
                    last = reader.line_num
                    read += 1
                    self._reject_malformed(start, str(exc))
                    continue
                last = reader.line_num
                if len(cells) != width:
                    if cells == [] or cells == [""]:
                        continue  # blank line
                    read += 1
                    self._ledger.reject(record, start, f"expected {width} columns, found {len(cells)}")
                    continue
                read += 1
                try:
                    second, row, key = convert(cells)
                except mailstats.MailRowError as exc:
                    self._ledger.reject(record, start, str(exc))
                    continue
                if key is not None and not seen_add(key):
                    continue  # a duplicate: read, not used
                used += 1
                append(row)
                add_second(second)
                if second == ODD:
                    self._odd.append(self._clock.odd)
                if len(batch) >= _BATCH:
                    self._flush()
        finally:
            if collecting:
                gc.enable()
            record.rows_read += read
            record.rows_used += used
            self._flush()  # also when the file turns out undecodable half-way: rows read so far count

    def _reject_malformed(self, line: int, message: str) -> None:
        if message == "unexpected end of data":
            message = "the file ends inside a quoted value (cut off mid-row?)"
        self._ledger.reject(self._record, line, f"malformed CSV: {message}")

    def _flush(self) -> None:
        """Hand the batch to the aggregator, with the span of its times (min and max of
        integer seconds: no datetime per row)."""
        batch = self._batch
        if not batch:
            return
        mail = self._state.mail
        assert mail is not None
        high = max(self._seconds)
        if high != ODD:
            low = min(second for second in self._seconds if second != ODD) if self._odd else min(self._seconds)
            mail.saw_times(_EPOCH + _SECOND * low, _EPOCH + _SECOND * high)
        for moment in self._odd:
            mail.saw_times(moment, moment)
        mail.add_parts(batch)
        batch.clear()
        self._seconds.clear()
        self._odd.clear()

    def _converter(self, header: list[str]) -> Callable[[list[str]], tuple[int, tuple[Any, ...], str | None]]:
        """cells -> (seconds, the row for `add_parts`, de-duplication key or None)."""
        fields = {**(SIMPLE_EVENT_FIELDS if self._events else TRACE_FIELDS), **KEY_FIELDS}
        columns = single_columns(header, fields)
        if columns is not None:
            return self._event_parts_simple(columns) if self._events else self._trace_parts_simple(columns)
        parts = self._event_parts(header) if self._events else self._trace_parts(header)
        message_of = column_picker(header, KEY_FIELDS["key_message"])
        recipient_of = column_picker(header, KEY_FIELDS["key_recipient"])

        def convert(cells: list[str]) -> tuple[int, tuple[Any, ...], str | None]:
            second, row = parts(cells)
            message = message_of(cells)
            recipient = recipient_of(cells)
            # `mailstats.row_key`: one lower() of the joined text is the two lower()s joined.
            key = (message + "|" + recipient).lower() if message is not None and recipient is not None else None
            return second, row, key
        return convert

    def _trace_parts_simple(self, columns: list[int]) -> Callable[[list[str]], tuple[int, tuple[Any, ...], str | None]]:
        """`_trace_parts` and the key for a header with one column per field: the cells are
        taken with one itemgetter call ("" where the dict path has None: `add_parts` treats
        both alike), and times of a known minute are resolved inline. Cache hits are the
        rule, so look-ups are subscripts and a miss (KeyError) takes the general way."""
        cells_of = itemgetter(*columns)
        resolve = self._clock.resolve
        iso_minutes, us_minutes = self._clock.iso_minutes, self._clock.us_minutes
        spam_statuses: dict[str, bool] = {}

        def parts(cells: list[str]) -> tuple[int, tuple[Any, ...], str | None]:
            received, status, sender, recipient, ip, message, key_recipient = cells_of(cells)
            if not received:
                raise mailstats.MailRowError("missing Received")
            try:
                spam = spam_statuses[status]
            except KeyError:
                spam = _remember(spam_statuses, status, status.lower() in mailstats._SPAM_STATUSES)
            key = (message + "|" + key_recipient).lower() if message and key_recipient else None
            # RowClock.resolve for the two shapes of a known minute, inline (see RowClock).
            try:
                if received[-1] == "M":
                    hour, minute = us_minutes[received[:-5] + received[-3:]]
                    second = minute + SECONDS[received[-5:-3]]
                elif received[-1] == "Z" and len(received) >= 20:
                    hour, minute = iso_minutes[received[:17]]
                    second = minute + SECONDS[received[17:19]]
                else:
                    hour, second = resolve(received)
            except KeyError:
                hour, second = resolve(received)
            return second, (hour, sender, None, recipient, ip, None, None, spam), key
        return parts

    def _event_parts_simple(self, columns: list[int]) -> Callable[[list[str]], tuple[int, tuple[Any, ...], str | None]]:
        """`_event_parts` and the key for a header with one column per field (and both IP
        columns), like `_trace_parts_simple`."""
        cells_of = itemgetter(*columns)
        resolve = self._clock.resolve
        iso_minutes, us_minutes = self._clock.iso_minutes, self._clock.us_minutes
        verdicts: dict[tuple[str, str, str], bool] = {}

        def parts(cells: list[str]) -> tuple[int, tuple[Any, ...], str | None]:
            (timestamp, location, action, threats, sender, from_address, recipient, connector, direction,
             ipv4, ipv6, message, key_recipient) = cells_of(cells)
            if not timestamp:
                raise mailstats.MailRowError("missing Timestamp")
            try:
                spam = verdicts[location, action, threats]
            except KeyError:
                spam = _remember(verdicts, (location, action, threats), _spam_verdict(location, action, threats))
            key = (message + "|" + key_recipient).lower() if message and key_recipient else None
            # RowClock.resolve for the two shapes of a known minute, inline (see RowClock).
            try:
                if timestamp[-1] == "Z" and len(timestamp) >= 20:
                    hour, minute = iso_minutes[timestamp[:17]]
                    second = minute + SECONDS[timestamp[17:19]]
                elif timestamp[-1] == "M":
                    hour, minute = us_minutes[timestamp[:-5] + timestamp[-3:]]
                    second = minute + SECONDS[timestamp[-5:-3]]
                else:
                    hour, second = resolve(timestamp)
            except KeyError:
                hour, second = resolve(timestamp)
            return second, (hour, sender, from_address, recipient, ipv4 or ipv6, connector, direction, spam), key
        return parts

    def _trace_parts(self, header: Sequence[str]) -> Callable[[list[str]], tuple[int, tuple[Any, ...]]]:
        """cells -> (seconds, (hour, sender, None, recipient, IP, None, None, spam)):
        what `mailstats.message_trace_row` makes of the row (and raises for it)."""
        fields = {name: column_picker(list(header), names) for name, names in TRACE_FIELDS.items()}
        time_of, status_of = fields["time"], fields["status"]
        sender_of, recipient_of, ip_of = fields["sender"], fields["recipient"], fields["ip"]
        resolve = self._clock.resolve
        spam_statuses: dict[str, bool] = {}

        def parts(cells: list[str]) -> tuple[int, tuple[Any, ...]]:
            received = time_of(cells)
            if received is None:
                raise mailstats.MailRowError("missing Received")
            status = status_of(cells)
            spam = False
            if status is not None:
                spam = spam_statuses.get(status)  # type: ignore[assignment]
                if spam is None:
                    spam = spam_statuses[status] = status.lower() in mailstats._SPAM_STATUSES
            hour, second = resolve(received)
            return second, (hour, sender_of(cells), None, recipient_of(cells), ip_of(cells), None, None, spam)
        return parts

    def _event_parts(self, header: Sequence[str]) -> Callable[[list[str]], tuple[int, tuple[Any, ...]]]:
        """cells -> (seconds, (hour, P1, P2, recipient, IP, connector, direction, spam)):
        what `mailstats.email_event_row` makes of the row (and raises for it)."""
        fields = {name: column_picker(list(header), names) for name, names in EVENT_FIELDS.items()}
        time_of = fields["time"]
        location_of, action_of, threats_of = fields["location"], fields["action"], fields["threats"]
        sender_of, from_of, recipient_of = fields["sender"], fields["from"], fields["recipient"]
        ip_of, connector_of, direction_of = fields["ip"], fields["connector"], fields["direction"]
        resolve = self._clock.resolve
        verdicts: dict[tuple[str | None, str | None, str | None], bool] = {}

        def parts(cells: list[str]) -> tuple[int, tuple[Any, ...]]:
            timestamp = time_of(cells)
            if timestamp is None:
                raise mailstats.MailRowError("missing Timestamp")
            signals = (location_of(cells), action_of(cells), threats_of(cells))
            spam = verdicts.get(signals)
            if spam is None:
                spam = _spam_verdict(*signals)
                if len(verdicts) < _CACHE_MAX:
                    verdicts[signals] = spam
            hour, second = resolve(timestamp)
            return second, (hour, sender_of(cells), from_of(cells) or "", recipient_of(cells), ip_of(cells),
                            connector_of(cells), direction_of(cells), spam)
        return parts


def single_columns(header: list[str], fields: dict[str, tuple[str, ...]]) -> list[int] | None:
    """The one column index of each field, when the header holds exactly one of each
    field's names (what every export writes), else None. With one column per field, "the
    first non-empty of the field's columns" is that column's cell, where "" stands for None."""
    where = {name: index for index, name in enumerate(header)}
    indexes = []
    for names in fields.values():
        present = [where[name] for name in names if name in where]
        if len(present) != 1:
            return None
        indexes.append(present[0])
    return indexes


def _remember(cache: dict[Any, bool], key: Any, value: bool) -> bool:
    """Put `value` in a per-distinct-value cache (cleared when full: bounded memory)."""
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value
    return value


def _spam_verdict(location: str | None, action: str | None, threats: str | None) -> bool:
    """`mailstats.email_event_row`'s spam test: delivered to Junk, junked, or a Spam threat."""
    return ((location or "").lower().startswith("junk") or (action or "").lower() in mailstats._JUNK_ACTIONS
            or "spam" in (threats or "").lower())
