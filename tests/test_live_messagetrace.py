"""Message trace fallback: keyset paging over 10-day slices with repeated rows and an
expired pagination request gives exactly the statistics advanced hunting gives."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fake_m365 import dataset

if TYPE_CHECKING:
    from helpers_live import LiveEnv

pytest_plugins = ("helpers_live",)  # the live/live_pki fixtures


class FakeClock:
    """A clock that advances only when the limiter sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.slept += seconds


def _without_p2(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "p1_p2_mismatch": None} for r in rows]


def test_trace_fallback_matches_hunting_row_for_row(live: LiveEnv) -> None:
    hunted = live.collect(since="15d").snapshot["facts"]["mail_stats"]
    live.app.permissions.discard("ThreatHunting.Read.All")
    live.fake.exchange.trace_max_result = 700          # many keyset pages
    live.fake.inject("Get-MessageTraceV2", "expired-paging", skip=3)
    collection = live.collect(since="15d")
    data = collection.snapshot
    source = data["sources"]["mail_stats"]
    assert source["status"] == "ok"
    assert source["origin"] == "exchange admin API Get-MessageTraceV2 (fallback)"
    assert source["unavailable_fields"] == ["p1_p2_mismatch"]
    assert "ThreatHunting.Read.All" in source["permission"]
    assert data["facts"]["mail_stats"] == _without_p2(hunted)

    params = [json.loads(c.body)["CmdletInput"]["Parameters"] for c in live.fake.requests("Get-MessageTraceV2")]
    assert len({p["StartDate"] for p in params}) == 2, "15 days need two 10-day slices"
    assert any("StartingRecipientAddress" in p for p in params)
    assert "duplicates dropped" in source["reason"]
    bad = sum(r["outbound"] for r in data["facts"]["mail_stats"] if r["connector"] == dataset.BAD)
    assert bad == 29 * 150 * 2


def test_trace_paging_without_progress_is_partial(live: LiveEnv) -> None:
    live.app.permissions.discard("ThreatHunting.Read.All")
    live.fake.exchange.trace_max_result = 1        # the boundary row repeats forever at page size 1
    live.fake.exchange.trace_duplicate_every = 0
    source = live.collect(since="1h").snapshot["sources"]["mail_stats"]
    assert source["status"] == "partial" and "made no progress" in source["reason"]


def test_trace_requests_go_through_the_operation_limiter(live: LiveEnv) -> None:
    from connguard.collectors.live.ratelimit import Limit, RateLimits

    live.app.permissions.discard("ThreatHunting.Read.All")
    live.fake.exchange.trace_max_result = 2000
    clock = FakeClock()
    limits = RateLimits(host_limit=Limit(10_000, 1.0), sleep=clock.sleep, clock=clock.now,
                        operation_limits={"exchange:Get-MessageTraceV2": Limit(3, 3600.0)})
    collection = live.collect(limits=limits)
    trace_calls = len(live.fake.requests("Get-MessageTraceV2"))
    assert trace_calls > 3
    # every request after the third waited for the window: a full hour per three requests
    assert clock.slept >= 3600.0 * ((trace_calls - 1) // 3) - 1
    assert collection.snapshot["sources"]["mail_stats"]["status"] == "ok"
