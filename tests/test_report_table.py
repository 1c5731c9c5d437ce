"""The terminal table: grouped by connector, plain about what was not checked, safe text."""

from __future__ import annotations

import re

from connguard.reports import render
from connguard.reports.table import render as render_table
from helpers_report import RULES, coverage, finding, full_report, make_report, make_snapshot

R = {rule.id: rule for rule in RULES}
ANSI = re.compile(r"\x1b\[")


def test_groups_by_connector_worst_first_with_tenant_wide_last() -> None:
    text = render("table", full_report())
    headings = [line for line in text.splitlines() if line.startswith(("Connector:", "Tenant-wide"))]
    assert headings == [
        "Connector: Inbound from on-prem (guid-0)",
        "Connector: Partner relay (guid-1)",
        "Connector: Fabrikam relay (guid-2)",
        "Tenant-wide (no single connector)",
    ]
    spike = next(line for line in text.splitlines() if "CG-0004" in line)
    assert re.search(r"critical\s+outbound-spike\s+CG-0004\s+Inbound from on-prem: outbound volume spike", spike)


def test_says_plainly_what_was_not_checked_and_counts_suppressed_separately() -> None:
    text = render("table", full_report())
    assert "NOT CHECKED: sender-mismatch (CG-0002): mail_stats.p1_p2_mismatch is unavailable" in text
    assert "ERROR: spam-surge (CG-0008): JMESPath error: unknown function" in text
    assert "Coverage: 3 of 5 enabled rules evaluated." in text
    assert "[SUPPRESSED until 2027-03-31: known partner relay, ticket 42]" in text
    assert text.rstrip().endswith("Findings: 4 (critical 1, high 2, info 1); suppressed: 1")
    assert "WARNING: suppression for CG-0009 expired on 2026-10-01" in text


def test_missing_data_without_reason_is_named_as_unavailable() -> None:
    gap = coverage(R["CG-0002"], "not_evaluated", missing=["mail_stats.p1_p2_mismatch"])
    text = render("table", make_report([], [coverage(R["CG-0001"]), gap]))
    assert "NOT CHECKED: sender-mismatch (CG-0002): mail_stats.p1_p2_mismatch unavailable" in text
    assert "no findings in the rules that ran; see NOT CHECKED above" in text


def test_long_custom_rule_ids_and_messages_are_never_cut() -> None:
    from helpers_report import FakeRule

    custom = FakeRule("CONTOSOSEC-0042", "connector-alert", "high", "Custom check")
    long_message = "Partner relay: " + " ".join(f"word{i}" for i in range(60))
    text = render("table", make_report([finding(custom, "Partner relay", 1, message=long_message)],
                                       [coverage(custom, findings=1)]))
    assert "CONTOSOSEC-0042" in text
    assert " ".join(text.split()).count("word59") == 1 and "word0 " in text


def test_narrow_terminal_lists_findings_with_the_whole_message() -> None:
    text = render_table(full_report(), width=50)
    assert max(len(line) for line in text.splitlines()) <= 50
    lines = text.splitlines()
    at = lines.index(" critical  CG-0004  outbound-spike")
    assert lines[at + 1] == "   Inbound from on-prem: outbound volume spike"
    assert "NOT CHECKED: sender-mismatch (CG-0002)" in text


def test_clean_scan_says_no_findings() -> None:
    text = render("table", make_report([]))
    assert "No findings." in text and "Coverage: 5 of 5 enabled rules evaluated." in text
    assert "NOT CHECKED" not in text


def test_file_output_is_plain_fixed_width_and_unaffected_by_environment(monkeypatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "50")
    text = render("table", full_report())
    assert not ANSI.search(text)
    assert max(len(line) for line in text.splitlines()) == 120
    assert all(line == line.rstrip() for line in text.splitlines())


def test_terminal_output_uses_colour_when_asked() -> None:
    assert ANSI.search(render_table(full_report(), color=True, width=100))


def test_hostile_connector_names_cannot_inject_terminal_escapes_or_markup() -> None:
    names = ["\x1b[31mEVIL\x1b[0m\x07", "[bold red]markup[/]", "ab\u202edcba", "line\nbreak"]
    data = make_snapshot(names)
    findings = [finding(R["CG-0001"], name, i, message=f"{name}: permissive") for i, name in enumerate(names)]
    text = render("table", make_report(findings, data=data))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[31mEVIL\\x1b[0m\\x07" in text
    assert "[bold red]markup[/]" in text  # shown literally, not interpreted as rich markup
    assert "ab\\u202edcba" in text
    assert "Connector: line\\x0abreak" in text
