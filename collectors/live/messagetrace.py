"""Get-MessageTraceV2 through the admin API: 10-day slices, keyset paging, de-duplication.

The cmdlet has no server paging. Rows come newest first; the next page starts at the last
row's `Received` (sent back verbatim as EndDate) and RecipientAddress (as
StartingRecipientAddress), which repeats that row, and the service sometimes repeats
others: rows are de-duplicated on MessageTraceId + RecipientAddress. A non-empty
`@adminapi.warnings` is the only sign of more rows. Because each page request is
self-contained, an "Expired or Invalid pagination request" answer is recovered by
sending the same request again. Requests go through the 100-per-5-minutes limiter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from connguard.collectors import mailstats
from connguard.collectors.live.apierror import ApiError
from connguard.collectors.live.base import Context, Tracker
from connguard.collectors.live.exchange import invoke, is_expired_paging

from connguard.normalize import format_time

SLICE = timedelta(days=10)
RETENTION = timedelta(days=90)  # message trace keeps 90 days
OPERATION = "exchange:Get-MessageTraceV2"


@dataclass
class TraceOutcome:
    """What one trace read produced besides the aggregated rows."""

    rows: int = 0
    duplicates: int = 0
    rejected: int = 0
    incomplete: str | None = None   # why the read stopped early, if it did
    note: str | None = None         # a limit of the service worth reporting


def read_message_trace(ctx: Context, tracker: Tracker, aggregator: mailstats.MailStatsAggregator) -> TraceOutcome:
    """Feed every trace row in the window to `aggregator` exactly once."""
    outcome = TraceOutcome()
    seen = mailstats.SeenKeys()
    try:
        oldest = max(ctx.start, ctx.end - RETENTION)
        if oldest > ctx.start:
            outcome.note = f"message trace keeps 90 days: rows start at {format_time(oldest)}"
        slice_end = ctx.end
        while slice_end > oldest:
            slice_start = max(oldest, slice_end - SLICE)
            params: dict[str, Any] = {"StartDate": format_time(slice_start), "EndDate": format_time(slice_end),
                                      "ResultSize": ctx.settings.message_trace_page}
            if not _read_slice(ctx, tracker, aggregator, seen, params, outcome):
                return outcome
            slice_end = slice_start
    finally:
        seen.close()
    return outcome


def _request(ctx: Context, tracker: Tracker, params: dict[str, Any]) -> dict[str, Any]:
    attempts = 0
    while True:
        try:
            return invoke(ctx, tracker, "Get-MessageTraceV2", dict(params), operation=OPERATION)
        except ApiError as exc:
            attempts += 1
            if not is_expired_paging(exc) or attempts > ctx.settings.max_paging_restarts:
                raise
            tracker.note("message trace: pagination request expired; repeating the same keyset request")


def _read_slice(ctx: Context, tracker: Tracker, aggregator: mailstats.MailStatsAggregator,
                seen: mailstats.SeenKeys, params: dict[str, Any], outcome: TraceOutcome) -> bool:
    while True:
        data = _request(ctx, tracker, params)
        rows = [r for r in data.get("value") or [] if isinstance(r, dict)]
        fresh = 0
        for row in rows:
            key = mailstats.row_key(row)
            if key is not None and not seen.add(key):
                outcome.duplicates += 1
                continue
            try:
                aggregator.add(mailstats.message_trace_row(row))
            except ValueError:
                outcome.rejected += 1
                continue
            fresh += 1
        outcome.rows += fresh
        tracker.add_items(fresh)
        if not data.get("@adminapi.warnings") or not rows:
            return True
        last = rows[-1]
        if fresh == 0 or "Received" not in last or "RecipientAddress" not in last:
            outcome.incomplete = (f"message trace paging made no progress at {params['EndDate']}: "
                                  "rows before it were not read")
            return False
        params["EndDate"] = last["Received"]
        params["StartingRecipientAddress"] = last["RecipientAddress"]
