"""Which connector settings a baseline records, and how each one is normalised and compared.

This table is the single answer to "what counts as drift". A field is listed here only if
an attacker could use a change to it (route mail, widen who may relay, weaken TLS, hide a
connector); timestamps, GUIDs and Microsoft's bookkeeping fields are deliberately absent,
so they never show as drift. Every value passes through `connguard.normalize` before it is
stored or compared, so `smtp:*;1` equals `*`, `198.51.100.7` equals `198.51.100.7/32`, and
reordering a list or changing the case of a domain is not a change.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connguard import normalize

# Sections of a baseline that hold connectors, with the cmdlet noun audit events use.
DIRECTIONS: dict[str, str] = {"inbound_connectors": "InboundConnector", "outbound_connectors": "OutboundConnector"}


class FieldValueError(ValueError):
    """A value does not fit its field (e.g. `enabled: maybe`); the caller adds file and line."""


@dataclass(frozen=True)
class Field:
    """One compared connector setting.

    `kind` decides normalisation: `bool`, `name` (case-insensitive identifier), `text`
    (free text, whitespace-insensitive), `certificate`, or a list kind (`domains`,
    `sender_domains`, `ips`, `hosts`) whose diff reports what was added and removed.
    `parameter` is the cmdlet parameter that changes it, used to find who changed it.
    """

    name: str
    kind: str
    parameter: str

    @property
    def is_list(self) -> bool:
        return self.kind in _LIST_NORMALISERS


_WHITESPACE = re.compile(r"\s+")


def _bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise FieldValueError(f"expected true, false or null, got {value!r}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise FieldValueError(f"expected text, got {type(value).__name__}")
    text = _WHITESPACE.sub(" ", str(value)).strip()
    return text or None


def _certificate(value: Any) -> str | None:
    # TlsSenderCertificateName is a DNS name (case-insensitive) or an `<I>issuer<S>subject` pair.
    text = _text(value)
    if text is None:
        return None
    return text if text.startswith("<") else normalize.normalize_domain(text)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]  # Exchange and hand-written YAML both allow a lone value for a list.
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise FieldValueError(f"expected a list of text values, got {value!r}")
    return [str(v) for v in value]


def _domains(value: Any) -> list[str]:
    return sorted({normalize.normalize_domain(v) for v in _as_list(value) if v.strip()})


def _sender_domains(value: Any) -> list[str]:
    return normalize.normalize_sender_domains(_as_list(value))


def _ips(value: Any) -> list[str]:
    try:
        result = normalize.normalize_ips(_as_list(value))
    except normalize.NormalizationError as exc:
        raise FieldValueError(str(exc)) from None
    for item in result:
        # normalize_ip passes `a-b` through as an Exchange range; both ends must be addresses.
        if "/" not in item and not all(_is_address(end) for end in item.split("-")):
            raise FieldValueError(f"not an IP address, CIDR range or address range: {item!r}")
    return result


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def _hosts(value: Any) -> list[str]:
    return normalize.normalize_smart_hosts(_as_list(value))


_LIST_NORMALISERS: dict[str, Callable[[Any], list[str]]] = {
    "domains": _domains,
    "sender_domains": _sender_domains,
    "ips": _ips,
    "hosts": _hosts,
}
_SCALAR_NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "bool": _bool,
    "name": _text,
    "text": _text,
    "certificate": _certificate,
}

INBOUND_FIELDS: tuple[Field, ...] = (
    Field("connector_type", "name", "ConnectorType"),
    Field("enabled", "bool", "Enabled"),
    Field("sender_domains", "sender_domains", "SenderDomains"),
    Field("sender_ip_addresses", "ips", "SenderIPAddresses"),
    Field("trusted_organizations", "domains", "TrustedOrganizations"),
    Field("associated_accepted_domains", "domains", "AssociatedAcceptedDomains"),
    Field("require_tls", "bool", "RequireTls"),
    Field("restrict_domains_to_ip_addresses", "bool", "RestrictDomainsToIPAddresses"),
    Field("restrict_domains_to_certificate", "bool", "RestrictDomainsToCertificate"),
    Field("tls_sender_certificate_name", "certificate", "TlsSenderCertificateName"),
    Field("treat_messages_as_internal", "bool", "TreatMessagesAsInternal"),
    Field("cloud_services_mail_enabled", "bool", "CloudServicesMailEnabled"),
    Field("comment", "text", "Comment"),
)
OUTBOUND_FIELDS: tuple[Field, ...] = (
    Field("connector_type", "name", "ConnectorType"),
    Field("enabled", "bool", "Enabled"),
    Field("smart_hosts", "hosts", "SmartHosts"),
    Field("recipient_domains", "domains", "RecipientDomains"),
    Field("use_mx_record", "bool", "UseMXRecord"),
    Field("route_all_messages_via_on_premises", "bool", "RouteAllMessagesViaOnPremises"),
    Field("is_transport_rule_scoped", "bool", "IsTransportRuleScoped"),
    Field("all_accepted_domains", "bool", "AllAcceptedDomains"),
    Field("tls_settings", "name", "TlsSettings"),
    Field("tls_domain", "certificate", "TlsDomain"),
    Field("comment", "text", "Comment"),
)
# The connector's name is compared too (a rename is drift), but it is also how connectors
# are matched, so it lives outside the field tables: see `IDENTITY`.
IDENTITY = Field("identity", "name", "Name")
FIELDS: dict[str, dict[str, Field]] = {
    "inbound_connectors": {f.name: f for f in INBOUND_FIELDS},
    "outbound_connectors": {f.name: f for f in OUTBOUND_FIELDS},
}
# Keys a baseline connector may carry besides its compared fields: `guid` matches a
# renamed connector, `note` records why it was approved (kept, never compared).
CONNECTOR_META = ("identity", "guid", "note")


def normalise(field: Field, value: Any) -> Any:
    """The canonical stored form of `value` for `field` (raises FieldValueError)."""
    if field.is_list:
        return _LIST_NORMALISERS[field.kind](value)
    return _SCALAR_NORMALISERS[field.kind](value)


def compare_key(field: Field, value: Any) -> Any:
    """What equality means for an already-normalised value: names ignore case."""
    if field.kind == "name" and isinstance(value, str):
        return value.casefold()
    if field.is_list:
        return tuple(value)
    return value
