"""What a person (or a log collector) sees while `connguard collect` runs.

- on a terminal: a live table per source (items so far, requests, retries, time spent
  waiting for throttling), drawn with rich;
- otherwise: plain log lines, one per event worth reading (start, retry, wait, note, done)
  and a periodic progress line for long sources;
- `--log-format json`: the same events as JSON objects, one per line;
- `--quiet`: nothing but problems.

At the end, a table of the snapshot's sources (status, count, reason). Everything goes
to stderr; no event carries a credential (they hold counts and service messages only).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, TextIO

from connguard.collectors.live.base import Tracker
from rich.console import Console
from rich.live import Live
from rich.table import Table

_PERIOD = 10.0  # seconds between progress lines for one source in text/json mode


class TextReporter:
    """Plain lines: `collect: <source>: <event>`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def _line(self, tracker: Tracker, event: str, detail: str | None) -> str:
        counts = f"{tracker.items} items, {tracker.requests} requests, {tracker.retries} retries"
        if event == "start":
            return f"collect: {tracker.name}: started"
        if event == "done":
            return f"collect: {tracker.name}: done ({counts}): {detail}"
        if event == "items":
            return f"collect: {tracker.name}: {counts}"
        return f"collect: {tracker.name}: {detail}"

    def _due(self, tracker: Tracker, event: str) -> bool:
        if event != "items":
            return True
        now = time.monotonic()
        if now - self._last.get(tracker.name, 0.0) < _PERIOD:
            return False
        self._last[tracker.name] = now
        return True

    def update(self, tracker: Tracker, event: str, detail: str | None = None) -> None:
        with self._lock:
            if event == "start":
                self._last[tracker.name] = time.monotonic()
            if self._due(tracker, event):
                print(self._line(tracker, event, detail), file=self.stream, flush=True)

    def close(self) -> None:
        """Nothing to tear down."""


class JsonReporter(TextReporter):
    """One JSON object per event."""

    def update(self, tracker: Tracker, event: str, detail: str | None = None) -> None:
        with self._lock:
            if event == "start":
                self._last[tracker.name] = time.monotonic()
            if not self._due(tracker, event):
                return
            record = {"event": event, "source": tracker.name, "items": tracker.items, "requests": tracker.requests,
                      "retries": tracker.retries, "waited_s": round(tracker.waited, 3)}
            if detail:
                record["detail"] = detail
            print(json.dumps(record, sort_keys=True), file=self.stream, flush=True)


class QuietReporter:
    """Prints nothing while running."""

    def update(self, tracker: Tracker, event: str, detail: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class RichReporter:
    """A live table, redrawn as sources progress."""

    def __init__(self, stream: TextIO) -> None:
        self.console = Console(file=stream)
        self._trackers: dict[str, Tracker] = {}
        self._notes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False)
        self._live.start()

    def _table(self) -> Table:
        table = Table(title="connguard collect", expand=False)
        for column in ("source", "state", "items", "requests", "retries", "waited", "last event"):
            table.add_column(column, justify="right" if column in ("items", "requests", "retries", "waited") else "left")
        for name, t in self._trackers.items():
            table.add_row(name, t.state, str(t.items), str(t.requests), str(t.retries), f"{t.waited:.1f}s",
                          self._notes.get(name, ""))
        return table

    def update(self, tracker: Tracker, event: str, detail: str | None = None) -> None:
        with self._lock:
            self._trackers[tracker.name] = tracker
            if detail:
                self._notes[tracker.name] = detail[:80]
            self._live.update(self._table())

    def close(self) -> None:
        self._live.stop()


def make_reporter(stream: TextIO, *, quiet: bool, log_format: str) -> Any:
    """The reporter for this run's output settings."""
    if quiet:
        return QuietReporter()
    if log_format == "json":
        return JsonReporter(stream)
    if stream.isatty():
        return RichReporter(stream)
    return TextReporter(stream)


def _rows(snapshot: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    rows = []
    for fact, entry in snapshot["sources"].items():
        reason = entry.get("reason") or ""
        if entry.get("permission") and entry.get("status") != "ok":
            reason = f"{reason} [grant: {entry['permission']}]"
        elif entry.get("unavailable_fields"):
            reason = f"{reason} [unavailable: {', '.join(entry['unavailable_fields'])}]".strip()
        rows.append((fact, entry["status"], int(entry.get("count") or 0), reason))
    return rows


def print_summary(snapshot: dict[str, Any], trackers: list[Tracker], stream: TextIO, *, quiet: bool,
                  log_format: str) -> None:
    """The final table of sources (quiet: only those not ok)."""
    rows = _rows(snapshot)
    retries = {t.name: (t.retries, round(t.waited, 3)) for t in trackers}
    if log_format == "json":
        for fact, status, count, reason in rows:
            if quiet and status == "ok":
                continue
            print(json.dumps({"event": "source", "fact_set": fact, "status": status, "count": count,
                              "reason": reason or None}, sort_keys=True), file=stream)
        if not quiet:
            print(json.dumps({"event": "retries", "sources": {k: {"retries": v[0], "waited_s": v[1]}
                                                              for k, v in sorted(retries.items())}}, sort_keys=True),
                  file=stream)
        return
    if quiet:
        for fact, status, count, reason in rows:
            if status != "ok":
                print(f"collect: {fact}: {status}: {reason}", file=stream)
        return
    if stream.isatty():
        table = Table(title="sources")
        for column in ("fact set", "status", "count", "reason"):
            table.add_column(column)
        for fact, status, count, reason in rows:
            style = {"ok": "green", "partial": "yellow", "missing": "red", "error": "red"}.get(status, "")
            table.add_row(fact, f"[{style}]{status}[/{style}]" if style else status, str(count), reason)
        Console(file=stream).print(table)
        return
    width = max(len(r[0]) for r in rows)
    print(f"{'fact set'.ljust(width)}  status   count  reason", file=stream)
    for fact, status, count, reason in rows:
        print(f"{fact.ljust(width)}  {status.ljust(7)}  {str(count).rjust(5)}  {reason}".rstrip(), file=stream)
    summary = ", ".join(f"{k} {v[0]} retries/{v[1]:.1f}s waited" for k, v in sorted(retries.items()) if v[0])
    if summary:
        print(f"retries: {summary}", file=stream)
    stream.flush()
