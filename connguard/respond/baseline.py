"""The approved state to revert to: a baseline's tenant and inbound connectors.

`connguard baseline save` writes the file and `connguard.baseline.load_baseline` reads it
(so scan and respond accept and reject the same files, and values arrive normalised).
This module only adds what respond needs on top: finding a connector's approved record
by GUID or name, and refusing a baseline of another tenant, which must never drive a
revert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connguard.baseline import load_baseline
from connguard.baseline.model import describe_tenant, same_tenant
from connguard.errors import InputError
from connguard.normalize import normalize_domain


class BaselineTenantError(InputError):
    """The baseline approves another tenant's connectors."""


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline (normalised by connguard.baseline) and the file it came from."""

    path: str
    data: dict[str, Any]

    @property
    def inbound(self) -> list[dict[str, Any]]:
        return self.data.get("inbound_connectors") or []

    def knows_inbound(self) -> bool:
        """Whether the baseline speaks for inbound connectors at all (a file may leave them out)."""
        return "inbound_connectors" in self.data

    def find(self, identity: str, guid: str | None, aliases: Iterable[str] = ()) -> dict[str, Any] | None:
        """The approved connector with this GUID, else this name or one of the names the
        audit log shows it had (`aliases`; a renamed connector keeps its approval)."""
        if guid:
            for connector in self.inbound:
                if (connector.get("guid") or "").lower() == guid.lower():
                    return connector
        for name in (identity, *sorted(aliases)):
            wanted = " ".join(name.split()).casefold()
            for connector in self.inbound:
                if connector["identity"].casefold() == wanted:
                    return connector
        return None

    def check_tenant(self, tenant: dict[str, Any], snapshot_path: str) -> None:
        """Raise BaselineTenantError unless the baseline is for `tenant` (the snapshot's)."""
        current = {"id": (tenant.get("id") or "").strip().lower() or None,
                   "domain": normalize_domain(tenant.get("domain") or "")}
        if not same_tenant(self.data["tenant"], current):
            raise BaselineTenantError(
                f"{self.path}: $.tenant: baseline is for tenant {describe_tenant(self.data['tenant'])} "
                f"but snapshot {snapshot_path} is of {describe_tenant(current)}"
            )


def load(path: str) -> Baseline:
    """Load a baseline file; raises connguard.baseline.BaselineError (an InputError)."""
    return Baseline(path=path, data=load_baseline(path))
