"""Benchmark live collection against the loopback fake of Microsoft 365.

1. Concurrency: with the fake adding 200 ms to every response, each source is collected
   alone, then all together; the target is all <= 1.3 x the slowest single source.
2. Rate limit: a 100,000-row message trace (no advanced hunting permission, so the
   fallback runs) read with keyset paging while the fake enforces Get-MessageTraceV2's
   100 requests per 5 minutes. The 5-minute window is scaled down (--window, default
   5 s: 1/60) on both sides, the fake's and the collector's limiter, so the run takes
   seconds; what is measured is that the collector never exceeds the limit (the fake
   counts violations) and reads every row exactly once.

    python benchmarks/live_bench.py [--latency 0.2] [--rows 100000] [--window 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from connguard.collectors.live.ratelimit import Limit, RateLimits
from connguard.collectors.live.retry import RetryPolicy
from connguard.collectors.live.runner import SOURCES
from fake_m365 import dataset
from fake_m365.pki import make_pki
from helpers_live import LiveEnv, make_env


def _timed(env: LiveEnv, sources: tuple[str, ...], **kwargs: object) -> tuple[float, object]:
    env.fake.faults.clear()
    start = time.perf_counter()
    collection = env.collect(sources=sources, **kwargs)
    return time.perf_counter() - start, collection


def concurrency(env: LiveEnv, latency: float, rounds: int) -> None:
    env.fake.latency = latency
    # Real sleeps (not recorded ones) so waits count; a realistic poll interval for the audit query.
    kwargs = {"retry": RetryPolicy(base_delay=0.05), "limits": RateLimits(), "settings": _settings(poll=0.5)}
    single = {}
    for name in SOURCES:
        single[name] = min(_timed(env, (name,), **kwargs)[0] for _ in range(rounds))
    together = min(_timed(env, tuple(SOURCES), **kwargs)[0] for _ in range(rounds))
    slowest = max(single, key=single.get)
    print(f"## concurrency (fake latency {latency * 1000:.0f} ms, best of {rounds})")
    for name, seconds in single.items():
        print(f"  {name:<11} alone: {seconds:6.2f} s")
    print(f"  all sources together: {together:6.2f} s = {together / single[slowest]:.2f} x the slowest ({slowest})")


def _settings(poll: float) -> object:
    from connguard.collectors.live.base import Settings

    return Settings(audit_poll_interval=poll)


def _trace_rows(now: dt.datetime, count: int) -> list[dict[str, object]]:
    span = dt.timedelta(days=8).total_seconds()
    rows = []
    for i in range(count):
        t = now - dt.timedelta(seconds=span * (i + 1) / count)
        rows.append({"MessageTraceId": str(uuid.UUID(int=i + 1)), "MessageId": f"<{i}@contoso.com>",
                     "Received@data.type": "System.DateTime",
                     "Received": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}0Z",
                     "SenderAddress": f"user{i % 50}@contoso.com", "RecipientAddress": f"r{i % 997}@partner{i % 300}.example",
                     "FromIP": dataset.ONPREM_IP, "ToIP": "", "Subject": "s", "Status": "Delivered",
                     "Size@data.type": "System.Int32", "Size": 2048})
    return rows


def rate_limit(pki: object, workdir: Path, rows: int, window: float, page: int) -> None:
    env = make_env(pki, workdir / "trace")
    try:
        env.fake.data = dataset.build(env.fake.data.now)
        env.fake.data.message_trace = _trace_rows(env.fake.data.now, rows)
        env.app.permissions.discard("ThreatHunting.Read.All")
        env.fake.exchange.trace_limit = (100, window)
        env.fake.exchange.trace_max_result = page
        limits = RateLimits(operation_limits={"exchange:Get-MessageTraceV2": Limit(100, window)})
        os.environ.update(env.env)
        start = time.perf_counter()
        collection = env.collect(sources=("exchange", "mail_stats"), limits=limits,
                                 retry=RetryPolicy(base_delay=0.05))
        seconds = time.perf_counter() - start
        stats = collection.snapshot["facts"]["mail_stats"]
        requests = len(env.fake.requests("Get-MessageTraceV2"))
        counted = sum(r["outbound"] for r in stats)
        print(f"## message trace: {rows:,} rows, page {page}, limit 100 requests per {window:g} s (5 min scaled 1/{300 / window:g})")
        print(f"  requests {requests}, wall {seconds:.1f} s, 429s from the fake's limit: {env.fake.exchange.trace_violations}")
        print(f"  rows counted {counted:,} of {rows:,}; {collection.snapshot['sources']['mail_stats']['reason']}")
        print(f"  at the real 5-minute window this read takes about {max(0, (requests - 1) // 100) * 5} min of waiting")
    finally:
        env.fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--page", type=int, default=1000, help="rows per Get-MessageTraceV2 page (service max 5000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        pki = make_pki(workdir / "pki")
        env = make_env(pki, workdir / "concurrency", graph_page_size=1000, exchange_page_size=1000)
        try:
            concurrency(env, args.latency, args.rounds)
        finally:
            env.fake.stop()
        rate_limit(pki, workdir, args.rows, args.window, args.page)


if __name__ == "__main__":
    main()
