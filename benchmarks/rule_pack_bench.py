"""Rule pack benchmark: what each shipped rule costs on a large tenant, run alone.

Usage: python benchmarks/rule_pack_bench.py [--scale 1] [--repeat 3]

Uses engine_bench's synthetic tenant (scale 1: 50 connectors, 200,000 audit events, 30 days
of hourly mail statistics per connector) with on-premises range 203.0.113.0/24 and one
approved admin, so that CG-0012 reports most of the 66,000 connector changes: the worst
case for a rule whose cost grows with its findings. Each rule is evaluated on its own
(building its own join indexes), best of --repeat runs. Targets (docs/benchmarks.md): a rule
with few findings takes under 2 s at scale 1; a finding costs under 250 microseconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import generate  # noqa: E402

from connguard.config import Config  # noqa: E402
from connguard.engine import evaluate, load_rules  # noqa: E402
from connguard.engine.model import RulePack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="facts multiplier (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per rule; the best is reported")
    args = parser.parse_args()
    data = generate(args.scale)
    pack = load_rules()
    config = Config(onprem_ips=("203.0.113.0/24",), approved_admins=("admin0@contoso.com",))
    for rule in pack.rules:
        if not rule.id.startswith("CG-00"):
            continue  # the baseline drift rules have their own benchmark
        best, findings = float("inf"), 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = evaluate(data, RulePack(rules=(rule,), dirs=pack.dirs), config)
            best = min(best, time.perf_counter() - start)
            findings = len(result.findings)
        per_finding = round(best / findings * 1e6) if findings else None
        print(json.dumps({"rule": rule.id, "seconds": round(best, 2), "findings": findings,
                          "us_per_finding": per_finding}), flush=True)


if __name__ == "__main__":
    main()
