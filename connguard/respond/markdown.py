"""plan.md: the response plan a responder reads (and a ticket can quote).

Tenant text is escaped so a connector name cannot add headings, links or HTML to the
plan; commands sit in code fences longer than any backtick run inside them.
"""

from __future__ import annotations

import re
from typing import Any

from connguard.respond.model import PHASE_TITLES, ConnectorPlan, Plan, Step

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def text(value: Any) -> str:
    """Escape Markdown (and inline HTML) in one line of tenant-derived text."""
    flat = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in str(value))
    return _SPECIAL.sub(r"\\\1", flat)


def code_block(lines: list[str], language: str = "powershell") -> list[str]:
    """A fenced block whose fence no line inside can close."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, *lines, fence]


def _step(number: int, step: Step) -> list[str]:
    out = [f"### Step {number}: {PHASE_TITLES[step.phase]}: {text(step.title)}", ""]
    out.append(f"**Why:** {text(step.why)}")
    out.append("")
    out.append("**From findings:** " + ", ".join(text(f) for f in step.fingerprints))
    out.append("")
    if step.commands:
        out += code_block([c.display() for c in step.commands])
        out.append("")
    for item in step.manual:
        out.append(f"- {text(item)}")
    if step.manual:
        out.append("")
    out.append(f"**Check afterwards:** {text(step.check)}")
    out.append("")
    return out


def _connector(connector: ConnectorPlan, first_step: int) -> list[str]:
    out = [f"## {text(connector.identity)}", ""]
    state = "removed before the snapshot" if not connector.exists else ("to be removed" if connector.remove else "to be disabled")
    out.append(f"- Severity: **{text(connector.severity)}**; connector {state}")
    if connector.guid:
        out.append(f"- GUID: {text(connector.guid)}")
    if connector.accounts:
        out.append("- Created or changed by: " + ", ".join(text(a) for a in connector.accounts))
    out.append("- Findings:")
    for f in connector.findings:
        out.append(f"  - {text(f['severity'])} {text(f['rule_id'])} {text(f['symptom'])}: {text(f['message'])} "
                   f"(fingerprint {text(f['fingerprint'])})")
    out.append("")
    for offset, step in enumerate(connector.steps):
        out += _step(first_step + offset, step)
    return out


def render(plan: Plan) -> str:
    """The whole plan.md."""
    tenant = plan.tenant.get("domain") or plan.tenant.get("id") or "unknown tenant"
    out = [f"# Response plan: {text(tenant)}", ""]
    out.append(f"Snapshot collected at {text(plan.snapshot.get('collected_at'))}"
               + (f" (sha256 {text(plan.snapshot['sha256'])})" if plan.snapshot.get("sha256") else "") + ".")
    if plan.baseline_path:
        out.append(f"Approved values from baseline {text(plan.baseline_path)}.")
    else:
        out.append("No baseline given: unauthorized changes must be reverted by hand (run respond with --baseline).")
    out.append("")
    if plan.empty:
        out += ["**Nothing to do.** The report has no active findings: no connector to contain.", ""]
        if plan.suppressed:
            out += [f"{plan.suppressed} suppressed finding(s) were left out.", ""]
        return "\n".join(out)
    out += [
        ("Work through the steps in order, as quickly as possible: contain, revert, secure the accounts, "
         "check the message trace, and only then unblock. `remediate.ps1` runs the same steps "
         "(dry run unless `-Apply`). After the last step re-run `connguard scan`."),
        "",
    ]
    number = 1
    for connector in plan.connectors:
        out += _connector(connector, number)
        number += len(connector.steps)
    if plan.other_findings:
        out += ["## Findings about no single connector", "", "Review these by hand:", ""]
        for f in plan.other_findings:
            out.append(f"- {text(f['severity'])} {text(f['rule_id'])} {text(f['symptom'])}: {text(f['message'])} "
                       f"(fingerprint {text(f['fingerprint'])})")
        out.append("")
    if plan.suppressed:
        out += [f"{plan.suppressed} suppressed finding(s) were left out of the plan.", ""]
    return "\n".join(out)
