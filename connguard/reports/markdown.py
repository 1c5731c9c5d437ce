"""Markdown (`--format markdown`) for `$GITHUB_STEP_SUMMARY` and pull-request comments.

A headline a reviewer can act on, one table of findings grouped by connector, a "Not
checked" section, and per finding a collapsed block with its evidence and remediation.

Every tenant-derived string is escaped for where it lands: table cells and paragraphs
(no `|`, no newlines, no HTML, no emphasis, links or block markers, no @-mentions), HTML `<summary>` text,
and fenced code blocks (a fence longer than any backtick run inside). A connector named
`<script>` or "a|b" or with backticks reads as itself and breaks nothing.
"""

from __future__ import annotations

import html
import json
import re

from connguard.engine.model import SEVERITIES, Finding
from connguard.reports.common import (
    TENANT_WIDE,
    coverage_reason,
    group_by_connector,
    not_checked,
    sorted_findings,
    summary,
    tenant_domain,
)
from connguard.reports.model import ScanReport
from connguard.reports.text import display, jsonable

# Characters with inline meaning anywhere: escapes, code, emphasis, links/images, table
# cells, strikethrough, math. `< > &` become entities instead, so no HTML gets through.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]|~$])")
# Characters that start a block (heading, list, quote, setext underline, ordered list)
# when they open a line: escaped only there, so ordinary text stays readable.
_BLOCK_START = re.compile(r"^(\s*)(?:([#+\-=])|(\d+)([.)]))")
# A pull-request comment holds 65,536 characters (a step summary 1 MiB): the headline,
# tables and "Not checked" come first and always fit; evidence blocks are added, most
# severe first, while the whole stays under this budget. The JSON report has everything.
COMMENT_BUDGET = 60_000
MAX_TABLE_ROWS = 200
# GitHub mentions `@name` where no word character precedes it (e-mail addresses are safe).
_MENTION = re.compile(r"(?<!\w)@(?=[A-Za-z0-9])")


def inline(text: str) -> str:
    """Text safe inside a table cell, a paragraph or a list item: one line, HTML entities
    for `& < >`, Markdown's inline punctuation backslash-escaped (a GFM table honours
    `\\|`), a block marker at the start escaped, and a word joiner after a mention-like
    `@` so GitHub never notifies a user or team named in tenant data."""
    text = html.escape(display(text), quote=False)
    text = _MARKDOWN_INLINE.sub(r"\\\1", text)
    text = _BLOCK_START.sub(_escape_block_start, text, count=1)
    return _MENTION.sub("@\u2060", text)


def _escape_block_start(match: re.Match[str]) -> str:
    space, marker, digits, delimiter = match.groups()
    return f"{space}\\{marker}" if marker else f"{space}{digits}\\{delimiter}"


def in_html(text: str) -> str:
    """Text safe inside an HTML element such as `<summary>` (GitHub does not render
    Markdown there, so escaping HTML and mentions is enough)."""
    return _MENTION.sub("@\u2060", html.escape(display(text), quote=True))


