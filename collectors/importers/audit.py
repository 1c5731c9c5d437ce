"""Audit log exports -> connector audit events.

Four forms carry the same AuditData: Search-UnifiedAuditLog piped to Export-Csv or
ConvertTo-Json (AuditData a JSON string), the Purview portal's CSV (the same, plus
RecordId), Graph audit log query records (`auditData` an object) and Management Activity
API content (the AuditData objects themselves). Only connector operations are kept;
other operations are read and skipped. A record seen in two files counts once (its id).
"""

from __future__ import annotations

import json
from typing import Any

from connguard.collectors import mapping
from connguard.collectors.importers.state import ImportState
from connguard.collectors.mailstats import MailRowError, parse_export_time

from connguard.normalize import format_time, parse_time


def _keep(state: ImportState, event: dict[str, Any], data: dict[str, Any]) -> bool:
    """Keep a connector operation once; every record still tells the tenant's id and name."""
    state.tenant_id = state.tenant_id or mapping.text(data.get("OrganizationId"))
    state.tenant_name = state.tenant_name or mapping.text(data.get("OrganizationName"))
    if not mapping.is_connector_operation(event["operation"]):
        return False
    if event["id"] in state.audit:
        return False
    state.audit[event["id"]] = event
    state.saw_time(parse_time(event["time"]))
    return True


def export_row(state: ImportState, record: dict[str, Any], *, source: str) -> bool:
    """A Search-UnifiedAuditLog / Purview row: AuditData is a JSON string.

    The culture-formatted CreationDate column is read only when AuditData has no
    CreationTime (which is UTC and culture-neutral).
    """
    raw = record.get("AuditData")
    if isinstance(raw, dict):
        data = raw
    else:
        try:
            data = json.loads(raw or "")
        except json.JSONDecodeError as exc:
            raise mapping.MappingError(f"AuditData is not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, dict):
        raise mapping.MappingError("AuditData is not a JSON object")
    time = None
    if not mapping.text(data.get("CreationTime")):
        try:
            time = format_time(parse_export_time(record.get("CreationDate")))
        except MailRowError as exc:
            raise mapping.MappingError(f"CreationDate: {exc}") from None
    operation = mapping.text(record.get("Operation")) or mapping.text(record.get("Operations"))
    if operation and not mapping.text(data.get("Operation")):
        data = {**data, "Operation": operation}
    event = mapping.audit_event(data, record_id=mapping.text(record.get("RecordId")), time=time, source=source,
                                record_type=mapping.text(record.get("RecordType")))
    return _keep(state, event, data)


def search_row(state: ImportState, record: dict[str, Any]) -> bool:
    """Search-UnifiedAuditLog | Export-Csv or ConvertTo-Json."""
    return export_row(state, record, source="search_unified_audit_log")


def purview_row(state: ImportState, record: dict[str, Any]) -> bool:
    """Purview portal audit search export."""
    return export_row(state, record, source="purview_export")


def graph_record(state: ImportState, record: dict[str, Any]) -> bool:
    """Graph audit log query record."""
    event = mapping.graph_audit_event(record)
    return _keep(state, event, record.get("auditData") or {})


def management_record(state: ImportState, record: dict[str, Any]) -> bool:
    """Management Activity API content record (an AuditData object)."""
    event = mapping.audit_event(record, source="management_activity_api")
    return _keep(state, event, record)
