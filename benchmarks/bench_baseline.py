"""Benchmark baseline save, load, diff and the scan-time drift view on a large tenant.

    python benchmarks/bench_baseline.py [--connectors 500] [--ips 50] [--audit-events 200000]

Builds a snapshot with many inbound connectors (each with many sender IPs and domains)
and a long audit log of connector cmdlets, saves its baseline, changes one field on every
tenth connector and adds connectors, then times each step and reports the peak memory of
`compute` (the part every `scan --baseline` pays). Results go in docs/benchmarks.md
("## baseline").
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers_baseline import healthy_snapshot, inbound

from connguard.baseline import compute, from_snapshot
from connguard.baseline.diff import diff
from connguard.baseline.load import loads_baseline
from connguard.baseline.save import dumps_baseline


def build(connectors: int, ips: int, audit_events: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(healthy snapshot, drifted copy) of a synthetic tenant."""
    data = healthy_snapshot()
    facts = data["facts"]
    facts["inbound_connectors"] = [
        inbound(f"Relay {i:05d}", guid=f"00000000-0000-4000-8000-{i:012d}",
                sender_ip_addresses=[f"10.{i // 250}.{i % 250}.{j}" for j in range(ips)],
                sender_domains=[f"smtp:d{j}.example;{j}" for j in range(10)])
        for i in range(connectors)
    ]
    operations = ("Set-InboundConnector", "New-InboundConnector", "Set-TransportRule", "Set-Mailbox")
    facts["audit_events"] = [
        {"id": f"ev-{n:07d}", "time": f"2026-11-{1 + n % 19:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
         "operation": operations[n % 4], "actor": "exo-admin@contoso.com",
         "target": f"Relay {n % connectors:05d}", "parameters": {"SenderIPAddresses": "10.0.0.1"},
         "succeeded": True}
        for n in range(audit_events)
    ]
    drifted = copy.deepcopy(data)
    for record in drifted["facts"]["inbound_connectors"][::10]:
        record["sender_ip_addresses"] = record["sender_ip_addresses"] + ["192.0.2.1"]
    drifted["facts"]["inbound_connectors"] += [inbound(f"New {i}") for i in range(10)]
    return data, drifted


def timed(label: str, func: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = func()
    print(f"{label:<44} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectors", type=int, default=500)
    parser.add_argument("--ips", type=int, default=50)
    parser.add_argument("--audit-events", type=int, default=200_000)
    args = parser.parse_args()
    data, drifted = build(args.connectors, args.ips, args.audit_events)
    print(f"{args.connectors} inbound connectors x {args.ips} sender IPs, {args.audit_events} audit events")
    text = timed("save (from_snapshot + dumps_baseline)", lambda: dumps_baseline(from_snapshot(data)))
    print(f"{'  baseline size':<44} {len(text.encode()) / 1e6:8.2f} MB")
    baseline = timed("load (loads_baseline)", lambda: loads_baseline(text, origin="bench.yaml"))
    changes = timed("diff (baseline vs drifted snapshot)", lambda: diff(baseline, from_snapshot(drifted)))
    drift = timed("compute (scan-time drift view)", lambda: compute(drifted, baseline))
    tracemalloc.start()
    compute(drifted, baseline)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{'  compute peak memory (tracemalloc)':<44} {peak / 1e6:8.1f} MB")
    print(f"{'  differences / drift changes / unapproved':<44} {len(changes)} / {len(drift['changes'])} / "
          f"{len(drift['unapproved'])}")


if __name__ == "__main__":
    main()
