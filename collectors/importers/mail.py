"""Message trace and EmailEvents rows -> the streaming hourly mail statistics.

Rows are de-duplicated on MessageTraceId / NetworkMessageId + recipient (the same GUID in
both sources), then handed to the shared aggregator and dropped: raw rows are never kept.
"""

from __future__ import annotations

from typing import Any

from connguard.collectors import mailstats
from connguard.collectors.importers.state import ImportState


def _count(state: ImportState, record: dict[str, Any], row: mailstats.MailRow) -> bool:
    key = mailstats.row_key(record)
    if key is not None and not state.seen_mail.add(key):
        return False
    assert state.mail is not None, "start_mail() runs before mail files"
    state.mail.add(row)
    return True


def trace_row(state: ImportState, record: dict[str, Any]) -> bool:
    """Get-MessageTraceV2 row (CSV or JSON) or Graph messageTraces record."""
    return _count(state, record, mailstats.message_trace_row(record))


def event_row(state: ImportState, record: dict[str, Any]) -> bool:
    """EmailEvents row (Advanced hunting CSV or runHuntingQuery result)."""
    return _count(state, record, mailstats.email_event_row(record))
