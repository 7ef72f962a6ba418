"""Retries that never duplicate: the call flow every client operation runs through.

:func:`call` sends one logical call: auth schemes prepare it, failures that are safe to retry
are retried with exponential backoff and full jitter (``Retry-After`` honoured), lapsed
credentials are renewed once. Every attempt carries the same message id and body; only the
auth headers (a fresh VXP timestamp, a new token) change.

What is safe to retry:

* the request never left (connection refused, pool timeout) — always;
* the remote refused it unprocessed (HTTP 429, 503) — always;
* anything else (a timeout or reset after sending, 500, 502, 504, an unreadable answer) — only
  when the operation is idempotent (reads, acknowledgements, or a send the receiver
  deduplicates by payload hash).
"""

from __future__ import annotations

import dataclasses
import email.utils
import random
import time
from collections.abc import Callable, Generator, Sequence
from typing import Any

from lgsp.errors import TransportError
from lgsp.transports.auth import Auth
from lgsp.transports.base import Request, Response
from lgsp.transports.flow import Effect, Sleep

__all__ = ["RetryPolicy", "call", "parse_retry_after"]

#: Statuses that mean "not processed, come back later".
REFUSED_STATUSES = frozenset({429, 503})
#: Statuses worth retrying when the call is idempotent.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts, how long between them. ``max_attempts=1`` disables retries."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    respect_retry_after: bool = True
    max_retry_after: float = 120.0
    jitter: str = "full"
    rng: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        """Exponential backoff, ``ceiling = min(max_delay, base·2^(attempt-1))``, with jitter:
        ``full`` picks in [0, ceiling] (spreads a crowd best), ``equal`` in [ceiling/2,
        ceiling], ``none`` waits the ceiling."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (max(attempt, 1) - 1))
        if self.jitter == "none":
            return ceiling
        if self.jitter == "equal":
            return ceiling / 2 + ceiling / 2 * self.rng()
        return ceiling * self.rng()

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """The pause before the next attempt, or ``None`` when the remote asks for longer
        than ``max_retry_after`` (the caller, or the outbox, comes back later instead)."""
        pause = self.backoff(attempt)
        if retry_after is not None and self.respect_retry_after:
            if retry_after > self.max_retry_after:
                return None
            pause = max(pause, retry_after)
        return pause

    def status_retry_safe(self, status: int, *, idempotent: bool) -> bool:
        if status in REFUSED_STATUSES:
            return True
        return idempotent and status in TRANSIENT_STATUSES

    @staticmethod
    def error_retry_safe(error: TransportError, *, idempotent: bool) -> bool:
        return not error.sent or idempotent


def _authorize(request: Request, auths: Sequence[Auth]) -> Generator[Effect, Any, Request]:
    for auth in auths:
        request = yield from auth.prepare(request)
    return request


def call(
    request: Request,
    *,
    auth: Sequence[Auth] = (),
    policy: RetryPolicy = RetryPolicy(),
    idempotent: bool = False,
) -> Generator[Effect, Any, Response]:
    """Send ``request`` with auth and retries; return the final response (any status).

    A :class:`~lgsp.errors.TransportError` is re-raised once retrying is no longer safe or the
    attempts are spent; a response with an error status is returned for the codec to read
    (the codec knows the service's error format). ``response.request.meta['attempt']`` tells
    how many attempts it took; ``response.retry_safe`` whether one more would be safe.
    """
    attempt = 0
    renewed = False
    while True:
        attempt += 1
        prepared = yield from _authorize(request.with_meta(attempt=attempt), auth)
        try:
            response: Response = yield prepared
        except TransportError as exc:
            safe = policy.error_retry_safe(exc, idempotent=idempotent)
            if not safe or attempt >= policy.max_attempts:
                raise
            pause = policy.delay(attempt, None)
            yield Sleep(pause or 0.0)
            continue
        if not renewed:
            for scheme in auth:
                if (yield from scheme.should_retry(prepared, response)):
                    renewed = True
                    break
            if renewed:
                response.close()
                attempt -= 1  # a credential renewal is not a failed attempt
                continue
        status = response.status_code
        safe = policy.status_retry_safe(status, idempotent=idempotent)
        response.request = prepared
        response.retry_safe = safe or idempotent
        if status < 400 or status in (401, 403) or not safe:
            return response
        retry_after = parse_retry_after(response.header("retry-after"))
        pause = policy.delay(attempt, retry_after)
        if attempt >= policy.max_attempts or pause is None:
            return response
        response.close()
        yield Sleep(pause)
