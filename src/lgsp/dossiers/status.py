"""Dossier statuses (TrangThaiHoSo 1–10) and the one table of the moves between them.

The codes are the national portal's (vn-contracts §4.2, "quy định bởi Cổng DVC Quốc gia"); no
public text says which moves between them are allowed (§9), so the table is data: build your own
:class:`TransitionTable`, or load one from JSON, when a portal behaves otherwise. The default
table, :data:`DEFAULT_TRANSITIONS`, is reasoned from the codes' meanings and from what real
clients send (docs/dossiers.md explains each row):

* a dossier is first *registered* online (1) or *received* at a counter (2), or refused (3);
* everything that happens to a dossier's processing (4–10) happens after it was received (2):
  the only way out of 1 is receipt (2) or refusal or withdrawal before receipt (3,
  "Không được tiếp nhận/thu hồi");
* updates are sparse (the Hà Giang client sends only 2 and 10), so after receipt any later
  stage may follow any earlier one; a finished dossier (9) may still owe fees (6) or be handed
  over (10); 3, 8 and 10 are final;
* sending the same status again is a re-send, not a move, and is allowed.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from lgsp.errors import DossierError

__all__ = [
    "DEFAULT_TRANSITIONS",
    "DossierStatus",
    "TransitionTable",
    "check_transition",
    "status_label",
]


class DossierStatus(enum.IntEnum):
    """TrangThaiHoSo of the national public-service portal (DVCQG)."""

    REGISTERED = 1  # Mới đăng ký
    RECEIVED = 2  # Được tiếp nhận
    NOT_RECEIVED = 3  # Không được tiếp nhận
    PROCESSING = 4  # Đang xử lý
    SUPPLEMENT_REQUESTED = 5  # Yêu cầu bổ sung giấy tờ
    PAYMENT_REQUESTED = 6  # Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWAL_REQUESTED = 7  # Công dân yêu cầu rút hồ sơ
    STOPPED = 8  # Dừng xử lý
    PROCESSED = 9  # Đã xử lý xong
    RETURNED = 10  # Đã trả kết quả

    @property
    def label(self) -> str:
        """The portal's Vietnamese name of the status."""
        return _LABELS[self]

    def describe(self) -> str:
        """``10 (Đã trả kết quả)``: the code and its label."""
        return f"{self.value} ({self.label})"


_LABELS = {
    DossierStatus.REGISTERED: "Mới đăng ký",
    DossierStatus.RECEIVED: "Được tiếp nhận",
    DossierStatus.NOT_RECEIVED: "Không được tiếp nhận",
    DossierStatus.PROCESSING: "Đang xử lý",
    DossierStatus.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    DossierStatus.PAYMENT_REQUESTED: "Yêu cầu thực hiện nghĩa vụ tài chính",
    DossierStatus.WITHDRAWAL_REQUESTED: "Công dân yêu cầu rút hồ sơ",
    DossierStatus.STOPPED: "Dừng xử lý",
    DossierStatus.PROCESSED: "Đã xử lý xong",
    DossierStatus.RETURNED: "Đã trả kết quả",
}


def status_label(code: int) -> str:
    """``4 (Đang xử lý)`` for a known code, ``11 (unknown status)`` otherwise."""
    try:
        return DossierStatus(code).describe()
    except ValueError:
        return f"{code} (unknown status)"


def _status(value: Any, where: str) -> DossierStatus:
    try:
        return DossierStatus(int(value))
    except (TypeError, ValueError):
        known = ", ".join(str(s.value) for s in DossierStatus)
        message = f"{where}: {value!r} is not a dossier status code ({known})"
        raise DossierError(message, rule="dossier.transition_table") from None