def code_block(text: str, language: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run in `text`, so the text
    cannot close it early (CommonMark's rule for fences)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _headline(report: ScanReport) -> list[str]:
    counts = summary(report)
    tenant = inline(tenant_domain(report))
    severities = ", ".join(f"{counts['by_severity'][s]} {s}" for s in SEVERITIES if counts["by_severity"][s])
    if counts["unsuppressed"]:
        plural = "s" if counts["unsuppressed"] != 1 else ""
        title = f"## connguard: {counts['unsuppressed']} finding{plural} in {tenant}"
    else:
        title = f"## connguard: no findings in {tenant}"
    facts = [severities] if severities else []
    facts.append(f"{counts['suppressed']} suppressed")
    facts.append(f"{counts['evaluated']} of {counts['rules']} rules evaluated")
    gaps = counts["not_evaluated"] + counts["error"]
    if gaps:
        facts.append(f"**{gaps} not checked**")
    snapshot = report.snapshot
    window = snapshot.get("window", {})
    source = (
        f"Snapshot {inline(report.snapshot_path)} (sha256 {inline(report.snapshot_sha256[:12])}) collected "
        f"{inline(str(snapshot.get('collected_at')))}, window {inline(str(window.get('start')))} to "
        f"{inline(str(window.get('end')))}; connguard {inline(report.tool_version)}."
    )
    lines = [title, "", " · ".join(facts), "", source]
    if not counts["unsuppressed"] and gaps:
        lines += ["", "> No findings in the rules that ran, but some were not checked (below): "
                  "this is not a clean bill."]
    return lines


def _finding_row(identity: str | None, finding: Finding) -> str:
    connector = inline(identity) if identity is not None else f"_{TENANT_WIDE}_"
    texts = (finding.severity, finding.symptom, finding.rule_id, finding.message)
    cells = [connector, *(inline(text) for text in texts)]
    return "| " + " | ".join(cells) + " |"


def _table(report: ScanReport, suppressed: bool) -> list[str]:
    findings = [f for f in sorted_findings(report) if f.suppressed == suppressed]
    if not findings:
        return []
    heading = f"### Suppressed ({len(findings)})" if suppressed else "### Findings"
    lines = [heading, "", "| Connector | Severity | Symptom | Rule | Message |", "|---|---|---|---|---|"]
    rows = [_finding_row(identity, finding) for identity, group in group_by_connector(findings) for finding in group]
    lines += rows[:MAX_TABLE_ROWS]
    if len(rows) > MAX_TABLE_ROWS:
        lines += ["", f"_…and {len(rows) - MAX_TABLE_ROWS} more; the JSON and SARIF reports list every finding._"]
    if suppressed:
        lines.append("")
        for finding in findings[:MAX_TABLE_ROWS]:
            reason = finding.suppression.reason if finding.suppression else "no reason given"
            expires = finding.suppression.expires if finding.suppression and finding.suppression.expires else None
            until = f" until {inline(expires)}" if expires else ""
            lines.append(f"- {inline(finding.rule_id)} {inline(_who(finding))}: {inline(reason)}{until}")
    return lines + [""]


def _who(finding: Finding) -> str:
    return finding.connector.identity if finding.connector else TENANT_WIDE


def _not_checked(report: ScanReport) -> list[str]:
    gaps = not_checked(report)
    counts = summary(report)
    if not gaps and not counts["symptoms_not_evaluated"]:
        return []
    lines = ["### Not checked", ""]
    for coverage in gaps:
        state = "not evaluated" if coverage.status == "not_evaluated" else "error"
        lines.append(
            f"- **{inline(coverage.rule_id)}** {inline(coverage.symptom)} ({state}): "
            f"{inline(coverage_reason(coverage))}"
        )
    if counts["symptoms_not_evaluated"]:
        lines.append("- Symptoms no rule checked: " + ", ".join(inline(s) for s in counts["symptoms_not_evaluated"]))
    return lines + [""]


def _details(report: ScanReport, budget: int) -> list[str]:
    """One collapsed block per finding, most important first, while they fit in `budget`
    characters; a closing line says how many did not."""
    findings = sorted_findings(report)
    if not findings:
        return []
    lines = ["### Details", ""]
    used = sum(len(line) + 1 for line in lines)
    for shown, finding in enumerate(findings):
        block = _detail_block(finding)
        size = sum(len(line) + 1 for line in block)
        if used + size > budget:
            rest = len(findings) - shown
            lines.append(f"_{rest} more finding{'s' if rest != 1 else ''} not detailed here to keep this "
                         "within a GitHub comment; the JSON report has the evidence of every finding._")
            break
        lines += block
        used += size
    return lines


def _detail_block(finding: Finding) -> list[str]:
    mark = " (suppressed)" if finding.suppressed else ""
    summary_text = f"{finding.rule_id} {finding.severity}{mark}: {_who(finding)}: {finding.title}"
    evidence = json.dumps(jsonable(finding.evidence), indent=2, sort_keys=True, ensure_ascii=False)
    lines = [
        "<details>",
        f"<summary>{in_html(summary_text)}</summary>",
        "",
        inline(finding.message),
        "",
        "**Evidence**",
        "",
        code_block(display_block(evidence), "json"),
        "",
    ]
    if finding.remediation:
        lines += ["**Remediation**", ""]
        lines += [f"{i}. {inline(step)}" for i, step in enumerate(finding.remediation, 1)]
        lines.append("")
    lines += [f"Fingerprint {inline(finding.fingerprint)}", "", "</details>", ""]
    return lines


def display_block(text: str) -> str:
    """Multi-line text for a code block: each line made safe, line breaks kept."""
    return "\n".join(display(line) for line in text.split("\n"))


def render(report: ScanReport) -> str:
    lines = _headline(report) + [""]
    lines += _table(report, suppressed=False)
    lines += _not_checked(report)
    lines += _table(report, suppressed=True)
    if report.result.warnings:
        lines += [f"> Warning: {inline(w)}" for w in sorted(report.result.warnings)] + [""]
    lines += _details(report, COMMENT_BUDGET - sum(len(line) + 1 for line in lines))
    return "\n".join(lines).rstrip("\n") + "\n"
