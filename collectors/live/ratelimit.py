"""Client-side request limits, so a collection stays under the service's quotas.

Microsoft publishes some limits (Get-MessageTraceV2: 100 requests per 5 minutes;
runHuntingQuery: about 45 per minute; alerts: 150 per minute) and throttles past them
with 429s that cost far more time than waiting a little up front. Every request takes a
slot from its host's limiter and, where one applies, from its operation's limiter.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


class SlidingWindowLimiter:
    """At most `limit` acquisitions in any `window` seconds; thread-safe, blocking."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a limiter needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a slot, waiting if the window is full; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._stamps and self._stamps[0] <= now - self.window:
                    self._stamps.popleft()
                if len(self._stamps) < self.limit:
                    self._stamps.append(now)
                    return waited
                delay = self._stamps[0] + self.window - now
            self._sleep(delay)
            waited += delay


@dataclass(frozen=True)
class Limit:
    """A quota: `requests` per `window` seconds."""

    requests: int
    window: float


# Operation quotas from the wire-formats reference; hosts get a generous default that
# only smooths bursts (the services publish no per-host number).
DEFAULT_OPERATION_LIMITS: dict[str, Limit] = {
    "exchange:Get-MessageTraceV2": Limit(100, 300.0),
    "graph:runHuntingQuery": Limit(45, 60.0),
    "graph:alerts_v2": Limit(150, 60.0),
    "graph:auditLog/queries:create": Limit(10, 60.0),
}
DEFAULT_HOST_LIMIT = Limit(50, 1.0)


@dataclass
class RateLimits:
    """The limiters of one collection: one per host and one per limited operation."""

    host_limit: Limit = DEFAULT_HOST_LIMIT
    operation_limits: dict[str, Limit] = field(default_factory=lambda: dict(DEFAULT_OPERATION_LIMITS))
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _limiters: dict[str, SlidingWindowLimiter] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _limiter(self, key: str, limit: Limit) -> SlidingWindowLimiter:
        with self._lock:
            if key not in self._limiters:
                self._limiters[key] = SlidingWindowLimiter(limit.requests, limit.window, sleep=self.sleep,
                                                           clock=self.clock)
            return self._limiters[key]

    def acquire(self, host: str, operation: str | None = None) -> float:
        """Wait for a slot on the host (and the operation); returns the seconds waited."""
        waited = 0.0
        if operation is not None and operation in self.operation_limits:
            waited += self._limiter(f"op:{operation}", self.operation_limits[operation]).acquire()
        waited += self._limiter(f"host:{host}", self.host_limit).acquire()
        return waited
