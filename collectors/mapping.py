"""Record -> fact mappers shared by the live collectors and the importers.

Both producers of snapshots read the same Microsoft records (an Exchange cmdlet's object,
an audit record's AuditData, a Graph entity); mapping them here once means an imported
snapshot and a collected one hold the same facts for the same tenant state.

API (every function takes one decoded JSON record, a dict, and returns a snapshot fact
dict, or raises `MappingError` naming the missing or malformed field):

- `inbound_connector(rec)`   Get-InboundConnector object      -> facts.inbound_connectors[]
- `outbound_connector(rec)`  Get-OutboundConnector object     -> facts.outbound_connectors[]
- `accepted_domain(rec)`     Get-AcceptedDomain object        -> facts.accepted_domains[]
- `blocked_connector(rec)`   Get-BlockedConnector object      -> facts.blocked_connectors[]
- `audit_event(audit_data, *, record_id=None, time=None, source=None, record_type=None)`
                             classic AuditData dict (Search-UnifiedAuditLog, Purview export,
                             Management Activity API)          -> facts.audit_events[]
- `graph_audit_event(rec, *, source="graph_audit_query")`
                             Graph auditLog query record       -> facts.audit_events[]
- `is_connector_operation(operation)`  whether an audit operation concerns a connector
                             (the audit_events fact keeps only those)
- `alert(rec)`               Graph alerts_v2 alert            -> facts.alerts[]
- `AdminsBuilder`            add_role_assignment / add_risky_user / add_sign_in, then
                             `facts()`                         -> facts.admins[]

Values are accepted as either JSON serialiser writes them: booleans as `true` or
`"True"`, dates as ISO 8601 or Windows PowerShell 5.1's `/Date(ms)/` (or its
`{"value": "/Date(ms)/", "DateTime": ...}` wrapper), multi-valued properties as arrays or
as a single string. Normalisation itself lives in `connguard.normalize`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from connguard.normalize import (
    NormalizationError,
    domain_of,
    format_time,
    normalize_domain,
    normalize_ips,
    normalize_sender_domains,
    normalize_upn,
    parse_time,
    strip_port,
)

# Directory role template ids (stable across tenants) for roles that can manage connectors.
ROLE_NAMES: dict[str, str] = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
}
_CONNECTOR_OPERATION = re.compile(r"^[A-Za-z]+-\w*Connector$", re.IGNORECASE)
_AUDIT_RECORD_TYPES = {1: "ExchangeAdmin"}
# Connector names quoted in an alert's description: `connector 'Name'` / `connector "Name"`.
_QUOTED_CONNECTOR = re.compile(r"connector[^'\"\n]{0,40}['\"\u2018\u201c]([^'\"\u2019\u201d\n]{1,256})['\"\u2019\u201d]",
                               re.IGNORECASE)


class MappingError(ValueError):
    """A record lacks a field its fact requires, or a value cannot be read."""


# ---------------------------------------------------------------- value readers

def text(value: Any) -> str | None:
    """A string value or None; empty strings are None (Exchange writes "" for unset)."""
    if value is None:
        return None
    if isinstance(value, dict) and "value" in value:  # PS 5.1 wrapper objects
        value = value["value"]
    result = str(value).strip()
    return result or None


def boolean(value: Any) -> bool | None:
    """`true`, `"True"`, `1` and `"1"` are True (CSV and PowerShell spell it several ways)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    lowered = str(value).strip().lower()
    if lowered in {"true", "1", "yes", "succeeded", "success"}:
        return True
    if lowered in {"false", "0", "no", "failed", "failure"}:
        return False
    return None


def strings(value: Any) -> list[str]:
    """A multi-valued property as a list of strings.

    ConvertTo-Json writes a one-element MultiValuedProperty sometimes as the bare string,
    and rich values (AddressSpace, IPRange) as objects whose readable form is in one field.
    """
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return [part for part in (p.strip() for p in str(value).split(",")) if part]
    out: list[str] = []
    for item in value:
        if isinstance(item, dict):
            for key in ("Address", "Expression", "Domain", "Value", "value", "Name"):
                if isinstance(item.get(key), str) and item[key].strip():
                    out.append(item[key].strip())
                    break
            else:
                lower, upper = item.get("LowerBound"), item.get("UpperBound")
                if lower is not None and upper is not None:
                    out.append(str(lower) if str(lower) == str(upper) else f"{lower}-{upper}")
        elif item is not None and str(item).strip():
            out.append(str(item).strip())
    return out


def time_or_none(value: Any) -> str | None:
    """Canonical snapshot time, or None for an absent value; a present but unreadable
    value raises MappingError (a wrong time is worse than none)."""
    raw = text(value)
    if raw is None:
        return None
    try:
        return format_time(parse_time(raw))
    except NormalizationError as exc:
        raise MappingError(str(exc)) from None


