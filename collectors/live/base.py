"""What every source shares: its context, its progress tracker, its result per fact set,
and the rules for turning an API failure into `missing` (with the permission to grant)
or `error`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from connguard.collectors.live.apierror import ApiError
from connguard.collectors.live.endpoints import Endpoints
from connguard.collectors.live.http import HttpClient

from connguard.normalize import format_time


@dataclass
class FactResult:
    """One fact set as a source read it."""

    status: str                      # ok, partial, missing, error
    records: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    permission: str | None = None
    origin: str | None = None
    unavailable_fields: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def failed(cls, exc: ApiError, permission: str, origin: str, *, what: str) -> FactResult:
        """missing (no permission, no licence, API absent) or error (anything else)."""
        status, reason, grant = classify(exc, permission, what=what)
        return cls(status=status, reason=reason, permission=grant, origin=origin)


def classify(exc: ApiError, permission: str, *, what: str) -> tuple[str, str, str | None]:
    """(status, reason, permission to grant) for a request that failed for good."""
    if exc.status == 401:
        return "missing", f"{what}: not authorised ({exc.describe()})", permission
    if exc.status == 403:
        return "missing", f"{what}: access denied ({exc.describe()})", permission
    if exc.status == 404:
        return "missing", f"{what}: not available in this tenant ({exc.describe()}): licence or API version", None
    return "error", f"{what}: {exc.describe()}", None


class Reporter(Protocol):
    """Receives progress from the trackers (see progress.py)."""

    def update(self, tracker: Tracker, event: str, detail: str | None = None) -> None: ...


class Tracker:
    """Per-source progress counters; also the RequestObserver the HTTP client reports to."""

    def __init__(self, name: str, reporter: Reporter | None = None) -> None:
        self.name = name
        self.items = 0
        self.requests = 0
        self.retries = 0
        self.waited = 0.0
        self.state = "waiting"
        self.started: float | None = None
        self.finished: float | None = None
        self._reporter = reporter
        self._lock = threading.Lock()

    def _emit(self, event: str, detail: str | None = None) -> None:
        if self._reporter is not None:
            self._reporter.update(self, event, detail)

    def start(self) -> None:
        self.state, self.started = "running", time.monotonic()
        self._emit("start")

    def finish(self, summary: str) -> None:
        self.state, self.finished = "done", time.monotonic()
        self._emit("done", summary)

    def add_items(self, count: int) -> None:
        with self._lock:
            self.items += count
        self._emit("items")

    def note_request(self) -> None:
        with self._lock:
            self.requests += 1

    def note_retry(self, reason: str, delay: float) -> None:
        with self._lock:
            self.retries += 1
            self.waited += delay
        self._emit("retry", f"{reason}, retrying in {delay:.2f}s")

    def note_wait(self, seconds: float) -> None:
        with self._lock:
            self.waited += seconds
        self._emit("wait", f"rate limit, waited {seconds:.2f}s")

    def note(self, message: str) -> None:
        """A notable event (fallback, recovery) worth a log line."""
        self._emit("note", message)


class Shared:
    """Values one source publishes and another waits for (accepted domains for the mail
    statistics, connector actors for the sign-ins). Publishing None means "unavailable";
    every publisher publishes in a `finally`, so no waiter hangs."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def _event(self, key: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(key, threading.Event())

    def publish(self, key: str, value: Any) -> None:
        with self._lock:
            if key in self._values:
                return
            self._values[key] = value
        self._event(key).set()

    def wait(self, key: str, timeout: float | None = None) -> Any:
        if not self._event(key).wait(timeout):
            return None
        with self._lock:
            return self._values.get(key)


@dataclass
class Settings:
    """Tunables; tests shrink the waits."""

    audit_poll_interval: float = 5.0
    audit_max_wait: float = 900.0
    audit_api_versions: tuple[str, ...] = ("v1.0", "beta")
    message_trace_page: int = 5000
    exchange_page: int = 1000
    graph_page: int = 999
    dependency_timeout: float = 1800.0
    max_paging_restarts: int = 3


@dataclass
class Context:
    """Everything a source needs."""

    http: HttpClient
    endpoints: Endpoints
    tenant: str
    start: datetime
    end: datetime
    shared: Shared
    settings: Settings
    sleep: Callable[[float], None] = time.sleep

    @property
    def start_text(self) -> str:
        return format_time(self.start)

    @property
    def end_text(self) -> str:
        return format_time(self.end)

    def graph_pages(self, url: str, tracker: Tracker, *, params: dict[str, str] | None = None,
                    operation: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """GET a Graph collection and follow `@odata.nextLink` to the end."""
        next_url: str | None = url
        next_params = params
        while next_url:
            reply = self.http.request("GET", next_url, service="graph", params=next_params, operation=operation,
                                      observer=tracker)
            data = reply.data if isinstance(reply.data, dict) else {}
            rows = [r for r in data.get("value") or [] if isinstance(r, dict)]
            yield rows
            next_url, next_params = data.get("@odata.nextLink"), None


class Source(Protocol):
    """One collector: reads its API and returns a result per fact set it fills."""

    name: str
    fact_sets: tuple[str, ...]

    def collect(self, ctx: Context, tracker: Tracker) -> dict[str, FactResult]: ...


def map_records(records: list[dict[str, Any]], mapper: Callable[[dict[str, Any]], dict[str, Any]],
                what: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Apply a record->fact mapper; a record it rejects becomes an error line, not a crash."""
    facts, errors = [], []
    for index, rec in enumerate(records):
        try:
            facts.append(mapper(rec))
        except ValueError as exc:
            errors.append(f"{what} record {index}: {exc}")
    return facts, errors
