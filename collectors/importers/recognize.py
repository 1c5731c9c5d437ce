"""Say what an export is from its content: the CSV header or the first JSON record.

File names lie (`export (3).csv`), so recognition looks only at what is inside. Each
recognised form is a `Kind`: which snapshot source it feeds, and a label the import
prints so a responder can check that every file was taken for what it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    """One recognised export form."""

    name: str  # stable id, also the `format` recorded in the snapshot
    source: str  # the snapshot fact set it feeds
    label: str  # what the user is told


INBOUND = Kind("exchange_inbound_connector", "inbound_connectors", "Get-InboundConnector JSON")
OUTBOUND = Kind("exchange_outbound_connector", "outbound_connectors", "Get-OutboundConnector JSON")
ACCEPTED = Kind("exchange_accepted_domain", "accepted_domains", "Get-AcceptedDomain JSON")
BLOCKED = Kind("exchange_blocked_connector", "blocked_connectors", "Get-BlockedConnector JSON")
AUDIT_SEARCH_CSV = Kind("audit_search_csv", "audit_events", "Search-UnifiedAuditLog CSV")
AUDIT_PURVIEW_CSV = Kind("audit_purview_csv", "audit_events", "Purview audit export CSV")
AUDIT_SEARCH_JSON = Kind("audit_search_json", "audit_events", "Search-UnifiedAuditLog JSON")
AUDIT_GRAPH = Kind("audit_graph_query", "audit_events", "Graph audit log query records JSON")
AUDIT_MANAGEMENT = Kind("audit_management_api", "audit_events", "Management Activity API content JSON")
TRACE_CSV = Kind("message_trace_csv", "mail_stats", "Get-MessageTraceV2 CSV")
TRACE_JSON = Kind("message_trace_json", "mail_stats", "Get-MessageTraceV2 JSON")
TRACE_GRAPH = Kind("message_trace_graph", "mail_stats", "Graph messageTraces JSON")
EVENTS_CSV = Kind("email_events_csv", "mail_stats", "Advanced hunting EmailEvents CSV")
EVENTS_JSON = Kind("email_events_hunting", "mail_stats", "runHuntingQuery EmailEvents JSON")
ALERTS = Kind("graph_alerts", "alerts", "Graph alerts_v2 JSON")
RISKY_USERS = Kind("graph_risky_users", "admins", "Graph riskyUsers JSON")
ROLE_ASSIGNMENTS = Kind("graph_role_assignments", "admins", "Graph roleAssignments JSON")
SIGN_INS = Kind("graph_sign_ins", "admins", "Graph signIns JSON")

ALL_KINDS: tuple[Kind, ...] = (
    INBOUND, OUTBOUND, ACCEPTED, BLOCKED, AUDIT_SEARCH_CSV, AUDIT_PURVIEW_CSV, AUDIT_SEARCH_JSON, AUDIT_GRAPH,
    AUDIT_MANAGEMENT, TRACE_CSV, TRACE_JSON, TRACE_GRAPH, EVENTS_CSV, EVENTS_JSON, ALERTS, RISKY_USERS,
    ROLE_ASSIGNMENTS, SIGN_INS,
)


def _has(keys: set[str], *names: str) -> bool:
    return all(name in keys for name in names)


def from_header(columns: Iterable[str]) -> Kind | None:
    """The kind of a CSV export from its header row."""
    keys = set(columns)
    if "AuditData" in keys and "CreationDate" in keys:
        return AUDIT_PURVIEW_CSV if ("RecordId" in keys or "Operation" in keys) else AUDIT_SEARCH_CSV
    if _has(keys, "MessageTraceId", "Received", "RecipientAddress"):
        return TRACE_CSV
    if _has(keys, "Timestamp", "NetworkMessageId", "RecipientEmailAddress"):
        return EVENTS_CSV
    return None


def from_record(record: Any, envelope: dict[str, Any] | None = None) -> Kind | None:
    """The kind of a JSON export from its first record (and its response envelope)."""
    if not isinstance(record, dict):
        return None
    keys = set(record)
    if _has(keys, "Timestamp", "NetworkMessageId", "RecipientEmailAddress"):
        return EVENTS_JSON
    if _has(keys, "MessageTraceId", "Received", "RecipientAddress"):
        return TRACE_JSON
    if _has(keys, "receivedDateTime", "recipientAddress", "senderAddress"):
        return TRACE_GRAPH
    if "AuditData" in keys and ("CreationDate" in keys or "RecordType" in keys):
        return AUDIT_SEARCH_JSON
    if "auditData" in keys and ("operation" in keys or "auditLogRecordType" in keys):
        return AUDIT_GRAPH
    if _has(keys, "CreationTime", "Operation", "RecordType") and ("Workload" in keys or "Id" in keys):
        return AUDIT_MANAGEMENT
    if "SenderIPAddresses" in keys or _has(keys, "ConnectorType", "SenderDomains"):
        return INBOUND
    if "SmartHosts" in keys or _has(keys, "UseMXRecord", "RecipientDomains"):
        return OUTBOUND
    if _has(keys, "DomainName", "DomainType"):
        return ACCEPTED
    if "ConnectorId" in keys or "ConnectorName" in keys:
        return BLOCKED
    if "roleDefinitionId" in keys and ("principal" in keys or "principalId" in keys):
        return ROLE_ASSIGNMENTS
    if "riskLastUpdatedDateTime" in keys or (_has(keys, "riskLevel", "riskState", "userPrincipalName")
                                             and "createdDateTime" not in keys):
        return RISKY_USERS
    if _has(keys, "userPrincipalName", "createdDateTime") and ("ipAddress" in keys or "appDisplayName" in keys):
        return SIGN_INS
    if _has(keys, "title", "createdDateTime") and ("serviceSource" in keys or "alertWebUrl" in keys):
        return ALERTS
    return None


def describe_keys(record: Any, limit: int = 8) -> str:
    """A short description of an unrecognised record for the error message (field names
    only, never values: an export can hold message subjects and addresses)."""
    if isinstance(record, dict):
        names = sorted(record)[:limit]
        more = "" if len(record) <= limit else f", … ({len(record)} fields)"
        return "fields " + ", ".join(names) + more
    return f"a JSON {type(record).__name__}, not an object"
