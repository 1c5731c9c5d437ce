"""timeline.json: the timeline as data, for a SIEM or case-management import.

One flat, time-ordered event list (each event names its connector), because that is
what such tools ingest, plus a per-connector summary of the spike figures. The shape is
connguard/schemas/timeline-v1.schema.json.
"""

from __future__ import annotations

import json
from typing import Any

from connguard.respond.model import Plan
from connguard.respond.timeline import ConnectorTimeline

SCHEMA_VERSION = "1.0"


def render(plan: Plan, timelines: dict[str, ConnectorTimeline], tool: dict[str, Any]) -> str:
    """Canonical JSON text (sorted keys, trailing newline): same inputs, same bytes."""
    connectors = []
    events = []
    for connector in plan.connectors:
        tl = timelines[connector.identity]
        ref = {"identity": connector.identity, "guid": connector.guid}
        connectors.append({
            **ref, "severity": connector.severity, "exists": connector.exists,
            "spike_start": tl.spike_start, "peak_hour_messages": tl.peak,
            "spam_share": round(tl.spam_share, 4) if tl.spam_share is not None else None,
            "accounts": list(connector.accounts),
            "findings": [f["fingerprint"] for f in connector.findings],
        })
        events += [{"connector": ref, **event.as_json()} for event in tl.events]
    events.sort(key=lambda e: (e["time"] is None, e["time"] or "", e["connector"]["identity"], e["kind"], e["summary"]))
    document = {
        "schema_version": SCHEMA_VERSION, "tool": tool, "tenant": plan.tenant, "snapshot": plan.snapshot,
        "connectors": connectors, "events": events,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
