"""Report writers: one ScanReport in, text out, for `table`, `json`, `sarif` or `markdown`.

Writers only format; they never decide what is a finding. Each returns the whole text, so
the CLI writes `--output` atomically or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from connguard.errors import InputError
from connguard.reports import json_report, markdown, sarif, table
from connguard.reports.model import PackInfo, RuleInfo, ScanReport

FORMATS: tuple[str, ...] = ("table", "json", "sarif", "markdown")

_WRITERS: dict[str, Callable[[ScanReport], str]] = {
    "table": table.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "markdown": markdown.render,
}


class UnknownFormatError(InputError):
    """`--format` named no writer."""


def render(fmt: str, report: ScanReport) -> str:
    """The report in format `fmt`, as text ending in a newline.

    The table rendered here is plain (no colour, 120 columns), right for files and pipes;
    for a terminal, call `connguard.reports.table.render(report, color=True, width=...)`.
    """
    try:
        writer = _WRITERS[fmt]
    except KeyError:
        choices = ", ".join(FORMATS)
        raise UnknownFormatError(f"--format: unknown report format {fmt!r} (choose from {choices})") from None
    return writer(report)


__all__ = ["FORMATS", "PackInfo", "RuleInfo", "ScanReport", "UnknownFormatError", "render"]
