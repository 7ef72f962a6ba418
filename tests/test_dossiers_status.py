"""Dossier statuses and the transition table: labels, the default table's promises, tables of
any shape (hypothesis), loading, and the error that names both statuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgsp.dossiers import (
    DEFAULT_TRANSITIONS,
    DossierStatus,
    TransitionTable,
    check_transition,
    status_label,
)
from lgsp.errors import DossierError, LgspError
from test_dossiers_data import CODE, sync_item

S = DossierStatus
STATUSES = list(DossierStatus)
# What a dossier can only be once it was received (2): everything but 1 and 3.
AFTER_RECEIPT = set(DossierStatus) - {S.REGISTERED, S.NOT_RECEIVED}


def test_codes_and_labels_are_the_portals() -> None:
    assert [int(s) for s in DossierStatus] == list(range(1, 11))
    assert S.REGISTERED.label == "Mới đăng ký"
    assert S.SUPPLEMENT_REQUESTED.label == "Yêu cầu bổ sung giấy tờ"
    assert S.RETURNED.label == "Đã trả kết quả"
    assert S.RETURNED.describe() == "10 (Đã trả kết quả)"
    assert status_label(4) == "4 (Đang xử lý)"
    assert status_label(12) == "12 (unknown status)"
    assert str(S.RECEIVED) == "2"  # IntEnum: text as the classic adapter writes it


def test_a_dossier_cannot_be_returned_before_it_was_received() -> None:
    with pytest.raises(DossierError) as caught:
        check_transition(S.REGISTERED, S.RETURNED, dossier_code=CODE)
    error = caught.value
    assert isinstance(error, LgspError)
    assert (error.rule, error.current, error.requested) == ("dossier.transition", 1, 10)
    assert error.dossier_code == CODE
    message = str(error)
    assert "1 (Mới đăng ký)" in message
    assert "10 (Đã trả kết quả)" in message
    assert "2 (Được tiếp nhận)" in message  # what the table allows instead
    assert message.startswith(f"dossier {CODE}: ")


def test_the_default_table_row_by_row() -> None:
    table = DEFAULT_TRANSITIONS
    assert table.initial == {S.REGISTERED, S.RECEIVED, S.NOT_RECEIVED}
    assert table.successors(S.REGISTERED) == {S.RECEIVED, S.NOT_RECEIVED}
    assert table.successors(S.RECEIVED) == AFTER_RECEIPT - {S.RECEIVED}
    assert S.RETURNED in table.successors(S.RECEIVED)  # Hà Giang sends only 2 and 10
    assert table.successors(S.WITHDRAWAL_REQUESTED) == {S.PROCESSING, S.STOPPED}
    assert table.successors(S.PROCESSED) == {S.PAYMENT_REQUESTED, S.RETURNED}
    for final in (S.NOT_RECEIVED, S.STOPPED, S.RETURNED):
        assert table.is_final(final)
        assert table.allows(final, final)  # a re-send
    assert table.allows(S.PROCESSING, S.PROCESSING)
    assert not table.allows(S.PROCESSING, S.RECEIVED)
    assert not table.allows(S.RETURNED, S.PROCESSING)
    assert table.reachable() == frozenset(DossierStatus)


def _walks(table: TransitionTable) -> st.SearchStrategy[list[DossierStatus]]:
    """Status histories made only of moves the table allows, from an initial status."""

    @st.composite
    def walk(draw: st.DrawFn) -> list[DossierStatus]:
        path = [draw(st.sampled_from(sorted(table.initial)))]
        for _ in range(draw(st.integers(0, 12))):
            options = sorted(table.successors(path[-1]))
            if table.allow_repeat:
                options.append(path[-1])
            if not options:
                break
            path.append(draw(st.sampled_from(options)))
        return path

    return walk()


@settings(max_examples=300)
@given(_walks(DEFAULT_TRANSITIONS))
def test_property_legal_histories_never_reach_a_forbidden_status(
    path: list[DossierStatus],
) -> None:
    DEFAULT_TRANSITIONS.check_path(path, from_start=True)  # every step is legal...
    # ... and no status that needs a receipt comes before the receipt.
    for i, status in enumerate(path):
        if status in AFTER_RECEIPT and status is not S.RECEIVED:
            assert S.RECEIVED in path[:i], path
    assert set(path) <= DEFAULT_TRANSITIONS.reachable()


@settings(max_examples=300)
@given(st.sampled_from(STATUSES), st.sampled_from(STATUSES))
def test_property_every_illegal_pair_raises_naming_both_statuses(
    current: DossierStatus, requested: DossierStatus
) -> None:
    if DEFAULT_TRANSITIONS.allows(current, requested):
        check_transition(current, requested)
        return
    with pytest.raises(DossierError) as caught:
        check_transition(current, requested)
    message = str(caught.value)
    assert current.describe() in message
    assert requested.describe() in message
    assert (caught.value.current, caught.value.requested) == (current, requested)


_tables = st.builds(
    lambda rows, initial, repeat: TransitionTable(rows, initial=initial, allow_repeat=repeat),
    st.dictionaries(
        st.sampled_from(STATUSES), st.frozensets(st.sampled_from(STATUSES), max_size=10)
    ),
    st.frozensets(st.sampled_from(STATUSES), min_size=1, max_size=4),
    st.booleans(),
)


@settings(max_examples=200)
@given(data=st.data(), table=_tables)
def test_property_any_table_agrees_with_itself(data: st.DataObject, table: TransitionTable) -> None:
    path = data.draw(_walks(table))
    table.check_path(path, from_start=True)
    assert set(path) <= table.reachable()
    # Every pair is either allowed or refused with both statuses named.
    for current in STATUSES:
        for requested in STATUSES:
            if table.allows(current, requested):
                table.check(current, requested)
            else:
                with pytest.raises(DossierError, match=rf"\b{int(requested)} \("):
                    table.check(current, requested)
    # A table survives its JSON form.
    again = TransitionTable.from_json(json.dumps(table.to_dict()))
    assert again == table
    assert hash(again) == hash(table)


def test_a_path_that_starts_wrong_or_moves_wrong() -> None:
    with pytest.raises(DossierError, match="cannot start as 4 \\(Đang xử lý\\)"):
        DEFAULT_TRANSITIONS.check_path([S.PROCESSING, S.RETURNED], from_start=True)
    DEFAULT_TRANSITIONS.check_path([S.PROCESSING, S.RETURNED])  # a window of a history
    with pytest.raises(DossierError, match="9 \\(Đã xử lý xong\\) cannot be followed by 4"):
        DEFAULT_TRANSITIONS.check_path([S.RECEIVED, S.PROCESSED, S.PROCESSING])


def test_unknown_codes_are_never_allowed() -> None:
    assert not DEFAULT_TRANSITIONS.allows(11, 11)
    assert not DEFAULT_TRANSITIONS.allows(S.RECEIVED, 11)
    with pytest.raises(DossierError, match="11 \\(unknown status\\)"):
        check_transition(S.RECEIVED, 11)


def test_a_table_users_build_and_load() -> None:
    # A portal that takes supplement requests before receipt (1 -> 5 -> 2).
    data = DEFAULT_TRANSITIONS.to_dict()
    data["name"] = "pre-receipt supplements"
    data["transitions"]["1"].append(5)
    data["transitions"]["5"].append(2)
    table = TransitionTable.from_json(json.dumps(data).encode())
    assert table.name == "pre-receipt supplements"
    table.check_path([S.REGISTERED, S.SUPPLEMENT_REQUESTED, S.RECEIVED, S.RETURNED])
    assert table != DEFAULT_TRANSITIONS
    strict = TransitionTable({1: [2], "2": [10]}, initial=[1], allow_repeat=False)
    assert not strict.allows(2, 2)
    assert strict.is_final(10)
    assert "TransitionTable 'custom'" in repr(strict)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "a table is a JSON object"),
        ('{"initial": [1]}', "needs 'transitions'"),
        ('{"initial": [1], "transitions": {"1": 2}}', "must be an array"),
        ('{"initial": [1], "transitions": {"1": [11]}}', "11 is not a dossier status code"),
        ('{"initial": [], "transitions": {}}', "at least one initial status"),
        ('{"initial": [1], "transitions": {}, "allow_repeat": "yes"}', "true or false"),
        ('{"initial": [1], "transitions": {}, "final": [10]}', "unknown keys \\['final'\\]"),
        ('{"initial": [1], "transitions": {', "not JSON"),
    ],
)
def test_a_broken_table_is_a_dossier_error(text: str, message: str) -> None:
    with pytest.raises(DossierError, match=message) as caught:
        TransitionTable.from_json(text)
    assert caught.value.rule == "dossier.transition_table"


def test_items_are_moved_through_the_table() -> None:
    item = sync_item(status=S.RECEIVED)
    check_transition(item.status or 0, S.PROCESSING)
    updated: Any = item.model_copy(update={"status": S.PROCESSING})
    assert updated.status is S.PROCESSING
