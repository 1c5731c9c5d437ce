"""Graph security and directory exports: alerts, risky users, role holders, sign-ins.

Accepted as a Graph response body (`{"value": [...]}`) or as the records piped through
ConvertTo-Json; the mapping to facts is shared with the live collector.
"""

from __future__ import annotations

from typing import Any

from connguard.collectors import mapping
from connguard.collectors.importers.state import ImportState

from connguard.normalize import parse_time


def alert(state: ImportState, record: dict[str, Any]) -> bool:
    """One alerts_v2 alert; the same alert in two exports counts once."""
    fact = mapping.alert(record)
    if fact["id"] in state.alerts:
        return False
    state.alerts[fact["id"]] = fact
    state.saw_time(parse_time(fact["created"]))
    return True


def risky_user(state: ImportState, record: dict[str, Any]) -> bool:
    """One riskyUsers record."""
    state.admins.add_risky_user(record)
    state.admin_kinds.add("riskyUsers")
    return True


def role_assignment(state: ImportState, record: dict[str, Any]) -> bool:
    """One roleAssignments record with its expanded principal."""
    state.admins.add_role_assignment(record)
    state.admin_kinds.add("roleAssignments")
    return True


def sign_in(state: ImportState, record: dict[str, Any]) -> bool:
    """One signIns record."""
    state.admins.add_sign_in(record)
    state.admin_kinds.add("signIns")
    return True
