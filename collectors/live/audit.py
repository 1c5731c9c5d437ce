"""Connector changes from the audit log: New-/Set-/Remove-InboundConnector.

Preferred: Graph's audit log query API (create a query, poll until it succeeds, page the
records). v1.0 answered 404 on a tenant where beta worked, so both versions are tried.
Where the app may not use it (401/403/404), the Office 365 Management Activity API is
the alternative: start the Audit.Exchange subscription (a repeat's AF20024 is success),
list content per 24-hour window (it keeps 7 days), page by the NextPageUri header and
read each content blob.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from connguard.collectors import mapping
from connguard.collectors.live.apierror import ApiError
from connguard.collectors.live.base import (
    Context,
    FactResult,
    Tracker,
    classify,
    map_records,
)

from connguard.normalize import format_time

OPERATIONS = ["New-InboundConnector", "Set-InboundConnector", "Remove-InboundConnector"]
QUERY_PERMISSION = "AuditLogsQuery.Read.All (Microsoft Graph, application)"
FEED_PERMISSION = "ActivityFeed.Read (Office 365 Management APIs, application)"
FEED_RETENTION = timedelta(days=7)


class AuditFailed(Exception):
    """The audit query ran but did not succeed (failed, cancelled or timed out)."""


class AuditSource:
    """audit_events fact set; publishes the accounts that changed connectors."""

    name: str = "audit"
    fact_sets: tuple[str, ...] = ("audit_events",)

    def collect(self, ctx: Context, tracker: Tracker) -> dict[str, FactResult]:
        result = self._collect(ctx, tracker)
        ctx.shared.publish("connector_actors", sorted({e["actor"] for e in result.records if e.get("actor")})
                           if result.status in ("ok", "partial") else None)
        return {"audit_events": result}

    def _collect(self, ctx: Context, tracker: Tracker) -> FactResult:
        first: ApiError | None = None
        for version in ctx.settings.audit_api_versions:
            try:
                return self._query_api(ctx, tracker, version)
            except ApiError as exc:
                first = first or exc
                if exc.status != 404:
                    break
            except AuditFailed as exc:
                return FactResult(status="error", reason=str(exc), origin=f"graph audit log query ({version})")
        assert first is not None
        status, query_reason, _ = classify(first, QUERY_PERMISSION, what="audit log query API")
        if status != "missing":
            return FactResult(status=status, reason=query_reason, origin="graph audit log query")
        tracker.note(f"{query_reason}; trying the Management Activity API")
        try:
            return self._activity_feed(ctx, tracker)
        except ApiError as exc:
            status, reason, _ = classify(exc, FEED_PERMISSION, what="Management Activity API")
            return FactResult(status=status, reason=f"{query_reason}; {reason}",
                              permission=f"{QUERY_PERMISSION}, or {FEED_PERMISSION}",
                              origin="graph audit log query / management activity API")

    # -- Graph audit log query API ---------------------------------------------------------
    def _query_api(self, ctx: Context, tracker: Tracker, version: str) -> FactResult:
        base = f"{ctx.endpoints.graph}/{version}/security/auditLog/queries"
        body = {"displayName": f"connguard connector changes {ctx.start_text}..{ctx.end_text}",
                "filterStartDateTime": ctx.start_text, "filterEndDateTime": ctx.end_text,
                "operationFilters": OPERATIONS, "recordTypeFilters": ["exchangeAdmin"]}
        reply = ctx.http.request("POST", base, service="graph", operation="graph:auditLog/queries:create",
                                 json_body=body, headers={"Content-Type": "application/json"}, observer=tracker)
        query_id = str((reply.data or {}).get("id") or "")
        if not query_id:
            raise AuditFailed("audit log query API returned no query id")
        deadline = time.monotonic() + ctx.settings.audit_max_wait
        status = str((reply.data or {}).get("status") or "notStarted")
        while status != "succeeded":
            if status in ("failed", "cancelled"):
                raise AuditFailed(f"audit log query {query_id} {status}")
            if time.monotonic() > deadline:
                raise AuditFailed(f"audit log query {query_id} still {status} after {ctx.settings.audit_max_wait:.0f}s")
            ctx.sleep(ctx.settings.audit_poll_interval)
            status = str((ctx.http.request("GET", f"{base}/{query_id}", service="graph", observer=tracker).data
                          or {}).get("status") or "")
        records: list[dict[str, Any]] = []
        for page in ctx.graph_pages(f"{base}/{query_id}/records", tracker, params={"$top": str(ctx.settings.graph_page)}):
            records.extend(page)
            tracker.add_items(len(page))
        return self._result(records, lambda r: mapping.graph_audit_event(r), f"graph audit log query ({version})")

    # -- Management Activity API -----------------------------------------------------------
    def _activity_feed(self, ctx: Context, tracker: Tracker) -> FactResult:
        root = f"{ctx.endpoints.management}/api/v1.0/{ctx.tenant}/activity/feed"
        publisher = {"PublisherIdentifier": ctx.tenant}
        try:
            ctx.http.request("POST", f"{root}/subscriptions/start", service="management",
                             params={"contentType": "Audit.Exchange", **publisher}, observer=tracker)
        except ApiError as exc:
            if exc.code != "AF20024":  # already enabled
                raise
        start = max(ctx.start, ctx.end - FEED_RETENTION + timedelta(minutes=5))
        records: list[dict[str, Any]] = []
        window_start = start
        while window_start < ctx.end:
            window_end = min(ctx.end, window_start + timedelta(hours=24))
            url: str | None = f"{root}/subscriptions/content"
            params: dict[str, str] | None = {"contentType": "Audit.Exchange", "startTime": format_time(window_start),
                                             "endTime": format_time(window_end), **publisher}
            while url:
                reply = ctx.http.request("GET", url, service="management", params=params, observer=tracker)
                for blob in reply.data or []:
                    content = ctx.http.request("GET", blob["contentUri"], service="management", params=publisher,
                                               observer=tracker)
                    picked = [r for r in content.data or []
                              if isinstance(r, dict) and mapping.is_connector_operation(r.get("Operation"))
                              and r.get("Operation") in OPERATIONS]
                    records.extend(picked)
                    tracker.add_items(len(picked))
                url, params = reply.headers.get("NextPageUri"), None
            window_start = window_end
        result = self._result(records, lambda r: mapping.audit_event(r, source="management_activity_api"),
                              "office 365 management activity API (Audit.Exchange)")
        if start > ctx.start:
            result.status = "partial"
            result.reason = (f"the Management Activity API keeps 7 days: changes before {format_time(start)} "
                             "were not read (grant AuditLogsQuery.Read.All for the whole window)")
            result.permission = QUERY_PERMISSION
        return result

    def _result(self, records: list[dict[str, Any]], mapper: Any, origin: str) -> FactResult:
        facts, errors = map_records(records, mapper, "audit")
        unique = {f["id"]: f for f in facts if mapping.is_connector_operation(f["operation"])}
        events = sorted(unique.values(), key=lambda f: (f["time"], f["id"]))
        return FactResult(status="partial" if errors else "ok", records=events, origin=origin, errors=errors,
                          reason=f"{len(errors)} audit records could not be read" if errors else None)
