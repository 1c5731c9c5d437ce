"""The terminal table (`--format table`, the default): what a responder reads first.

Findings are grouped by connector because containment is per connector (disable it,
check its sender IPs), with tenant-wide findings last. Below them the report says plainly
what was NOT checked and why, so an empty table is never mistaken for a clean tenant.
Written to a file or a pipe it is plain text at a fixed width of 120 columns, with no
colour codes, so CI logs and saved reports are stable and diffable.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from connguard.engine.model import SEVERITIES, Finding
from connguard.reports.common import (
    coverage_reason,
    group_by_connector,
    not_checked,
    sorted_findings,
    summary,
    tenant_domain,
)
from connguard.reports.model import ScanReport
from connguard.reports.text import display

FILE_WIDTH = 120
# Below this the four-column table leaves the message too little room; findings are listed.
TABLE_MIN_WIDTH = 90
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _header(report: ScanReport) -> Text:
    snapshot = report.snapshot
    window = snapshot.get("window", {})
    return Text(
        f"connguard {display(report.tool_version)} | tenant {display(tenant_domain(report))} | "
        f"snapshot {display(report.snapshot_path)} collected {display(str(snapshot.get('collected_at')))} "
        f"(window {display(str(window.get('start')))} to {display(str(window.get('end')))})",
        style="bold",
    )


def _message(finding: Finding) -> Text:
    text = Text()
    if finding.suppressed:
        reason = finding.suppression.reason if finding.suppression else "no reason given"
        until = f" until {finding.suppression.expires}" if finding.suppression and finding.suppression.expires else ""
        text.append(f"[SUPPRESSED{display(until)}: {display(reason)}] ")
    text.append(display(finding.message))
    return text


def _group_title(identity: str | None, findings: list[Finding]) -> str:
    if identity is None:
        return "Tenant-wide (no single connector)"
    guid = next((f.connector.guid for f in findings if f.connector and f.connector.guid), None)
    return f"Connector: {display(identity)}" + (f" ({display(guid)})" if guid else "")


def _group_list(identity: str | None, findings: list[Finding]) -> RenderableType:
    """Narrow terminals: one line of severity, rule and symptom, the message indented
    below, so the message keeps the whole width instead of a sliver of a column."""
    lines: list[RenderableType] = [Text(_group_title(identity, findings), style="bold")]
    for finding in findings:
        style = "dim" if finding.suppressed else ""
        head = Text(" ")
        head.append(display(finding.severity), style=style or _SEVERITY_STYLE.get(finding.severity, ""))
        head.append(f"  {display(finding.rule_id)}  {display(finding.symptom)}", style=style)
        lines += [head, Padding(_message(finding), (0, 0, 0, 3), style=style)]
    return Group(*lines)


def _group_table(identity: str | None, findings: list[Finding]) -> Table:
    table = Table(
        title=Text(_group_title(identity, findings), style="bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        expand=True,
        show_edge=False,
    )
    # Columns other than the message size to their content, so a custom pack's longer rule
    # ids are never cut; the message takes the rest of the width and wraps.
    table.add_column("Severity", no_wrap=True)
    table.add_column("Symptom", overflow="fold")
    table.add_column("Rule", no_wrap=True)
    table.add_column("Message", overflow="fold", ratio=1, min_width=20)
    for finding in findings:
        style = "dim" if finding.suppressed else ""
        table.add_row(
            Text(display(finding.severity), style=style or _SEVERITY_STYLE.get(finding.severity, "")),
            Text(display(finding.symptom)),
            Text(display(finding.rule_id)),
            _message(finding),
            style=style,
        )
    return table


def _coverage_lines(report: ScanReport) -> list[Text]:
    counts = summary(report)
    lines = [Text(f"Coverage: {counts['evaluated']} of {counts['rules']} enabled rules evaluated.", style="bold")]
    for coverage in not_checked(report):
        label = "NOT CHECKED" if coverage.status == "not_evaluated" else "ERROR"
        lines.append(
            Text(
                f"{label}: {display(coverage.symptom)} ({display(coverage.rule_id)}): "
                f"{display(coverage_reason(coverage))}",
                style="yellow" if coverage.status == "not_evaluated" else "red",
            )
        )
    if counts["symptoms_not_evaluated"]:
        lines.append(Text("Symptoms no rule checked: " + ", ".join(counts["symptoms_not_evaluated"]), style="yellow"))
    return lines


def _count_line(report: ScanReport) -> Text:
    counts = summary(report)
    by_severity = ", ".join(f"{s} {counts['by_severity'][s]}" for s in SEVERITIES if counts["by_severity"][s])
    line = f"Findings: {counts['unsuppressed']}" + (f" ({by_severity})" if by_severity else "")
    line += f"; suppressed: {counts['suppressed']}"
    if counts["unsuppressed"] == 0 and counts["not_evaluated"] + counts["error"]:
        line += " (no findings in the rules that ran; see NOT CHECKED above)"
    return Text(line, style="bold")


def renderable(report: ScanReport, width: int = FILE_WIDTH) -> RenderableType:
    """The whole report as one rich renderable (for a caller with its own Console of
    `width` columns)."""
    parts: list[RenderableType] = [_header(report), Text("")]
    groups = group_by_connector(sorted_findings(report))
    if not groups:
        parts += [Text("No findings."), Text("")]
    for identity, findings in groups:
        layout = _group_table if width >= TABLE_MIN_WIDTH else _group_list
        parts += [layout(identity, findings), Text("")]
    parts += _coverage_lines(report)
    parts += [Text(f"WARNING: {display(w)}", style="yellow") for w in sorted(report.result.warnings)]
    parts.append(_count_line(report))
    return Group(*parts)


def render(report: ScanReport, *, color: bool = False, width: int = FILE_WIDTH) -> str:
    """The table as text. Without `color` (files, pipes, CI) there are no escape codes at
    all and the width is fixed, whatever the environment says (COLUMNS, FORCE_COLOR)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        legacy_windows=False,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    console.print(renderable(report, width))
    text = buffer.getvalue()
    # Rich pads every line to the full width; trailing blanks only make diffs noisy.
    return text if color else "\n".join(line.rstrip() for line in text.split("\n"))
