"""What the sandbox's services share: the refusal they raise, times as the services write them,
request headers as the client sent them."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.types import Scope

T = TypeVar("T")

__all__ = [
    "VIETNAM",
    "Refusal",
    "Workers",
    "iso_time",
    "parse_date",
    "raw_headers",
    "vxp_time",
]

VIETNAM = dt.timezone(dt.timedelta(hours=7))


class Refusal(Exception):  # noqa: N818 - a refusal is the service's answer, not a bug
    """A call the sandbox refuses: the HTTP status, the service's error code, and why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries (package readers)
        return (type(self), (self.status, self.code, self.message))


def raw_headers(scope: Scope) -> list[tuple[str, str]]:
    """The request headers with values decoded as UTF-8 (latin-1 when that fails): a signed
    header's HMAC is over the UTF-8 bytes the client sent, which latin-1 would not give back."""
    out: list[tuple[str, str]] = []
    for name, value in scope["headers"]:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        out.append((name.decode("latin-1"), text))
    return out


def vxp_time(epoch: float) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Vietnam time, the form the list items carry."""
    return dt.datetime.fromtimestamp(epoch, VIETNAM).strftime("%Y-%m-%d %H:%M:%S")


def iso_time(epoch: float) -> str:
    """``xs:dateTime`` with the Vietnam offset (SOAP traces)."""
    return dt.datetime.fromtimestamp(epoch, VIETNAM).isoformat(timespec="seconds")


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
)


def parse_date(text: str, *, end: bool = False) -> float:
    """A ``fromDate``/``toDate`` filter as epoch seconds (Vietnam time). A date alone means
    the start of the day, or its end with ``end=True``; epoch milliseconds are accepted.
    Raises ValueError for anything else."""
    value = text.strip().strip('"')
    if re.fullmatch(r"\d{11,14}", value):
        return int(value) / 1000
    for fmt in _DATE_FORMATS:
        try:
            moment = dt.datetime.strptime(value, fmt).replace(tzinfo=VIETNAM)
        except ValueError:
            continue
        if end and "%H" not in fmt:
            moment += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
        return moment.timestamp()
    raise ValueError(f"{text!r} is not a date (yyyy-MM-dd, dd/MM/yyyy, yyyy/MM/dd, with time)")


class Workers:
    """Runs blocking calls (SQLite, package parsing) in worker threads, at most ``size`` at
    once, or on the event loop itself when ``size`` is 0. The work is CPU-bound and holds the
    GIL: a few threads keep the event loop free without the cost of dozens of threads taking
    the GIL from one another."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        # one limiter per event loop (a sandbox may be served by several loops in turn)
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter]
        self._limiters = weakref.WeakKeyDictionary()

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self.size <= 0:
            return fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = CapacityLimiter(self.size)
        call = functools.partial(fn, *args, **kwargs) if kwargs else fn
        return await anyio.to_thread.run_sync(call, *(() if kwargs else args), limiter=limiter)
