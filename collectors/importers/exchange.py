"""Exchange configuration exports: connectors, accepted domains, blocked connectors.

`Get-InboundConnector | ConvertTo-Json -Depth 10` and friends. The same connector in two
files (yesterday's and today's export) is kept once: the copy changed most recently.
"""

from __future__ import annotations

from typing import Any

from connguard.collectors import mapping
from connguard.collectors.importers.state import ImportState


def _newer(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    if old is None:
        return True
    return (new.get("when_changed") or "") >= (old.get("when_changed") or "")


def inbound(state: ImportState, record: dict[str, Any]) -> bool:
    """One Get-InboundConnector object."""
    fact = mapping.inbound_connector(record)
    key = fact["identity"].lower()
    if _newer(state.inbound.get(key), fact):
        state.inbound[key] = fact
    return True


def outbound(state: ImportState, record: dict[str, Any]) -> bool:
    """One Get-OutboundConnector object."""
    fact = mapping.outbound_connector(record)
    key = fact["identity"].lower()
    if _newer(state.outbound.get(key), fact):
        state.outbound[key] = fact
    return True


def accepted(state: ImportState, record: dict[str, Any]) -> bool:
    """One Get-AcceptedDomain object."""
    fact = mapping.accepted_domain(record)
    state.accepted[fact["domain"]] = fact
    return True


def blocked(state: ImportState, record: dict[str, Any]) -> bool:
    """One Get-BlockedConnector object."""
    fact = mapping.blocked_connector(record)
    key = (fact["connector_id"] or fact["connector_name"] or "").lower()
    state.blocked[key] = fact
    return True
