"""Benchmark `connguard respond` on a large synthetic tenant.

    python benchmarks/bench_respond.py [--connectors 500] [--affected 50] [--mail-rows 200000]
                                       [--audit-events 200000]

Builds a valid snapshot with many connectors, a long hourly mail-statistics table spread
over all of them (a spike in the last day for the affected ones), a large audit log, and a
report with several findings per affected connector; then times planning (timelines
included) and each writer, and reports the peak memory of the whole run.
Results go in docs/benchmarks.md ("## respond").
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from connguard import snapshot
from connguard.respond import html_report, markdown, powershell, timeline_json
from connguard.respond.plan import build_plan

COLLECTED_AT = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(connectors: int, affected: int, mail_rows: int, audit_events: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(snapshot, report) of a tenant whose first `affected` connectors were abused."""
    hours = max(1, mail_rows // connectors)
    start = COLLECTED_AT - timedelta(hours=hours)
    data = snapshot.empty(tenant_domain="contoso.com", tenant_id="t-1", collected_at=_time(COLLECTED_AT),
                          window_start=_time(start), window_end=_time(COLLECTED_AT), mode="synthetic")
    facts = data["facts"]
    names = [f"Connector {i:04d}" for i in range(connectors)]
    facts["inbound_connectors"] = [
        {"identity": n, "guid": f"00000000-0000-0000-0000-{i:012d}", "enabled": True, "connector_type": "OnPremises",
         "sender_ip_addresses": [f"198.51.{i % 250}.{i % 200 + 1}/32"], "sender_domains": ["*"], "require_tls": False}
        for i, n in enumerate(names)
    ]
    facts["mail_stats"] = [
        {"hour": _time(start + timedelta(hours=h)), "connector": n, "outbound": 2000 if i < affected and h > hours - 12 else 20,
         "spam": 900 if i < affected and h > hours - 12 else 0, "sender_ips": [f"198.51.{i % 250}.{i % 200 + 1}"]}
        for h in range(hours) for i, n in enumerate(names)
    ]
    facts["audit_events"] = [
        {"id": f"e{k}", "time": _time(start + timedelta(seconds=k * 7 % (hours * 3600))),
         "operation": "Set-InboundConnector" if k % 2 else "Set-Mailbox", "actor": f"admin{k % 20}@contoso.com",
         "target": names[k % connectors], "parameters": {"RequireTls": "False"}, "succeeded": True}
        for k in range(audit_events)
    ]
    facts["admins"] = [{"upn": f"admin{k}@contoso.com", "roles": ["Exchange Administrator"], "risk_level": "none",
                        "risk_state": "none", "sign_ins": []} for k in range(20)]
    for key in data["sources"]:
        data["sources"][key] = {"status": "ok", "count": len(facts[key])}
    snapshot.validate(data)
    findings = []
    for i in range(affected):
        for rule, symptom in (("CG-0004", "outbound-spike"), ("CG-0007", "spam-surge"), ("CG-0012", "connector-changed"),
                              ("CG-0011", "unapproved-connector" if i % 2 else "foreign-sender-ip")):
            findings.append({"rule_id": rule, "rule_version": "1.0.0", "symptom": symptom, "severity": "high",
                             "title": symptom, "message": f"{names[i]}: {symptom}",
                             "connector": {"identity": names[i], "guid": facts["inbound_connectors"][i]["guid"]},
                             "evidence": {}, "fingerprint": f"{rule}-{i}", "remediation": [], "suppressed": False,
                             "pointer": None})
    report = {"schema_version": "1.0", "tenant": data["tenant"], "snapshot": {"collected_at": data["collected_at"]},
              "findings": findings}
    return data, report


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectors", type=int, default=500)
    parser.add_argument("--affected", type=int, default=50)
    parser.add_argument("--mail-rows", type=int, default=200_000)
    parser.add_argument("--audit-events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data, report = build(args.connectors, args.affected, args.mail_rows, args.audit_events)
    print(f"{args.connectors} connectors, {args.affected} affected, {len(data['facts']['mail_stats'])} mail rows, "
          f"{len(data['facts']['audit_events'])} audit events, {len(report['findings'])} findings")
    seconds, (plan, timelines) = best_of(args.runs, lambda: build_plan(report, data, None))
    print(f"plan + timelines: {seconds:.2f} s ({sum(len(c.steps) for c in plan.connectors)} steps)")
    writers: dict[str, Callable[[], Any]] = {
        "plan.md": lambda: markdown.render(plan),
        "remediate.ps1": lambda: powershell.to_bytes(powershell.render(plan)),
        "report.html": lambda: html_report.render(plan, timelines),
        "timeline.json": lambda: timeline_json.render(plan, timelines, {"name": "connguard", "version": "bench"}),
    }
    for name, work in writers.items():
        seconds, output = best_of(args.runs, work)
        print(f"{name}: {seconds:.3f} s, {len(output) / 1e6:.2f} MB")
    tracemalloc.start()
    plan, timelines = build_plan(report, data, None)
    for work in writers.values():
        work()
    print(f"peak traced memory of plan + all writers: {tracemalloc.get_traced_memory()[1] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
