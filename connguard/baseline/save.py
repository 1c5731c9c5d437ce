"""Write a baseline as YAML a reviewer can read and `git diff` can show line by line.

The text depends only on the normalised content: keys in a fixed order (identity first,
then the fields in the order of `fields.py`), connectors sorted by name, lists sorted and
one item per line, no timestamps. Saving the same tenant twice therefore gives the same
bytes, and an approval commit changes exactly the lines of the setting that changed.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from connguard.baseline.fields import DIRECTIONS, FIELDS
from connguard.baseline.load import BaselineError
from connguard.snapshot import write_atomic

HEADER = """\
# connguard baseline: the approved mail connectors of one Microsoft 365 tenant.
# `connguard scan --baseline` reports any connector that differs from this file.
# Change it by pull request (`connguard baseline approve`), so every approval is reviewed.
# A connector field you delete here is no longer compared; see docs/baseline-drift.md.
"""


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Block style everywhere, lists indented under their key (what reviewers expect)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _ordered_connector(section: str, record: dict[str, Any]) -> dict[str, Any]:
    keys = ["identity", "guid", "note", *FIELDS[section]]
    return {k: record[k] for k in keys if k in record}


def readiness(snapshot_data: dict[str, Any], *, origin: str) -> list[str]:
    """Refuse a snapshot that cannot speak for the inbound connectors; list what else is left out.

    A baseline saved from a partial or failed read of inbound connectors would approve an
    incomplete list (or none), and every later scan would judge against it, so that is an
    error. Other sections the snapshot could not read are left out of the baseline and
    therefore not compared: the returned warnings say which, so the user can fix the
    collection and save again.
    """
    sources = snapshot_data.get("sources", {})
    inbound = sources.get("inbound_connectors", {})
    if inbound.get("status") != "ok":
        reason = f": {inbound['reason']}" if inbound.get("reason") else ""
        raise BaselineError(f"{origin}: $.sources.inbound_connectors: a baseline needs a complete read of the "
                            f"inbound connectors, but the source is {inbound.get('status', 'missing')}{reason}")
    sections = {"outbound_connectors": "outbound_connectors", "accepted_domains": "accepted_domains",
                "admins": "approved_admins"}
    return [f"{section} not saved (source {source} is {sources.get(source, {}).get('status', 'missing')}): "
            "not compared until you save from a snapshot that has it"
            for source, section in sections.items() if sources.get(source, {}).get("status") != "ok"]


def dumps_baseline(baseline: dict[str, Any]) -> str:
    """Canonical YAML text of a normalised baseline (as from `load` or `model`)."""
    ordered: dict[str, Any] = {"version": baseline["version"], "tenant": dict(baseline["tenant"])}
    if "approved_admins" in baseline:
        ordered["approved_admins"] = sorted(baseline["approved_admins"])
    if "accepted_domains" in baseline:
        ordered["accepted_domains"] = dict(sorted(baseline["accepted_domains"].items()))
    for section in DIRECTIONS:
        if section in baseline:
            records = sorted(baseline[section], key=lambda r: r["identity"].casefold())
            ordered[section] = [_ordered_connector(section, r) for r in records]
    body: str = yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=10_000)
    return HEADER + body


def save_baseline(path: str | os.PathLike[str], baseline: dict[str, Any]) -> None:
    """Write atomically: an interrupted run leaves the previous baseline intact."""
    write_atomic(path, dumps_baseline(baseline))
