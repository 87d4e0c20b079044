"""Token buckets: never more than the burst plus the refill, never refusing a caller that
keeps to its rate, and a refusal's wait is enough."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from domain.quotas import UNLIMITED, Buckets, Rate, TokenBucket, retry_after_seconds

rates = st.builds(
    Rate,
    per_second=st.floats(min_value=0.01, max_value=1000, allow_nan=False),
    burst=st.integers(min_value=1, max_value=200),
)
gaps = st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), max_size=300)


@given(rates, gaps)
def test_granted_requests_never_exceed_the_burst_plus_what_refilled(rate, steps):
    bucket = TokenBucket.full(rate, now=0.0)
    times = list(itertools.accumulate(steps, initial=0.0))
    granted = sum(1 for now in times if bucket.take(now) == 0)
    assert granted <= rate.burst + times[-1] * rate.per_second + 1e-6


@given(rates, gaps)
def test_tokens_stay_between_zero_and_the_burst(rate, steps):
    bucket = TokenBucket.full(rate, now=0.0)
    for now in itertools.accumulate(steps, initial=0.0):
        bucket.take(now)
        assert 0 <= bucket.tokens <= rate.burst


@given(rates, st.integers(min_value=1, max_value=300))
def test_a_caller_keeping_to_its_rate_is_never_refused(rate, count):
    bucket = TokenBucket.full(rate, now=0.0)
    interval = 1 / rate.per_second
    assert all(bucket.take(i * interval * 1.000001) == 0 for i in range(count))


@given(rates, st.integers(min_value=0, max_value=400))
def test_waiting_the_announced_time_is_enough(rate, extra):
    bucket = TokenBucket.full(rate, now=0.0)
    for _ in range(rate.burst + extra):
        bucket.take(0.0)
    wait = bucket.take(0.0)
    assert wait > 0
    assert bucket.take(wait * 1.000001) == 0


def test_a_burst_is_granted_at_once_then_refused():
    bucket = TokenBucket.full(Rate(per_second=1, burst=3), now=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(100.0) == 1.0


def test_a_clock_going_backwards_refills_nothing():
    bucket = TokenBucket.full(Rate(per_second=1, burst=1), now=10.0)
    assert bucket.take(10.0) == 0
    assert bucket.take(5.0) > 0
    assert bucket.take(10.5) == 0.5


def test_retry_after_is_whole_seconds_rounded_up_and_never_zero():
    assert [retry_after_seconds(w) for w in (0.0, 0.01, 1.0, 1.2, 59.5)] == [1, 1, 1, 2, 60]


def test_callers_have_their_own_buckets_and_memory_stays_bounded():
    buckets = Buckets(max_callers=2)
    rate = Rate(per_second=1, burst=1)
    assert buckets.take("a", rate, 0.0) == 0
    assert buckets.take("a", rate, 0.0) > 0
    assert buckets.take("b", rate, 0.0) == 0
    assert buckets.take("c", rate, 0.0) == 0
    assert len(buckets) == 2
    assert buckets.take("a", rate, 0.0) == 0  # forgotten, so back full


def test_no_limit_grants_everything():
    buckets = Buckets()
    assert all(buckets.take("k", UNLIMITED, 0.0) == 0 for _ in range(10_000))
    assert len(buckets) == 0
