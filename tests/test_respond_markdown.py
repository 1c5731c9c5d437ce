"""plan.md: tenant text cannot add structure (headings, links, HTML, code fences) to the plan."""

from __future__ import annotations

import re

from helpers_respond import make_report, make_snapshot

from connguard.respond import markdown
from connguard.respond.plan import build_plan

CMDLET_LINE = re.compile(r"^[A-Z][a-z]+-[A-Za-z0-9]+( |$)")


def _plan_md(relay: str) -> str:
    plan, _ = build_plan(make_report(relay=relay, relay_guid=None), make_snapshot(relay=relay, relay_guid=None), None)
    return markdown.render(plan)


def _split(text: str) -> tuple[list[str], list[list[str]]]:
    """(lines outside fenced code blocks, the blocks' contents), CommonMark's fence rule:
    a block closes at a line of the same backticks, at least as long as the opening."""
    outside: list[str] = []
    blocks: list[list[str]] = []
    lines = iter(text.splitlines())
    for line in lines:
        opening = re.fullmatch(r"(`{3,})powershell", line)
        if not opening:
            outside.append(line)
            continue
        body = []
        for inner in lines:
            if re.fullmatch(f"`{{{len(opening.group(1))},}}", inner):
                break
            body.append(inner)
        blocks.append(body)
    return outside, blocks


def test_hostile_name_adds_no_heading_link_or_html() -> None:
    benign_out, _ = _split(_plan_md("Relay 365"))
    hostile_out, _ = _split(_plan_md("x\n# Owned [click](https://evil.example) <img src=x onerror=alert(1)> *bold*"))
    headings = re.compile(r"^#{1,6} ")
    assert [bool(headings.match(l)) for l in hostile_out].count(True) == [bool(headings.match(l)) for l in benign_out].count(True)
    prose = "\n".join(hostile_out)
    assert not re.search(r"(?<!\\)[<\[\]]", prose.replace("\\\\", ""))  # every <, [ and ] escaped
    assert "x\\\\u000a# Owned \\[click\\](https://evil.example) \\<img src=x onerror=alert(1)\\> \\*bold\\*" in prose


def test_backticks_in_a_name_cannot_close_the_command_fence() -> None:
    name = "relay ```\n```\nRemove-InboundConnector -Identity *"
    outside, blocks = _split(_plan_md(name))
    assert blocks and all(CMDLET_LINE.match(line) for block in blocks for line in block)
    assert not any(line.startswith("```") for line in outside)
    assert not any(line.startswith("Remove-InboundConnector") for line in outside)


def test_code_block_fence_is_longer_than_any_backtick_run() -> None:
    assert markdown.code_block(["a ```` b"])[0] == "`````powershell"
    assert markdown.code_block(["plain"])[0] == "```powershell"


def test_plan_lists_steps_with_why_findings_and_check() -> None:
    text = _plan_md("Relay 365")
    steps = text.split("### Step ")[1:]
    assert len(steps) == 8
    for step in steps:
        assert "**Why:**" in step and "**From findings:**" in step and "**Check afterwards:**" in step
        assert "connguard scan" in step
