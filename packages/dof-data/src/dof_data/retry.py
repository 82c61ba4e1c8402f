"""Politeness and persistence: a token-bucket rate limit and retries with backoff and jitter.

Flickr allows 3,600 API calls per hour per key; :class:`TokenBucket` defaults to 3,000 so that
a long scrape stays under the limit with room to spare. :func:`with_retries` retries
:class:`~dof_data.errors.TransientError` (timeouts, dropped connections, HTTP 429 and 5xx) with
exponential backoff and jitter, and waits at least as long as a ``Retry-After`` header asks.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from dof_data.errors import ConfigError, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Flickr's published limit, per key.
FLICKR_CALLS_PER_HOUR = 3600


class TokenBucket:
    """At most ``rate_per_hour`` calls per hour on average, with bursts of ``burst`` calls.

    Thread-safe. Over any window of ``t`` seconds at most ``burst + rate_per_hour * t / 3600``
    calls pass, so the defaults (3,000 per hour, burst 10) stay under Flickr's 3,600.

    Args:
        rate_per_hour: long-run rate, > 0.
        burst: calls allowed back to back after an idle spell, >= 1.
        clock: monotonic seconds (injectable for tests of the arithmetic).
        sleep: how to wait.
    """

    def __init__(
        self,
        rate_per_hour: float = 3000.0,
        burst: int = 10,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_hour <= 0 or burst < 1:
            raise ConfigError(
                f"rate limit needs rate_per_hour > 0 and burst >= 1; got {rate_per_hour} and "
                f"{burst}"
            )
        self.rate = rate_per_hour / 3600.0  # tokens per second
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting if none is left. Returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate
            self._tokens -= 1.0  # may go negative: the debt is paid by the wait below
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    The wait before retry ``n`` (0-based) is ``min(cap, base * 2**n)`` scaled by a random
    factor in [0.5, 1] ("equal jitter"), and never less than the server's ``Retry-After``.

    Attributes:
        attempts: tries in all, >= 1 (1 = no retry).
        base: first backoff in seconds.
        cap: longest backoff in seconds.
        max_retry_after: a ``Retry-After`` longer than this (seconds) is not waited out: the
            call fails with a message saying to rerun later (the scrape resumes).
    """

    attempts: int = 5
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 600.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.cap < 0 or self.max_retry_after < 0:
            raise ConfigError(
                f"retry policy needs attempts >= 1 and non-negative times; got {self}"
            )

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        backoff = min(self.cap, self.base * 2.0**retry) * rng.uniform(0.5, 1.0)
        return max(backoff, retry_after or 0.0)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta seconds or an HTTP date; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``attempt`` until it returns, retrying :class:`TransientError` per ``policy``.

    Args:
        attempt: one try; raises TransientError for failures worth retrying.
        policy: attempts and backoff.
        what: a short name for log lines ("search page 3", "photo 123"), never a URL with a key.

    Raises:
        TransientError: the last failure, its reason extended with the number of attempts, when
            every attempt failed or the server asked to wait longer than ``max_retry_after``.
    """
    rng = rng or random.Random()
    for retry in range(policy.attempts):
        try:
            return attempt()
        except TransientError as err:
            if err.retry_after is not None and err.retry_after > policy.max_retry_after:
                raise TransientError(
                    f"{err.reason}; the server asked to wait {err.retry_after:.0f} s "
                    f"(Retry-After), longer than max_retry_after={policy.max_retry_after:.0f} "
                    "s: rerun later, the job resumes where it stopped",
                    retry_after=err.retry_after,
                ) from None
            if retry == policy.attempts - 1:
                raise TransientError(
                    f"{err.reason} (after {policy.attempts} attempts)", retry_after=err.retry_after
                ) from None
            wait = policy.delay(retry, err.retry_after, rng)
            log.warning("%s: %s; retry %d in %.2f s", what, err.reason, retry + 1, wait)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
