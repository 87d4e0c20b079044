"""Request quotas: token buckets, one per caller. Time is passed in (monotonic seconds)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """`per_second` tokens come back each second, up to `burst`; 0 per second: no limit."""

    per_second: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.per_second <= 0


UNLIMITED = Rate(0, 0)


@dataclass
class TokenBucket:
    rate: Rate
    tokens: float
    at: float

    @classmethod
    def full(cls, rate: Rate, now: float) -> TokenBucket:
        return cls(rate, float(max(1, rate.burst)), now)

    def take(self, now: float) -> float:
        """0 when a token was taken; else the seconds until one is back (nothing taken).
        A clock that goes backwards refills nothing."""
        if self.rate.unlimited:
            return 0.0
        capacity = float(max(1, self.rate.burst))
        if now > self.at:
            self.tokens = min(capacity, self.tokens + (now - self.at) * self.rate.per_second)
            self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate.per_second


def retry_after_seconds(wait: float) -> int:
    """The `Retry-After` header: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait))


class Buckets:
    """One bucket per caller; past `max_callers` the least recently seen is forgotten (it
    comes back full), so memory stays bounded whatever the callers."""

    def __init__(self, max_callers: int = 100_000) -> None:
        self.max_callers = max_callers
        self._buckets: OrderedDict[Hashable, TokenBucket] = OrderedDict()

    def take(self, caller: Hashable, rate: Rate, now: float) -> float:
        if rate.unlimited:
            return 0.0
        bucket = self._buckets.get(caller)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[caller] = TokenBucket.full(rate, now)
            if len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)
