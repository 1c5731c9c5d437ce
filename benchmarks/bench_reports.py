"""Benchmark the report writers on a large synthetic scan.

    python benchmarks/bench_reports.py [--connectors 500] [--mail-rows 200000] [--findings 2000]

Builds a valid snapshot with many connectors and a long mail-statistics table (the
biggest fact set in real tenants), a findings list pointing at connector records and at
the last mail rows (so the line locator must cross the whole file), then times each
writer and the locator alone, and reports the peak memory of a SARIF render.
Results go in docs/benchmarks.md ("## reports").
"""

from __future__ import annotations

import argparse
import hashlib
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from connguard import snapshot
from connguard.engine.model import ConnectorRef, Coverage, Finding, ScanResult
from connguard.reports import FORMATS, ScanReport, render
from connguard.reports.locator import locate_lines

SYMPTOMS = ("outbound-spike", "permissive-connector", "foreign-sender-ip", "spam-surge")


@dataclass
class _Rule:
    id: str
    symptom: str
    severity: str = "high"
    version: str = "1.0.0"
    status: str = "stable"
    title: str = "Synthetic rule"
    description: str = "Benchmark rule."
    remediation: list[str] = field(default_factory=lambda: ["Disable the connector."])
    references: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    path: str | None = "rules/x.yaml"
    line: int | None = 1


@dataclass
class _Pack:
    rules: list[_Rule]


def build(connectors: int, mail_rows: int, findings: int) -> ScanReport:
    data = snapshot.empty(tenant_domain="bench.example", collected_at="2026-11-20T12:00:00Z",
                          window_start="2026-10-21T12:00:00Z", window_end="2026-11-20T12:00:00Z")
    data["facts"]["inbound_connectors"] = [
        {"identity": f"Connector {i}", "guid": f"guid-{i}", "enabled": True, "connector_type": "OnPremises",
         "sender_ip_addresses": ["203.0.113.0/28"], "sender_domains": ["*"]}
        for i in range(connectors)
    ]
    data["facts"]["mail_stats"] = [
        {"hour": f"2026-11-{1 + (i // 24) % 19:02d}T{i % 24:02d}:00:00Z", "connector": f"Connector {i % connectors}",
         "outbound": i % 977, "sender_ips": ["203.0.113.5"]}
        for i in range(mail_rows)
    ]
    snapshot.validate(data)
    text = snapshot.dumps(data)
    rules = [_Rule(f"CG-{i + 1:04d}", symptom) for i, symptom in enumerate(SYMPTOMS)]
    found: list[Finding] = []
    for n in range(findings):
        rule = rules[n % len(rules)]
        c = n % connectors
        pointer = f"/facts/inbound_connectors/{c}" if n % 10 else f"/facts/mail_stats/{mail_rows - 1 - n}"
        found.append(Finding(rule.id, rule.version, rule.symptom, rule.severity, rule.title,
                             f"Connector {c}: something odd #{n}", ConnectorRef(f"Connector {c}", f"guid-{c}"),
                             {"count": n, "ips": ["198.51.100.7"]}, f"fp-{n}", list(rule.remediation), pointer=pointer))
    coverage = [Coverage(r.id, r.version, r.symptom, "evaluated", findings=findings // len(rules)) for r in rules]
    return ScanReport(ScanResult(found, coverage), _Pack(rules), data, "bench/snapshot.json",
                      hashlib.sha256(text.encode()).hexdigest(), text, "0.1.0")


def _time(fn: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connectors", type=int, default=500)
    parser.add_argument("--mail-rows", type=int, default=200_000)
    parser.add_argument("--findings", type=int, default=2_000)
    args = parser.parse_args()
    report = build(args.connectors, args.mail_rows, args.findings)
    size_mb = len(report.snapshot_text.encode()) / 1e6
    print(f"snapshot {size_mb:.1f} MB, {args.connectors} connectors, {args.mail_rows} mail rows, "
          f"{args.findings} findings")
    pointers = {f.pointer for f in report.result.findings if f.pointer}
    print(f"{'locator':>10}: {_time(lambda: locate_lines(report.snapshot_text, pointers)):7.3f} s "
          f"({len(pointers)} pointers)")
    for fmt in FORMATS:
        print(f"{fmt:>10}: {_time(lambda fmt=fmt: render(fmt, report)):7.3f} s")
    tracemalloc.start()
    render("sarif", report)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"sarif peak traced memory: {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
