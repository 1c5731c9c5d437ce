"""Run the sources concurrently and assemble the snapshot.

Sources run in daemon threads (an interrupted run exits at once: nothing is written
until every source has finished, and the write is atomic). One source failing never
stops the others; its fact sets are recorded as missing or error with the reason.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from connguard.collectors.live.alerts import AlertsSource
from connguard.collectors.live.audit import AuditSource
from connguard.collectors.live.auth import CredentialOptions, TokenSource
from connguard.collectors.live.base import (
    Context,
    FactResult,
    Reporter,
    Settings,
    Shared,
    Source,
    Tracker,
)
from connguard.collectors.live.endpoints import resolve
from connguard.collectors.live.exchange import ExchangeConfigSource
from connguard.collectors.live.http import HttpClient
from connguard.collectors.live.identity import IdentitySource
from connguard.collectors.live.mailstats_source import MailStatsSource
from connguard.collectors.live.ratelimit import RateLimits
from connguard.collectors.live.retry import RetryPolicy

from connguard import __version__, snapshot
from connguard.errors import InputError
from connguard.normalize import NormalizationError, format_time, parse_duration

SOURCES: dict[str, Callable[[], Source]] = {
    "exchange": ExchangeConfigSource, "alerts": AlertsSource, "audit": AuditSource,
    "identity": IdentitySource, "mail_stats": MailStatsSource,
}
# Shared values each source publishes; published as None when it is not run.
PUBLISHES: dict[str, tuple[str, ...]] = {
    "exchange": ("accepted_domains", "inbound_connectors"), "audit": ("connector_actors",),
}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class OptionsError(InputError):
    """A collect option is unusable."""


@dataclass
class CollectOptions:
    """Everything `connguard collect` (or `scan --live`) passes to a collection."""

    tenant: str
    client_id: str
    credentials: CredentialOptions
    cloud: str = "global"
    endpoints_file: str | None = None
    ca_bundle: str | None = None
    since: str = "9d"
    sources: tuple[str, ...] = tuple(SOURCES)
    timeout: float = 60.0
    retry: RetryPolicy | None = None
    limits: RateLimits | None = None
    settings: Settings = field(default_factory=Settings)
    now: datetime | None = None
    reporter: Reporter | None = None
    device_prompt: Callable[[str], None] | None = None


@dataclass
class Collection:
    """A finished collection: the snapshot and how each source went."""

    snapshot: dict[str, Any]
    trackers: list[Tracker]
    results: dict[str, FactResult]


def collect(options: CollectOptions) -> Collection:
    """Sign in, run the selected sources concurrently, return the validated snapshot."""
    unknown = sorted(set(options.sources) - set(SOURCES))
    if unknown:
        raise OptionsError(f"unknown source {unknown[0]!r} (choose from {', '.join(SOURCES)})")
    try:
        window = parse_duration(options.since)
    except NormalizationError as exc:
        raise OptionsError(f"--since: {exc}") from None
    if window.total_seconds() <= 0:  # an empty window would read nothing and look like a quiet tenant
        raise OptionsError(f"--since: {options.since!r} is no time at all (use e.g. 36h, 9d or P9D)")
    endpoints = resolve(options.cloud, options.endpoints_file)
    end = (options.now or datetime.now(timezone.utc)).replace(microsecond=0)
    http = HttpClient(ca_bundle=options.ca_bundle, timeout=options.timeout, retry=options.retry,
                      limits=options.limits)
    try:
        tokens = TokenSource(tenant=options.tenant, client_id=options.client_id, credentials=options.credentials,
                             endpoints=endpoints, http=http, device_prompt=options.device_prompt)
        # Sign in before starting anything: a wrong tenant, client id or credential is exit 2.
        tokens.token("exchange" if options.sources == ("exchange",) else "graph")
        http.tokens = tokens.token
        ctx = Context(http=http, endpoints=endpoints, tenant=options.tenant, start=end - window, end=end,
                      shared=Shared(), settings=options.settings, sleep=http.retry.sleep)
        results, trackers = _run(ctx, options)
    finally:
        http.close()
    data = _assemble(options, ctx, results)
    snapshot.validate(data, origin="collected snapshot")
    return Collection(snapshot=data, trackers=trackers, results=results)


def run_collection(options: CollectOptions) -> dict[str, Any]:
    """The seam for `scan --live`: collect and return the snapshot dict (not written)."""
    return collect(options).snapshot


def _run(ctx: Context, options: CollectOptions) -> tuple[dict[str, FactResult], list[Tracker]]:
    for name, keys in PUBLISHES.items():
        if name not in options.sources:
            for key in keys:
                ctx.shared.publish(key, None)
    results: dict[str, FactResult] = {}
    lock = threading.Lock()
    trackers = [Tracker(name, options.reporter) for name in options.sources]

    def work(tracker: Tracker) -> None:
        source = SOURCES[tracker.name]()
        tracker.start()
        try:
            produced = source.collect(ctx, tracker)
        except Exception as exc:  # noqa: BLE001 - one broken source must not sink the rest
            reason = f"{tracker.name}: {type(exc).__name__}: {exc}"
            produced = {fact: FactResult(status="error", reason=reason) for fact in source.fact_sets}
        finally:
            for key in PUBLISHES.get(tracker.name, ()):
                ctx.shared.publish(key, None)
        with lock:
            results.update(produced)
        tracker.finish(", ".join(f"{fact} {r.status} ({len(r.records)})" for fact, r in sorted(produced.items())))

    threads = [threading.Thread(target=work, args=(t,), name=f"source-{t.name}", daemon=True) for t in trackers]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)  # short joins keep Ctrl-C responsive
    return results, trackers


def _assemble(options: CollectOptions, ctx: Context, results: dict[str, FactResult]) -> dict[str, Any]:
    accepted = results.get("accepted_domains")
    initial = next((d["domain"] for d in (accepted.records if accepted else []) if d.get("initial")), None)
    data = snapshot.empty(tenant_domain=initial or options.tenant, collected_at=format_time(ctx.end),
                          window_start=format_time(ctx.start), window_end=format_time(ctx.end),
                          tenant_id=options.tenant.lower() if _GUID.match(options.tenant) else None,
                          collector="connguard-live", mode="live", version=__version__)
    for fact in snapshot.FACT_SETS:
        result = results.get(fact)
        if result is None:
            data["sources"][fact] = {"status": "missing", "reason": "source not selected for this collection",
                                     "count": 0}
            continue
        entry: dict[str, Any] = {"status": result.status, "reason": result.reason, "count": len(result.records),
                                 "origin": result.origin, "permission": result.permission}
        if result.unavailable_fields:
            entry["unavailable_fields"] = sorted(result.unavailable_fields)
        if result.errors:
            entry["errors"] = [{"file": None, "line": None, "message": m} for m in result.errors[:50]]
            entry["errors_total"] = len(result.errors)
        data["sources"][fact] = entry
        data["facts"][fact] = result.records
    return data
