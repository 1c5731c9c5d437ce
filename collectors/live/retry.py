"""When and how long to wait before repeating a failed request.

Bounded on purpose: a collection in CI must end. A throttled request waits what the
service asks (`Retry-After`, fractional seconds included) up to `max_retry_after`;
transient failures (503, 504, connection errors, timeouts, a truncated JSON page) wait
an exponentially growing, jittered delay so that concurrent sources do not retry in
lock-step. The sleep function is injectable so tests can record the requested waits
instead of spending them.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS: frozenset[int] = frozenset({429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    """Limits on retrying one request."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    jitter: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1-based) when the service named none."""
        raw = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return raw * (1 - self.jitter + self.jitter * self.rng.random())

    def throttle_delay(self, retry_after: str | None, attempt: int) -> float:
        """Delay after a 429: the service's Retry-After when given and sane, else backoff."""
        seconds = parse_retry_after(retry_after)
        if seconds is None:
            return self.backoff(attempt)
        return min(seconds, self.max_retry_after)


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> float | None:
    """Seconds from a Retry-After header: `2`, `2.128` or an HTTP date; None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - now()).total_seconds()
    if math.isnan(seconds) or seconds < 0:  # unreadable or in the past
        return 0.0
    return seconds