def _required(rec: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = text(rec.get(key))
        if value is not None:
            return value
    raise MappingError(f"missing {' / '.join(keys)}")


def _ips(value: Any) -> list[str]:
    try:
        return normalize_ips(strings(value))
    except NormalizationError as exc:
        raise MappingError(str(exc)) from None


# ---------------------------------------------------------------- Exchange objects

def inbound_connector(rec: dict[str, Any]) -> dict[str, Any]:
    """Get-InboundConnector object -> inbound connector fact."""
    identity = _required(rec, "Identity", "Name")
    return {
        "identity": identity,
        "name": text(rec.get("Name")),
        "guid": text(rec.get("Guid")),
        "enabled": bool(boolean(rec.get("Enabled"))),
        "connector_type": text(rec.get("ConnectorType")) or "Unknown",
        "connector_source": text(rec.get("ConnectorSource")),
        "comment": text(rec.get("Comment")),
        "sender_ip_addresses": _ips(rec.get("SenderIPAddresses")),
        "sender_domains": normalize_sender_domains(strings(rec.get("SenderDomains"))),
        "trusted_organizations": sorted({normalize_domain(d) for d in strings(rec.get("TrustedOrganizations"))}),
        "associated_accepted_domains": sorted(
            {normalize_domain(d) for d in strings(rec.get("AssociatedAcceptedDomains"))}
        ),
        "require_tls": boolean(rec.get("RequireTls")),
        "restrict_domains_to_ip_addresses": boolean(rec.get("RestrictDomainsToIPAddresses")),
        "restrict_domains_to_certificate": boolean(rec.get("RestrictDomainsToCertificate")),
        "tls_sender_certificate_name": text(rec.get("TlsSenderCertificateName")),
        "treat_messages_as_internal": boolean(rec.get("TreatMessagesAsInternal")),
        "cloud_services_mail_enabled": boolean(rec.get("CloudServicesMailEnabled")),
        "when_created": time_or_none(rec.get("WhenCreatedUTC") or rec.get("WhenCreated")),
        "when_changed": time_or_none(rec.get("WhenChangedUTC") or rec.get("WhenChanged")),
    }


def outbound_connector(rec: dict[str, Any]) -> dict[str, Any]:
    """Get-OutboundConnector object -> outbound connector fact."""
    identity = _required(rec, "Identity", "Name")
    return {
        "identity": identity,
        "name": text(rec.get("Name")),
        "guid": text(rec.get("Guid")),
        "enabled": bool(boolean(rec.get("Enabled"))),
        "connector_type": text(rec.get("ConnectorType")),
        "smart_hosts": sorted({h.lower() for h in strings(rec.get("SmartHosts"))}),
        "recipient_domains": normalize_sender_domains(strings(rec.get("RecipientDomains"))),
        "use_mx_record": boolean(rec.get("UseMXRecord")),
        "route_all_messages_via_on_premises": boolean(rec.get("RouteAllMessagesViaOnPremises")),
        "is_transport_rule_scoped": boolean(rec.get("IsTransportRuleScoped")),
        "all_accepted_domains": boolean(rec.get("AllAcceptedDomains")),
        "tls_settings": text(rec.get("TlsSettings")),
        "tls_domain": text(rec.get("TlsDomain")),
        "comment": text(rec.get("Comment")),
        "when_created": time_or_none(rec.get("WhenCreatedUTC") or rec.get("WhenCreated")),
        "when_changed": time_or_none(rec.get("WhenChangedUTC") or rec.get("WhenChanged")),
    }


def accepted_domain(rec: dict[str, Any]) -> dict[str, Any]:
    """Get-AcceptedDomain object -> accepted domain fact."""
    return {
        "domain": normalize_domain(_required(rec, "DomainName", "Name", "Identity")),
        "domain_type": text(rec.get("DomainType")),
        "default": boolean(rec.get("Default")),
        "initial": boolean(rec.get("InitialDomain")),
        "match_subdomains": boolean(rec.get("MatchSubDomains")),
    }


def blocked_connector(rec: dict[str, Any]) -> dict[str, Any]:
    """Get-BlockedConnector object -> blocked connector fact.

    The cmdlet's output fields are undocumented [wire-formats 1c]: several plausible
    spellings are read, and a record naming neither id nor name is an error.
    """
    connector_id = text(rec.get("ConnectorId") or rec.get("Guid") or rec.get("Id"))
    name = text(rec.get("ConnectorName") or rec.get("Name") or rec.get("Identity"))
    if connector_id is None and name is None:
        raise MappingError("missing ConnectorId / ConnectorName")
    return {
        "connector_id": connector_id,
        "connector_name": name,
        "reason": text(rec.get("Reason") or rec.get("BlockReason")),
        "blocked_at": time_or_none(
            rec.get("CreatedTime") or rec.get("BlockedTime") or rec.get("CreatedDateTime") or rec.get("WhenCreatedUTC")
        ),
    }


# ---------------------------------------------------------------- audit records

def is_connector_operation(operation: str | None) -> bool:
    """New-/Set-/Remove-/Enable-/Disable- of any connector (inbound, outbound, blocked)."""
    return operation is not None and bool(_CONNECTOR_OPERATION.match(operation.strip()))


def _parameters(value: Any) -> dict[str, str | None]:
    """AuditData Parameters: a list of {Name, Value}; some exports give a dict already."""
    if isinstance(value, dict):
        return {str(k): (None if v is None else str(v)) for k, v in value.items()}
    result: dict[str, str | None] = {}
    for item in value or []:
        if isinstance(item, dict) and text(item.get("Name")):
            raw = item.get("Value")
            result[str(item["Name"]).strip()] = None if raw is None else str(raw)
    return result


def _record_type(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return _AUDIT_RECORD_TYPES.get(value, str(value))
    return text(value)


def audit_event(audit_data: dict[str, Any], *, record_id: str | None = None, time: str | None = None,
                source: str | None = None, record_type: str | None = None) -> dict[str, Any]:
    """Classic AuditData -> audit event fact.

    `CreationTime` (UTC, culture-neutral) wins over `time` (the caller's already
    normalised export column), because an export's CreationDate column is written in the
    exporting machine's culture.
    """
    if not isinstance(audit_data, dict):
        raise MappingError("AuditData is not a JSON object")
    moment = time_or_none(audit_data.get("CreationTime")) or time
    if moment is None:
        raise MappingError("missing CreationTime")
    parameters = _parameters(audit_data.get("Parameters"))
    return {
        "id": text(audit_data.get("Id")) or _required({"RecordId": record_id}, "RecordId"),
        "time": moment,
        "operation": _required(audit_data, "Operation"),
        "actor": normalize_upn(text(audit_data.get("UserId"))),
        "target": text(parameters.get("Identity")) or text(audit_data.get("ObjectId")),
        "parameters": parameters,
        "succeeded": boolean(audit_data.get("ResultStatus")),
        "client_ip": strip_port(text(audit_data.get("ClientIP") or audit_data.get("ClientIPAddress"))),
        "record_type": _record_type(audit_data.get("RecordType")) or record_type,
        "source": source,
    }


def graph_audit_event(rec: dict[str, Any], *, source: str = "graph_audit_query") -> dict[str, Any]:
    """Graph auditLog query record -> audit event fact (top-level fields fill gaps in auditData)."""
    data = dict(rec.get("auditData") or {})
    if not isinstance(rec.get("auditData") or {}, dict):
        raise MappingError("auditData is not a JSON object")
    data.setdefault("Id", rec.get("id"))
    data.setdefault("Operation", rec.get("operation"))
    data.setdefault("UserId", rec.get("userPrincipalName"))
    data.setdefault("ObjectId", rec.get("objectId"))
    data.setdefault("ClientIP", rec.get("clientIp"))
    return audit_event(
        data,
        record_id=text(rec.get("id")),
        time=time_or_none(rec.get("createdDateTime")),
        source=source,
        record_type=text(rec.get("auditLogRecordType")),
    )


# ---------------------------------------------------------------- Graph alerts

def _walk(value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def alert(rec: dict[str, Any]) -> dict[str, Any]:
    """Graph alerts_v2 alert -> alert fact.

    Connector names, IPs and domains are gathered from the evidence (any `connectorName`,
    `ipAddress`, `domainName` / `senderDomain` field) and from a connector name quoted in
    the description, because the evidence shape of "Suspicious connector activity" is not
    documented [wire-formats 2, I].
    """
    created = time_or_none(rec.get("createdDateTime"))
    if created is None:
        raise MappingError("missing createdDateTime")
    names: set[str] = set()
    ips: set[str] = set()
    domains: set[str] = set()
    for key, value in _walk(rec.get("evidence") or []):
        lowered = key.lower()
        if not isinstance(value, str) or not value.strip():
            continue
        if lowered == "connectorname":
            names.add(value.strip())
        elif lowered in {"ipaddress", "senderip", "connectorip"}:
            ips.add(strip_port(value) or value.strip())
        elif lowered in {"domainname", "senderdomain", "connectordomain"}:
            domains.add(normalize_domain(value))
        elif lowered in {"sender", "senderfromaddress", "p1sender"}:
            found = domain_of(value)
            if found:
                domains.add(found)
    description = text(rec.get("description"))
    if description:
        names.update(m.strip() for m in _QUOTED_CONNECTOR.findall(description))
    return {
        "id": _required(rec, "id"),
        "title": _required(rec, "title"),
        "severity": text(rec.get("severity")),
        "status": text(rec.get("status")),
        "created": created,
        "service_source": text(rec.get("serviceSource")),
        "category": text(rec.get("category")),
        "description": description,
        "url": text(rec.get("alertWebUrl")),
        "connector_names": sorted(names),
        "ip_addresses": sorted(ips),
        "domains": sorted(domains),
    }


# ---------------------------------------------------------------- admins

class AdminsBuilder:
    """Merge role assignments, risky users and sign-ins into one admin fact per UPN.

    The three Graph sources arrive separately (and in any order); the admin fact joins
    them so a rule can ask "did the account that changed the connector look compromised".
    """

    def __init__(self) -> None:
        self._by_upn: dict[str, dict[str, Any]] = {}
        self._sign_ins: dict[str, dict[tuple[str, str, str], dict[str, Any]]] = {}

    def _entry(self, upn: str) -> dict[str, Any]:
        return self._by_upn.setdefault(upn, {
            "upn": upn, "id": None, "display_name": None, "roles": set(), "risk_level": None,
            "risk_state": None, "risk_detail": None, "risk_last_updated": None,
        })

    def add_role_assignment(self, rec: dict[str, Any]) -> None:
        """roleAssignments record with `$expand=principal` (and optionally roleDefinition)."""
        principal = rec.get("principal")
        if not isinstance(principal, dict):
            raise MappingError("missing principal (export with $expand=principal)")
        upn = normalize_upn(text(principal.get("userPrincipalName")))
        if upn is None:
            return  # a group or service principal holds the role: no user to judge
        definition: dict[str, Any] = rec["roleDefinition"] if isinstance(rec.get("roleDefinition"), dict) else {}
        role_id = text(rec.get("roleDefinitionId")) or text(definition.get("id"))
        role = text(definition.get("displayName")) or ROLE_NAMES.get(role_id or "", role_id)
        entry = self._entry(upn)
        entry["id"] = entry["id"] or text(principal.get("id"))
        entry["display_name"] = entry["display_name"] or text(principal.get("displayName"))
        if role:
            entry["roles"].add(role)

    def add_risky_user(self, rec: dict[str, Any]) -> None:
        """identityProtection riskyUsers record."""
        upn = normalize_upn(text(rec.get("userPrincipalName")))
        if upn is None:
            raise MappingError("missing userPrincipalName")
        entry = self._entry(upn)
        entry["id"] = entry["id"] or text(rec.get("id"))
        entry["display_name"] = entry["display_name"] or text(rec.get("userDisplayName"))
        entry["risk_level"] = text(rec.get("riskLevel"))
        entry["risk_state"] = text(rec.get("riskState"))
        entry["risk_detail"] = text(rec.get("riskDetail"))
        entry["risk_last_updated"] = time_or_none(rec.get("riskLastUpdatedDateTime"))

    def add_sign_in(self, rec: dict[str, Any]) -> None:
        """auditLogs/signIns record; `facts()` keeps it only for an account that holds a role
        or is a risky user (sign-ins of everyone else are not admin evidence)."""
        upn = normalize_upn(text(rec.get("userPrincipalName")))
        moment = time_or_none(rec.get("createdDateTime"))
        if upn is None or moment is None:
            raise MappingError("missing userPrincipalName / createdDateTime")
        status: dict[str, Any] = rec["status"] if isinstance(rec.get("status"), dict) else {}
        location: dict[str, Any] = rec["location"] if isinstance(rec.get("location"), dict) else {}
        error_code = status.get("errorCode")
        ip, app = text(rec.get("ipAddress")), text(rec.get("appDisplayName"))
        sign_in: dict[str, Any] = {
            "time": moment,
            "ip": ip,
            "country": text(location.get("countryOrRegion")),
            "app": app,
            "risk_level": text(rec.get("riskLevelDuringSignIn")),
            "risk_state": text(rec.get("riskState")),
            "risk_event_types": sorted(strings(rec.get("riskEventTypes_v2") or rec.get("riskEventTypes"))),
            "error_code": int(error_code) if isinstance(error_code, (int, str)) and str(error_code).isdigit() else None,
        }
        self._sign_ins.setdefault(upn, {})[(moment, ip or "", app or "")] = sign_in

    def facts(self) -> list[dict[str, Any]]:
        """Admin facts sorted by UPN, roles and sign-ins sorted (deterministic output)."""
        result = []
        for upn in sorted(self._by_upn):
            entry = dict(self._by_upn[upn])
            entry["roles"] = sorted(entry["roles"])
            sign_ins = self._sign_ins.get(upn, {})
            entry["sign_ins"] = [sign_ins[k] for k in sorted(sign_ins)]
            result.append(entry)
        return result
