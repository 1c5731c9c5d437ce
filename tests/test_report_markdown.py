"""Markdown for step summaries and PR comments: readable, and unbreakable by tenant text.

Rendered with markdown-it-py (CommonMark + GFM tables, raw HTML allowed as on GitHub),
so the assertions are about what a reader would actually see.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from connguard.reports import render
from connguard.reports.markdown import code_block, inline
from helpers_report import RULES, coverage, finding, full_report, make_report, make_snapshot

R = {rule.id: rule for rule in RULES}
HOSTILE = [
    "<script>alert(1)</script>",
    "pipe|in|name",
    "tick`s ``` and ````",
    "**bold** [link](https://evil.example) @octocat",
    "<img src=x onerror=alert(1)>&amp;",
]


class _Html(HTMLParser):
    """Collects tags and table cells from rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _html(markdown: str) -> _Html:
    parser = _Html()
    parser.feed(MarkdownIt("commonmark").enable("table").render(markdown))
    return parser


def test_headline_table_not_checked_and_details() -> None:
    text = render("markdown", full_report())
    assert text.startswith("## connguard: 4 findings in contoso.onmicrosoft.com\n")
    assert "1 critical, 2 high, 1 info · 1 suppressed · 3 of 5 rules evaluated · **2 not checked**" in text
    assert "### Not checked" in text and "mail\\_stats.p1\\_p2\\_mismatch is unavailable" in text
    html = _html(text)
    findings_table = html.rows[:5]
    assert findings_table[0] == ["Connector", "Severity", "Symptom", "Rule", "Message"]
    assert [row[0] for row in findings_table[1:]] == [
        "Inbound from on-prem", "Inbound from on-prem", "Partner relay", "tenant-wide",
    ]
    assert html.tags.count("details") == 5 and html.tags.count("summary") == 5
    assert "### Suppressed (1)" in text and "known partner relay, ticket 42 until 2027-03-31" in text


def test_clean_scan_with_gaps_is_not_called_clean() -> None:
    gap = coverage(R["CG-0002"], "not_evaluated", missing=["mail_stats.p1_p2_mismatch"])
    text = render("markdown", make_report([], [coverage(R["CG-0001"]), gap]))
    assert text.startswith("## connguard: no findings in ")
    assert "this is not a clean bill" in text


def test_hostile_tenant_text_cannot_break_the_table_or_inject_html() -> None:
    data = make_snapshot(HOSTILE)
    findings = [
        finding(R["CG-0001"], name, i, message=f"{name} accepts any sender", evidence={"name": name, "note": "```"},
                remediation=[f"Disable {name}"])
        for i, name in enumerate(HOSTILE)
    ]
    text = render("markdown", make_report(findings, data=data))
    html = _html(text)
    assert not {"script", "img", "a", "em"} & set(html.tags)
    assert html.tags.count("strong") == 2 * len(HOSTILE)  # only our own "Evidence" / "Remediation"
    rows = html.rows[1:]
    assert len(rows) == len(HOSTILE) and all(len(row) == 5 for row in rows)
    seen = [[cell.replace("\u2060", "") for cell in row] for row in rows]  # the mention breaker is invisible
    assert sorted(row[0] for row in seen) == sorted(HOSTILE)  # each name reads as itself
    assert sorted(row[4] for row in seen) == sorted(f"{n} accepts any sender" for n in HOSTILE)
    prose = re.sub(r"(`{3,})json\n.*?\n\1\n", "", text, flags=re.S)  # GitHub never mentions inside code
    assert "@\u2060octocat" in prose and "@octocat" not in prose
    # every evidence block renders as code containing the hostile JSON, nothing escapes it
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert rendered.count('<code class="language-json">') == len(HOSTILE)


def test_inline_escapes_markdown_and_html_and_shows_controls() -> None:
    assert inline("a|b") == "a\\|b"
    assert inline("<b>&") == "&lt;b&gt;&amp;"
    assert inline("x\ny\x1b") == "x\\\\x0ay\\\\x1b"
    cell = inline("x\ny")
    assert _html(f"| h |\n|---|\n| {cell} |").rows[1] == ["x\\x0ay"]


def test_text_that_would_open_a_block_stays_a_line_of_text() -> None:
    for text in ["# heading", "- item", "+ item", "1. first", "12) twelfth", "===", "> quote", "  - indented"]:
        html = _html(f"1. {inline(text)}\n\n{inline(text)}\n")
        assert set(html.tags) == {"ol", "li", "p"}, text


def test_email_addresses_are_left_intact_but_mentions_are_broken() -> None:
    assert inline("adele.vance@contoso.com") == "adele.vance@contoso.com"
    assert inline("ping @octocat and (@org/team)") == "ping @\u2060octocat and (@\u2060org/team)"


def test_code_block_fence_is_longer_than_any_backtick_run() -> None:
    block = code_block("a ```` b")
    assert block.startswith("`````\n") and block.endswith("\n`````")
    assert code_block("plain").startswith("```\n")


def test_many_findings_still_fit_in_a_github_comment_and_say_what_was_left_out() -> None:
    names = [f"Relay {i:03d}" for i in range(300)]
    findings = [finding(R["CG-0001"], name, i) for i, name in enumerate(names)]
    text = render("markdown", make_report(findings, data=make_snapshot(names)))
    assert len(text) < 65_536
    html = _html(text)
    assert len(html.rows) == 1 + 200  # header + MAX_TABLE_ROWS
    assert "_…and 100 more; the JSON and SARIF reports list every finding._" in text
    detailed = html.tags.count("details")
    assert 0 < detailed < 300
    assert f"_{300 - detailed} more findings not detailed here" in text
    assert text.index("### Not checked") < text.index("### Details")


def test_warnings_come_before_the_details_so_they_are_never_cut() -> None:
    text = render("markdown", full_report())
    assert text.index("> Warning: suppression for CG-0009 expired") < text.index("### Details")


def test_details_summary_is_html_escaped() -> None:
    name = "<script>x</script>"
    text = render("markdown", make_report([finding(R["CG-0001"], name, 0)], data=make_snapshot([name])))
    summary = re.search(r"<summary>(.*)</summary>", text).group(1)
    assert "<script>" not in summary and "&lt;script&gt;" in summary
