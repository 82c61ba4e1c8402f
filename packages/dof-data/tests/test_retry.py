from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from dof_data import ConfigError, RetryPolicy, TokenBucket, TransientError, parse_retry_after
from dof_data.retry import FLICKR_CALLS_PER_HOUR, with_retries


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_bucket_allows_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_hour=3600, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(8)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([1.0] * 5)  # one call per second afterwards
    assert clock.now == pytest.approx(5.0)


def test_default_bucket_stays_under_flickr_limit_over_an_hour() -> None:
    clock = FakeClock()
    bucket = TokenBucket(clock=clock, sleep=clock.sleep)
    calls = 0
    while clock.now < 3600.0:
        bucket.acquire()
        calls += 1
    assert calls < FLICKR_CALLS_PER_HOUR
    assert calls >= 3000  # and not needlessly slow


def test_bucket_refills_while_idle() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_hour=3600, burst=2, clock=clock, sleep=clock.sleep)
    bucket.acquire(), bucket.acquire()
    clock.now += 10.0
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(1.0)


def test_bucket_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError, match="rate_per_hour > 0"):
        TokenBucket(rate_per_hour=0)


def test_backoff_grows_with_jitter_and_respects_retry_after() -> None:
    policy = RetryPolicy(attempts=6, base=1.0, cap=8.0)
    rng = random.Random(0)
    for retry, ceiling in enumerate([1, 2, 4, 8, 8]):
        delays = [policy.delay(retry, None, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert len(set(delays)) > 100  # jittered
    assert policy.delay(0, 30.0, rng) == 30.0


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0


def test_with_retries_retries_transient_then_succeeds() -> None:
    outcomes: list[object] = [TransientError("HTTP 500"), TransientError("HTTP 429", retry_after=2)]
    waits: list[float] = []

    def attempt() -> str:
        if outcomes:
            raise outcomes.pop(0)  # type: ignore[misc]
        return "ok"

    policy = RetryPolicy(attempts=3, base=0.1, cap=1.0)
    assert with_retries(attempt, policy, what="t", sleep=waits.append) == "ok"
    assert len(waits) == 2 and waits[1] >= 2.0


def test_with_retries_gives_up_with_the_count() -> None:
    def attempt() -> str:
        raise TransientError("HTTP 503")

    with pytest.raises(TransientError, match=r"HTTP 503 \(after 3 attempts\)"):
        with_retries(attempt, RetryPolicy(attempts=3, base=0), what="t", sleep=lambda s: None)


def test_with_retries_refuses_a_very_long_retry_after() -> None:
    def attempt() -> str:
        raise TransientError("HTTP 429", retry_after=7200)

    with pytest.raises(TransientError, match=r"asked to wait 7200 s.*rerun later"):
        with_retries(attempt, RetryPolicy(max_retry_after=600), what="t", sleep=lambda s: None)


def test_permanent_errors_are_not_retried() -> None:
    calls = []

    def attempt() -> str:
        calls.append(1)
        raise ValueError("bad")

    with pytest.raises(ValueError):
        with_retries(attempt, RetryPolicy(attempts=5, base=0), what="t", sleep=lambda s: None)
    assert len(calls) == 1


def test_policy_validation() -> None:
    with pytest.raises(ConfigError, match="attempts >= 1"):
        RetryPolicy(attempts=0)
