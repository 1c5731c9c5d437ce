"""report.html: a self-contained incident report (inline CSS and SVG, nothing fetched).

Self-contained because it is opened on an incident laptop, attached to a ticket or
mailed to management: no network, no JavaScript, no external fonts or images. Every
tenant-derived value goes through `html.escape`, so a connector named `<script>…` is text.
"""

from __future__ import annotations

from html import escape
from typing import Any

from connguard.engine.model import SEVERITIES
from connguard.respond import svg
from connguard.respond.model import PHASE_TITLES, ConnectorPlan, Plan
from connguard.respond.timeline import ConnectorTimeline

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#0f172a;background:#fff}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:21px;margin:32px 0 8px;border-bottom:2px solid #e2e8f0}
h3{font-size:17px;margin:20px 0 6px}.meta{color:#475569;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{background:#f1f5f9}.sev{font-weight:600;text-transform:uppercase;font-size:12px;padding:2px 6px;border-radius:4px;color:#fff}
.sev-critical{background:#7f1d1d}.sev-high{background:#dc2626}.sev-medium{background:#d97706}.sev-low{background:#2563eb}.sev-info{background:#64748b}
.kind{font-size:12px;font-weight:600;color:#334155}.ok{color:#166534;font-weight:600}
code,pre{font-family:ui-monospace,Consolas,monospace;font-size:13px}pre{background:#f8fafc;border:1px solid #e2e8f0;padding:8px;white-space:pre-wrap;word-break:break-all}
ol.steps>li{margin-bottom:14px}.why{color:#334155}.fp{color:#64748b;font-size:13px}
svg.chart{max-width:100%;height:auto}svg .axis{font-size:11px;fill:#475569}svg .spike-label{font-size:12px;font-weight:600}
"""


def _sev(severity: str) -> str:
    return f'<span class="sev sev-{escape(severity)}">{escape(severity)}</span>'


def _summary(plan: Plan) -> list[str]:
    findings = [f for c in plan.connectors for f in c.findings] + list(plan.other_findings)
    unique = {f["fingerprint"]: f for f in findings}
    counts = {s: sum(1 for f in unique.values() if f["severity"] == s) for s in SEVERITIES}
    out = ["<h2>Summary</h2>", "<table><tr>" + "".join(f"<th>{s}</th>" for s in SEVERITIES) + "<th>connectors affected</th></tr>",
           "<tr>" + "".join(f"<td>{counts[s]}</td>" for s in SEVERITIES) + f"<td>{len(plan.connectors)}</td></tr></table>"]
    if plan.connectors:
        out.append("<table><tr><th>connector</th><th>severity</th><th>response</th><th>created or changed by</th></tr>")
        for c in plan.connectors:
            action = "already removed" if not c.exists else ("remove" if c.remove else "disable, revert, re-enable")
            out.append(f"<tr><td>{escape(c.identity)}</td><td>{_sev(c.severity)}</td><td>{action}</td>"
                       f"<td>{escape(', '.join(c.accounts)) or '&mdash;'}</td></tr>")
        out.append("</table>")
    return out


def _timeline(tl: ConnectorTimeline) -> list[str]:
    out = ["<h3>Timeline (UTC)</h3>", "<table class=\"timeline\"><tr><th>time</th><th>what</th><th>event</th><th>details</th></tr>"]
    for event in tl.events:
        details = "; ".join(f"{k}: {v}" for k, v in _flat(event.details))
        out.append(f"<tr><td>{escape(event.time or 'time unknown')}</td><td class=\"kind\">{escape(event.kind)}</td>"
                   f"<td>{escape(event.summary)}</td><td>{escape(details)}</td></tr>")
    out.append("</table>")
    return out


def _flat(details: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in details.items():
        if isinstance(value, dict):
            out += [(f"{key}.{k}", str(v)) for k, v in value.items()]
        elif isinstance(value, list):
            out.append((key, ", ".join(str(v) for v in value)))
        else:
            out.append((key, str(value)))
    return out


def _connector(c: ConnectorPlan, tl: ConnectorTimeline, first_step: int) -> list[str]:
    out = [f'<section class="connector"><h2>{escape(c.identity)} {_sev(c.severity)}</h2>']
    if c.guid:
        out.append(f'<p class="meta">GUID {escape(c.guid)}</p>')
    out.append("<h3>Hourly outbound volume</h3>")
    out.append(svg.chart(tl.series, tl.spike_start, tl.spam_share, f"Hourly outbound volume of {c.identity}"))
    out += _timeline(tl)
    out.append("<h3>Findings</h3><ul>")
    for f in c.findings:
        out.append(f"<li>{_sev(f['severity'])} <code>{escape(f['rule_id'])}</code> {escape(f['symptom'])}: "
                   f"{escape(f['message'])} <span class=\"fp\">{escape(f['fingerprint'])}</span></li>")
    out.append("</ul>")
    out.append(f'<h3>Response steps</h3><ol class="steps" start="{first_step}">')
    for step in c.steps:
        out.append(f"<li><strong>{escape(PHASE_TITLES[step.phase])}: {escape(step.title)}</strong>"
                   f'<div class="why">{escape(step.why)}</div>')
        if step.commands:
            out.append("<pre>" + escape("\n".join(cmd.display() for cmd in step.commands)) + "</pre>")
        if step.manual:
            out.append("<ul>" + "".join(f"<li>{escape(m)}</li>" for m in step.manual) + "</ul>")
        out.append(f"<div>Check afterwards: {escape(step.check)}</div>"
                   f'<div class="fp">From findings: {escape(", ".join(step.fingerprints))}</div></li>')
    out.append("</ol></section>")
    return out


def render(plan: Plan, timelines: dict[str, ConnectorTimeline]) -> str:
    """The whole HTML document."""
    tenant = plan.tenant.get("domain") or plan.tenant.get("id") or "unknown tenant"
    snap = plan.snapshot
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">',
           f"<title>Incident report: {escape(tenant)}</title><style>{_CSS}</style></head><body><main>",
           f"<h1>Compromised connector response: {escape(tenant)}</h1>",
           f'<p class="meta">Snapshot collected {escape(str(snap.get("collected_at")))}'
           + (f', sha256 <code>{escape(snap["sha256"])}</code>' if snap.get("sha256") else "")
           + (f"; baseline {escape(plan.baseline_path)}" if plan.baseline_path else "; no baseline given") + "</p>"]
    out += _summary(plan)
    if plan.empty:
        out.append('<p class="ok">Nothing to do: the report has no active findings.</p>')
    number = 1
    for connector in plan.connectors:
        out += _connector(connector, timelines[connector.identity], number)
        number += len(connector.steps)
    if plan.other_findings:
        out.append("<h2>Findings about no single connector</h2><ul>")
        for f in plan.other_findings:
            out.append(f"<li>{_sev(f['severity'])} <code>{escape(f['rule_id'])}</code> {escape(f['message'])}</li>")
        out.append("</ul>")
    if plan.suppressed:
        out.append(f'<p class="meta">{plan.suppressed} suppressed finding(s) left out.</p>')
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"
