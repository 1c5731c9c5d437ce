"""The `mail_stats` fact set: Defender advanced hunting when the app may use it (the
service aggregates; P2 and connector names included), else message trace (rows
aggregated here; no 5322.From, so `p1_p2_mismatch` is unavailable).

Both need the accepted domains and inbound connectors the Exchange source reads, and
wait for them.
"""

from __future__ import annotations

from typing import Any

from connguard.collectors import mailstats
from connguard.collectors.live import hunting
from connguard.collectors.live.apierror import ApiError
from connguard.collectors.live.base import Context, FactResult, Tracker, classify
from connguard.collectors.live.exchange import EXCHANGE_PERMISSION
from connguard.collectors.live.messagetrace import read_message_trace

from connguard.normalize import format_time

HUNTING_PERMISSION = "ThreatHunting.Read.All (Microsoft Graph, application; needs Defender for Office 365 Plan 2)"
_ACCEPTED_FIELDS = ["new_recipient_domain_count", "new_recipient_domains", "non_accepted_sender",
                    "recipient_domains", "sender_domains"]


class MailStatsSource:
    """Hourly outbound statistics per connector."""

    name: str = "mail_stats"
    fact_sets: tuple[str, ...] = ("mail_stats",)

    def collect(self, ctx: Context, tracker: Tracker) -> dict[str, FactResult]:
        accepted = ctx.shared.wait("accepted_domains", ctx.settings.dependency_timeout)
        inbound = ctx.shared.wait("inbound_connectors", ctx.settings.dependency_timeout)
        try:
            return {"mail_stats": self._hunting(ctx, tracker, accepted, inbound)}
        except ApiError as exc:
            status, reason, grant = classify(exc, HUNTING_PERMISSION, what="advanced hunting")
            if status != "missing":
                return {"mail_stats": FactResult(status=status, reason=reason, origin="advanced hunting")}
        tracker.note(f"{reason}; falling back to message trace")
        return {"mail_stats": self._trace(ctx, tracker, accepted, inbound, reason, grant)}

    def _hunting(self, ctx: Context, tracker: Tracker, accepted: list[dict[str, Any]] | None,
                 inbound: list[dict[str, Any]] | None) -> FactResult:
        domains = [d["domain"] for d in accepted or []]
        start = max(ctx.start, ctx.end - hunting.RETENTION)
        body = {"Query": hunting.build_query(start, ctx.end, domains), "Timespan": hunting.timespan(start, ctx.end)}
        reply = ctx.http.request("POST", f"{ctx.endpoints.graph}/v1.0/security/runHuntingQuery", service="graph",
                                 operation="graph:runHuntingQuery", json_body=body,
                                 headers={"Content-Type": "application/json"}, observer=tracker)
        data = reply.data if isinstance(reply.data, dict) else {}
        rows = [r for r in data.get("results") or data.get("Results") or [] if isinstance(r, dict)]
        facts = hunting.to_facts(rows, inbound)
        tracker.add_items(len(facts))
        result = FactResult(status="ok", records=facts, origin="defender advanced hunting (EmailEvents, summarised)")
        if start > ctx.start:
            result.reason = f"advanced hunting keeps 30 days: mail statistics start at {format_time(start)}"
        if accepted is None:
            for fact in facts:
                for name in ("non_accepted_sender", "recipient_domains", "new_recipient_domain_count"):
                    fact[name] = None
                fact["new_recipient_domains"], fact["sender_domains"] = [], []
            result.unavailable_fields = list(_ACCEPTED_FIELDS)
            note = "accepted domains could not be read: sender and recipient domains not classified"
            result.reason = f"{result.reason}; {note}" if result.reason else note
        return result

    def _trace(self, ctx: Context, tracker: Tracker, accepted: list[dict[str, Any]] | None,
               inbound: list[dict[str, Any]] | None, hunting_reason: str, hunting_grant: str | None) -> FactResult:
        aggregator = mailstats.MailStatsAggregator(inbound_connectors=inbound, accepted_domains=accepted)
        origin = "exchange admin API Get-MessageTraceV2 (fallback)"
        try:
            outcome = read_message_trace(ctx, tracker, aggregator)
        except ApiError as exc:
            status, reason, grant = classify(exc, EXCHANGE_PERMISSION, what="message trace")
            both = f"{hunting_reason}; {reason}"
            grants = " or ".join(g for g in (hunting_grant, grant) if g) or None
            return FactResult(status=status, reason=both, permission=grants, origin=origin)
        errors = [f"{outcome.rejected} message trace rows could not be read"] if outcome.rejected else []
        reason = f"{hunting_reason}; read from message trace instead ({outcome.rows} rows, {outcome.duplicates} duplicates dropped)"
        status = "ok"
        if outcome.note:
            reason = f"{reason}; {outcome.note}"
        if outcome.incomplete:
            status, reason = "partial", f"{reason}; {outcome.incomplete}"
        return FactResult(status=status, records=aggregator.facts(), reason=reason, permission=hunting_grant,
                          origin=origin, unavailable_fields=aggregator.unavailable_fields(), errors=errors)
