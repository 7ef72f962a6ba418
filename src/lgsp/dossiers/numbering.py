"""Dossier codes: the next code per receiving unit and day, in memory and thread-safe.

The token API's ``GetNextValue?code=<unit>`` hands out ``<unit>-<yyyyMMdd>-<7-digit sequence>``
(vn-contracts §4.3, ``G09.20-20260609-0092637``); a system that numbers its own dossiers needs
the same: one counter per unit and day, never a code twice. :class:`DossierCodeAllocator` is
that counter for one process. It keeps no file: seed it from your store at start-up
(:meth:`~DossierCodeAllocator.seed`), or let the portal number dossiers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from lgsp.codes import DEFAULT_DOSSIER_PATTERN, DossierCode, DossierCodePattern
from lgsp.dossiers.formats import VIETNAM_TZ
from lgsp.errors import CodeError

__all__ = ["DossierCodeAllocator"]


def _today() -> dt.date:
    return dt.datetime.now(VIETNAM_TZ).date()


class DossierCodeAllocator:
    """Issues dossier codes with ``pattern``, one sequence per (unit, day), from 1.

    ``today`` gives the day when none is passed (default: today in Vietnam time). Codes are
    checked by the pattern: a unit that is not an organ code, or a sequence past the pattern's
    width, raises :class:`~lgsp.errors.CodeError` and uses up no number.
    """

    __slots__ = ("_last", "_lock", "pattern", "today")

    def __init__(
        self,
        pattern: DossierCodePattern = DEFAULT_DOSSIER_PATTERN,
        *,
        today: Callable[[], dt.date] = _today,
    ) -> None:
        self.pattern = pattern
        self.today = today
        self._last: dict[tuple[str, dt.date], int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DossierCodeAllocator({self.pattern!r}, {len(self._last)} counters)"

    def next(self, unit: str, day: dt.date | None = None) -> str:
        """The next code of ``unit`` for ``day`` (default: today)."""
        when = self.today() if day is None else day
        with self._lock:
            sequence = self._last.get((unit, when), 0) + 1
            code = self.pattern.format(unit, when, sequence)  # raises before the number is used
            self._last[unit, when] = sequence
        return code

    def last(self, unit: str, day: dt.date | None = None) -> int:
        """The last sequence issued to ``unit`` for ``day`` (0 when none)."""
        when = self.today() if day is None else day
        with self._lock:
            return self._last.get((unit, when), 0)

    def seed(self, unit: str, day: dt.date, last_sequence: int) -> None:
        """Continue ``unit``'s numbering for ``day`` after ``last_sequence`` (e.g. at start-up).

        A counter never goes back: seeding below what was already issued is ignored.
        """
        if last_sequence < 0:
            message = "the last sequence issued cannot be negative"
            raise CodeError("dossier.sequence", str(last_sequence), message)
        with self._lock:
            key = (unit, day)
            self._last[key] = max(self._last.get(key, 0), last_sequence)

    def observe(self, code: str) -> DossierCode:
        """Record a code issued elsewhere (read back from storage) so it is never reissued."""
        parsed = self.pattern.parse(code)
        self.seed(parsed.unit, parsed.date, parsed.sequence)
        return parsed

    def forget_before(self, day: dt.date) -> int:
        """Drop the counters of days before ``day``; how many were dropped."""
        with self._lock:
            old = [key for key in self._last if key[1] < day]
            for key in old:
                del self._last[key]
        return len(old)