class TransitionTable:
    """Which status may follow which: the one place these rules live.

    ``transitions`` maps each status to the statuses that may follow it (a status missing from
    the mapping is final); ``initial`` lists the statuses a dossier may start in;
    ``allow_repeat`` lets a status follow itself (a re-send). Codes may be given as numbers,
    numeric strings (as in JSON) or :class:`DossierStatus` members.
    """

    __slots__ = ("_next", "allow_repeat", "initial", "name")

    def __init__(
        self,
        transitions: Mapping[Any, Iterable[Any]],
        *,
        initial: Iterable[Any],
        allow_repeat: bool = True,
        name: str = "custom",
    ) -> None:
        following: dict[DossierStatus, frozenset[DossierStatus]] = dict.fromkeys(
            DossierStatus, frozenset()
        )
        for source, targets in transitions.items():
            state = _status(source, "transitions")
            following[state] = frozenset(_status(t, f"transitions[{state.value}]") for t in targets)
        self._next: Mapping[DossierStatus, frozenset[DossierStatus]] = MappingProxyType(following)
        self.initial = frozenset(_status(s, "initial") for s in initial)
        if not self.initial:
            raise DossierError(
                "a table needs at least one initial status", rule="dossier.transition_table"
            )
        self.allow_repeat = allow_repeat
        self.name = name

    def __repr__(self) -> str:
        return f"<TransitionTable {self.name!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransitionTable):
            return NotImplemented
        return (self._next, self.initial, self.allow_repeat) == (
            other._next,
            other.initial,
            other.allow_repeat,
        )

    def __hash__(self) -> int:
        return hash((tuple(sorted(self._next.items())), self.initial, self.allow_repeat))

    # queries ---------------------------------------------------------------------------------

    def successors(self, status: int) -> frozenset[DossierStatus]:
        """The statuses that may follow ``status`` (not counting a repeat)."""
        try:
            return self._next[DossierStatus(status)]
        except ValueError:
            return frozenset()

    def is_final(self, status: int) -> bool:
        """True when nothing may follow ``status``."""
        return not self.successors(status)

    def allows(self, current: int, requested: int) -> bool:
        """True when a dossier in ``current`` may move to ``requested``."""
        if current == requested and self.allow_repeat and current in self._next:
            return True
        return requested in self.successors(current)

    def reachable(self, start: Iterable[int] | None = None) -> frozenset[DossierStatus]:
        """Every status reachable from ``start`` (default: the initial statuses), included."""
        seen: set[DossierStatus] = set()
        todo = [DossierStatus(s) for s in (self.initial if start is None else start)]
        while todo:
            state = todo.pop()
            if state not in seen:
                seen.add(state)
                todo.extend(self._next[state] - seen)
        return frozenset(seen)

    # checks ----------------------------------------------------------------------------------

    def check(self, current: int, requested: int, *, dossier_code: str | None = None) -> None:
        """Raise :class:`~lgsp.errors.DossierError` naming both statuses when the move is
        not allowed."""
        if self.allows(current, requested):
            return
        allowed = sorted(self.successors(current))
        options = ", ".join(s.describe() for s in allowed) if allowed else "nothing (it is final)"
        if current in self._next and self.allow_repeat:
            options += f"; or {current} again (a re-send)"
        message = (
            f"status {status_label(current)} cannot be followed by {status_label(requested)}; "
            f"table {self.name!r} allows after {int(current)}: {options}"
        )
        raise DossierError(
            message,
            rule="dossier.transition",
            dossier_code=dossier_code,
            current=current,
            requested=requested,
        )

    def check_start(self, status: int, *, dossier_code: str | None = None) -> None:
        """Raise DossierError when a dossier may not start in ``status``."""
        if status in self.initial:
            return
        starts = ", ".join(s.describe() for s in sorted(self.initial))
        raise DossierError(
            f"a dossier cannot start as {status_label(status)}; table {self.name!r} starts "
            f"with {starts}",
            rule="dossier.transition",
            dossier_code=dossier_code,
            requested=status,
        )

    def check_path(
        self,
        statuses: Iterable[int],
        *,
        from_start: bool = False,
        dossier_code: str | None = None,
    ) -> None:
        """Check every move of a status history; ``from_start`` also checks its first status."""
        previous: int | None = None
        for status in statuses:
            if previous is None:
                if from_start:
                    self.check_start(status, dossier_code=dossier_code)
            else:
                self.check(previous, status, dossier_code=dossier_code)
            previous = status

    # building and loading --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-able data, the form :meth:`from_dict` reads."""
        return {
            "name": self.name,
            "initial": sorted(s.value for s in self.initial),
            "allow_repeat": self.allow_repeat,
            "transitions": {
                str(s.value): sorted(t.value for t in targets) for s, targets in self._next.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransitionTable:
        """A table from ``{"initial": [...], "transitions": {"1": [2, 3], ...}}`` (plus the
        optional ``allow_repeat`` and ``name``)."""
        unknown = set(data) - {"name", "initial", "allow_repeat", "transitions"}
        if unknown:
            message = f"unknown keys {sorted(unknown)}; a table has initial, transitions, "
            message += "allow_repeat and name"
            raise DossierError(message, rule="dossier.transition_table")
        transitions = data.get("transitions")
        initial = data.get("initial")
        if not isinstance(transitions, Mapping) or not isinstance(initial, list):
            message = "a table needs 'transitions' (an object) and 'initial' (an array)"
            raise DossierError(message, rule="dossier.transition_table")
        for source, targets in transitions.items():
            if not isinstance(targets, list):
                message = f"transitions[{source}] must be an array of status codes"
                raise DossierError(message, rule="dossier.transition_table")
        repeat = data.get("allow_repeat", True)
        if not isinstance(repeat, bool):
            raise DossierError(
                "allow_repeat must be true or false", rule="dossier.transition_table"
            )
        return cls(
            transitions,
            initial=initial,
            allow_repeat=repeat,
            name=str(data.get("name", "custom")),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> TransitionTable:
        """A table from its JSON text (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            raise DossierError(message, rule="dossier.transition_table") from exc
        if not isinstance(data, dict):
            raise DossierError("a table is a JSON object", rule="dossier.transition_table")
        return cls.from_dict(data)


_S = DossierStatus
_ACTIVE = {_S.PROCESSING, _S.SUPPLEMENT_REQUESTED, _S.PAYMENT_REQUESTED}
_ENDINGS = {_S.STOPPED, _S.PROCESSED, _S.RETURNED}

DEFAULT_TRANSITIONS = TransitionTable(
    {
        _S.REGISTERED: {_S.RECEIVED, _S.NOT_RECEIVED},
        _S.RECEIVED: {*_ACTIVE, _S.WITHDRAWAL_REQUESTED, *_ENDINGS},
        _S.PROCESSING: {*_ACTIVE, _S.WITHDRAWAL_REQUESTED, *_ENDINGS} - {_S.PROCESSING},
        _S.SUPPLEMENT_REQUESTED: {*_ACTIVE, _S.WITHDRAWAL_REQUESTED, *_ENDINGS}
        - {_S.SUPPLEMENT_REQUESTED},
        _S.PAYMENT_REQUESTED: {*_ACTIVE, _S.WITHDRAWAL_REQUESTED, *_ENDINGS}
        - {_S.PAYMENT_REQUESTED},
        # A withdrawal request ends processing (8) or is turned down (back to 4).
        _S.WITHDRAWAL_REQUESTED: {_S.PROCESSING, _S.STOPPED},
        # Fees can be due once the work is done (land procedures); then the hand-over.
        _S.PROCESSED: {_S.PAYMENT_REQUESTED, _S.RETURNED},
        # 3 (refused or withdrawn before receipt), 8 (stopped), 10 (returned): final.
    },
    initial={_S.REGISTERED, _S.RECEIVED, _S.NOT_RECEIVED},
    allow_repeat=True,
    name="default",
)
"""The default table (module docstring and docs/dossiers.md give its reasoning)."""


def check_transition(
    current: int,
    requested: int,
    *,
    table: TransitionTable = DEFAULT_TRANSITIONS,
    dossier_code: str | None = None,
) -> None:
    """Raise DossierError when ``table`` does not let ``current`` move to ``requested``."""
    table.check(current, requested, dossier_code=dossier_code)
