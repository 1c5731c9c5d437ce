"""Approved-connector baselines: save a tenant's connectors, diff, approve, and drift for scans.

The scan's seam is `load_for_scan` (a baseline file) or `prepare` (a baseline already
parsed, as in a rule test): both return the baseline document augmented with a `drift`
key (see `drift.compute`), which the drift rules read as `baseline.drift.*`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from connguard.baseline.drift import compute
from connguard.baseline.load import BASELINE_VERSION, BaselineError, from_data, load_baseline
from connguard.baseline.model import describe_tenant, from_snapshot, same_tenant

__all__ = [
    "BASELINE_VERSION", "BaselineError", "check_tenant", "compute", "from_snapshot",
    "load_baseline", "load_for_scan", "prepare",
]


def check_tenant(baseline: dict[str, Any], snapshot_data: dict[str, Any], *, origin: str,
                 allow_tenant_mismatch: bool = False) -> None:
    """Refuse to judge one tenant against another tenant's baseline unless told to."""
    current = from_snapshot(snapshot_data)["tenant"]
    if not allow_tenant_mismatch and not same_tenant(baseline["tenant"], current):
        raise BaselineError(
            f"{origin}: baseline is for tenant {describe_tenant(baseline['tenant'])} but the snapshot is of "
            f"{describe_tenant(current)} (pass --allow-tenant-mismatch to compare anyway)"
        )


def _augment(baseline: dict[str, Any], snapshot_data: dict[str, Any], origin: str,
             approved_admins: Iterable[str], allow_tenant_mismatch: bool) -> dict[str, Any]:
    check_tenant(baseline, snapshot_data, origin=origin, allow_tenant_mismatch=allow_tenant_mismatch)
    return {**baseline, "drift": compute(snapshot_data, baseline, approved_admins)}


def load_for_scan(path: str | os.PathLike[str], snapshot_data: dict[str, Any], *,
                  approved_admins: Iterable[str] = (), allow_tenant_mismatch: bool = False) -> dict[str, Any]:
    """The `baseline` of the rules' evaluation root for `scan --baseline PATH`.

    Raises BaselineError (exit 2) for an unusable file or a baseline of another tenant.
    """
    return _augment(load_baseline(path), snapshot_data, str(path), approved_admins, allow_tenant_mismatch)


def prepare(data: Any, snapshot_data: dict[str, Any], *, origin: str = "<baseline>",
            approved_admins: Iterable[str] = (), allow_tenant_mismatch: bool = False) -> dict[str, Any]:
    """Like `load_for_scan` for a baseline given as parsed data (a rule test's `baseline:`)."""
    return _augment(from_data(data, origin=origin), snapshot_data, origin, approved_admins, allow_tenant_mismatch)
