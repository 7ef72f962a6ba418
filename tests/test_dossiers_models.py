"""Dossier payload models: round trips through the wire JSON of each target, unknown fields
kept, dates and LoaiDoiTuong per target, tolerant reading."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgsp.dossiers import (
    CLASSIC,
    PAYLOADS,
    TARGETS,
    TOKEN,
    VIETNAM_TZ,
    ApplicantKind,
    DateFormat,
    DateRole,
    DossierStatus,
    DossierSyncItem,
    DossierSyncRequest,
    Fee,
    ProgressUpdate,
    StatusUpdate,
    SubmitterDetails,
    Target,
    WireModel,
    detect_kind,
    dump_payload,
    load_payload,
    parse_civil_date,
    parse_datetime,
    resolve_target,
)
from lgsp.errors import DossierError, ValidationError
from test_dossiers_data import (
    PAYLOAD_BUILDERS,
    at,
    creation,
    progress_update,
    status_update,
    sync_item,
    sync_request,
)

ALL_TARGETS = sorted(TARGETS)


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ALL_TARGETS)
@pytest.mark.parametrize(("name", "build", "native"), PAYLOAD_BUILDERS)
def test_every_payload_round_trips_through_its_wire_json(
    name: str, build: Any, native: str, target: str
) -> None:
    classic_creation = (name, target) == ("creation", "classic")
    # A household business has no classic LoaiDoiTuong: written as a business there.
    payload: WireModel = creation_for_classic() if classic_creation else build()
    text = payload.to_wire_json(target)
    back = type(payload).from_wire(text, target=target)
    assert back == payload
    # The dict form and the JSON form agree, and reading the dict gives the same model.
    assert json.loads(text) == payload.to_wire(target)
    assert type(payload).from_wire(payload.to_wire(target), target=target) == payload
    # Written again, the same bytes.
    assert back.to_wire_json(target) == text


@pytest.mark.parametrize("target", ALL_TARGETS)
@pytest.mark.parametrize(("name", "build", "native"), PAYLOAD_BUILDERS)
def test_unknown_fields_are_kept_at_every_level(
    name: str, build: Any, native: str, target: str
) -> None:
    if target == "classic" and name == "creation":
        build = creation_for_classic
    wire = build().to_wire(target)
    wire["TruongMoi"] = {"nested": [1, "hai", {"ba": True}]}
    wire["SoMoi"] = 3.5
    nested_key = next((k for k, v in wire.items() if isinstance(v, list) and v), None)
    if nested_key is not None and isinstance(wire[nested_key][0], dict):
        wire[nested_key][0]["ThuocTinhLa"] = "giữ nguyên"
    model = PAYLOADS[name].model.from_wire(wire, target=target)
    assert model.model_extra == {"TruongMoi": {"nested": [1, "hai", {"ba": True}]}, "SoMoi": 3.5}
    again = model.to_wire(target)
    assert again["TruongMoi"] == wire["TruongMoi"]
    assert again["SoMoi"] == 3.5
    if nested_key is not None and isinstance(wire[nested_key][0], dict):
        assert again[nested_key][0]["ThuocTinhLa"] == "giữ nguyên"
    assert PAYLOADS[name].model.from_wire(json.dumps(again), target=target) == model


def creation_for_classic(**overrides: Any) -> WireModel:
    model = creation(applicant_kind=ApplicantKind.BUSINESS, **overrides)
    assert model.submitter is not None
    model.submitter.applicant_kind = ApplicantKind.BUSINESS
    return model


def test_neutral_dump_round_trips_without_a_target() -> None:
    item = sync_item(Ghi="thêm")
    data = item.model_dump(mode="json")
    assert data["received_at"] == "2026-06-09T08:30:15+07:00"
    assert data["applicant_kind"] == "citizen"
    assert DossierSyncItem.model_validate(data) == item


# hypothesis: any values the models hold survive each target's wire JSON
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_FIRST = dt.datetime(1000, 1, 1)  # noqa: DTZ001 - hypothesis bounds are naive
_LAST = dt.datetime(9999, 12, 31)  # noqa: DTZ001
_moment = st.datetimes(min_value=_FIRST, max_value=_LAST).map(
    lambda d: d.replace(microsecond=0, tzinfo=VIETNAM_TZ)
)
_status = st.one_of(st.sampled_from(list(DossierStatus)), st.integers(11, 99))


@settings(max_examples=150, deadline=None)
@given(
    target=st.sampled_from(ALL_TARGETS),
    code=_text,
    owner=st.one_of(st.none(), _text),
    received=st.one_of(st.none(), _moment),
    due=st.one_of(st.none(), _moment),
    status=st.one_of(st.none(), _status),
    kind=st.one_of(st.none(), st.sampled_from([ApplicantKind.CITIZEN, ApplicantKind.BUSINESS])),
    deleted=st.one_of(st.none(), st.booleans()),
    amount=st.one_of(st.none(), st.integers(-(10**12), 10**12)),
)
def test_property_sync_item_round_trips(
    *,
    target: str,
    code: str,
    owner: str | None,
    received: dt.datetime | None,
    due: dt.datetime | None,
    status: int | None,
    kind: ApplicantKind | None,
    deleted: bool | None,
    amount: int | None,
) -> None:
    item = DossierSyncItem(
        code=code,
        owner_name=owner,
        received_at=received,
        due_at=due,
        status=status,
        applicant_kind=kind,
        fees=[Fee(name="x", amount=amount)],
        submitted_files=[{"TenTepDinhKem": "a", "IsDeleted": deleted}],
    )
    assert DossierSyncItem.from_wire(item.to_wire_json(target), target=target) == item


@settings(max_examples=100, deadline=None)
@given(
    target=st.sampled_from(ALL_TARGETS),
    when=_moment,
    born=st.dates(min_value=dt.date(1000, 1, 1)),
    status=_status,
)
def test_property_token_payloads_round_trip(
    target: str, when: dt.datetime, born: dt.date, status: int
) -> None:
    update = progress_update(handled_at=when, started_at=when, due_at=when, status=status)
    assert ProgressUpdate.from_wire(update.to_wire_json(target), target=target) == update
    details = SubmitterDetails(name="A", birth_date=born, id_issued_on=born)
    assert SubmitterDetails.from_wire(details.to_wire(target), target=target) == details
    change = status_update(status=status)
    assert StatusUpdate.from_wire(change.to_wire(target), target=target) == change


# --- dates per target -----------------------------------------------------------------------


def test_classic_writes_every_date_compact_in_vietnam_time() -> None:
    item = sync_item(received_at=dt.datetime(2026, 6, 9, 1, 30, 15, tzinfo=dt.UTC))
    wire = item.to_wire("classic")
    assert wire["NgayTiepNhan"] == "20260609083015"  # 01:30 UTC is 08:30 in Vietnam
    assert wire["NgayHenTra"] == "20260623170000"
    assert wire["DanhSachHoSoBoSung"][0]["NgayBoSung"] == "20260611080000"
    progress = progress_update(handled_at=at(10, 14, 5, 9))
    assert progress.to_wire("classic")["ThoiDiemXuLy"] == "20260610140509"


def test_token_writes_iso_for_events_spaced_for_records_compact_for_civil_dates() -> None:
    update = progress_update(handled_at=at(10, 14, 5, 9)).to_wire("token")
    assert update["ThoiDiemXuLy"] == "2026-06-10T14:05:09+07:00"
    assert update["NgayBatDau"] == "2026-06-10T14:00:00+07:00"
    body = creation().to_wire("token")
    assert body["NgayNop"] == "2026-06-09 08:00:00"
    assert body["NgayTiepNhan"] == "2026-06-09 08:30:00"
    details = body["ThongTinNguoiNop"]["ThongTinChiTiet"]
    assert details["NgaySinh"] == "19900115000000"
    assert details["NgayCapDinhDanh"] == "20210304000000"


def test_target_table_is_the_documented_one() -> None:
    assert dict(CLASSIC.dates) == dict.fromkeys(DateRole, DateFormat.COMPACT)
    assert TOKEN.dates[DateRole.EVENT] is DateFormat.ISO
    assert TOKEN.dates[DateRole.RECORD] is DateFormat.SPACED
    assert TOKEN.dates[DateRole.CIVIL] is DateFormat.COMPACT
    assert resolve_target("token") is TOKEN
    assert resolve_target(CLASSIC) is CLASSIC
    with pytest.raises(DossierError, match="unknown target 'soap'"):
        resolve_target("soap")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260609083015", dt.datetime(2026, 6, 9, 8, 30, 15, tzinfo=VIETNAM_TZ)),
        ("2026-06-09 08:30:15", dt.datetime(2026, 6, 9, 8, 30, 15, tzinfo=VIETNAM_TZ)),
        ("2026-06-09T08:30:15+07:00", dt.datetime(2026, 6, 9, 8, 30, 15, tzinfo=VIETNAM_TZ)),
        ("2026-06-09T01:30:15Z", dt.datetime(2026, 6, 9, 8, 30, 15, tzinfo=VIETNAM_TZ)),
        ("2026-06-09T08:30:15.678", dt.datetime(2026, 6, 9, 8, 30, 15, tzinfo=VIETNAM_TZ)),
        ("20260609", dt.datetime(2026, 6, 9, tzinfo=VIETNAM_TZ)),
        ("", None),
    ],
)
def test_dates_are_read_in_any_known_form_whatever_the_target(
    text: str, expected: dt.datetime | None
) -> None:
    assert parse_datetime(text) == expected
    for target in ALL_TARGETS:
        item = DossierSyncItem.from_wire({"NgayTiepNhan": text}, target=target)
        assert item.received_at == expected
        if expected is not None:
            assert item.received_at is not None
            assert item.received_at.utcoffset() == dt.timedelta(hours=7)


def test_naive_datetimes_are_vietnam_time_and_fractions_are_dropped() -> None:
    naive = dt.datetime(2026, 6, 9, 8, 30, 15, 999_999)  # noqa: DTZ001 - naive on purpose
    item = DossierSyncItem(received_at=naive)
    assert item.received_at == at(9, 8, 30, 15)
    assert item.to_wire("token")["NgayTiepNhan"] == "2026-06-09 08:30:15"


@pytest.mark.parametrize("text", ["2026-13-01 08:00:00", "20260230083015", "hôm qua", "1717900000"])
def test_unreadable_dates_are_dossier_date_findings(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DossierSyncItem.from_wire({"NgayHenTra": text}, target="classic")
    (finding,) = caught.value.findings
    assert (finding.rule, finding.location) == ("dossier.date", "NgayHenTra")
    assert repr(text) in finding.message


def test_civil_dates() -> None:
    assert parse_civil_date("19900115000000") == dt.date(1990, 1, 15)
    assert parse_civil_date("1990-01-15") == dt.date(1990, 1, 15)
    assert parse_civil_date(dt.date(1990, 1, 15)) == dt.date(1990, 1, 15)
    assert DateFormat.ISO.write_date(dt.date(1990, 1, 15)) == "1990-01-15"
    assert DateFormat.SPACED.write_date(dt.date(1990, 1, 15)) == "1990-01-15 00:00:00"
    with pytest.raises(ValueError, match="not a date"):
        parse_civil_date("15/01/1990")


def test_date_formats_match_only_their_own_form() -> None:
    assert DateFormat.COMPACT.matches("20260609083015")
    assert not DateFormat.COMPACT.matches("20261309083015")
    assert DateFormat.SPACED.matches("2026-06-09 08:30:15")
    assert not DateFormat.SPACED.matches("2026-06-09T08:30:15")
    assert DateFormat.ISO.matches("2026-06-09T08:30:15+07:00")
    assert DateFormat.ISO.matches("2026-06-09T08:30:15.5Z")
    assert not DateFormat.ISO.matches("2026-06-09T08:30:15")
    assert DateFormat.COMPACT.matches("19900115000000", date_only=True)
    assert not DateFormat.COMPACT.matches("19900115083000", date_only=True)


def test_years_before_1000_are_zero_padded() -> None:
    early = dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=VIETNAM_TZ)
    assert DateFormat.COMPACT.write(early) == "09990102030405"


# --- LoaiDoiTuong and scalars per target ----------------------------------------------------


@pytest.mark.parametrize(
    ("target", "kind", "wire"),
    [
        ("classic", ApplicantKind.CITIZEN, "1"),
        ("classic", ApplicantKind.BUSINESS, "2"),
        ("token", ApplicantKind.CITIZEN, 0),
        ("token", ApplicantKind.BUSINESS, 1),
        ("token", ApplicantKind.HOUSEHOLD_BUSINESS, 2),
    ],
)
def test_applicant_kind_is_coded_per_target(
    target: str, kind: ApplicantKind, wire: int | str
) -> None:
    assert sync_item(applicant_kind=kind).to_wire(target)["LoaiDoiTuong"] == wire
    item = DossierSyncItem.from_wire({"LoaiDoiTuong": wire}, target=target)
    assert item.applicant_kind is kind
    # Numbers and text are both read, whatever the target writes.
    other = str(wire) if isinstance(wire, int) else int(wire)
    assert DossierSyncItem.from_wire({"LoaiDoiTuong": other}, target=target).applicant_kind is kind


def test_the_same_code_means_another_kind_in_each_target() -> None:
    assert DossierSyncItem.from_wire({"LoaiDoiTuong": 1}, target="classic").applicant_kind is (
        ApplicantKind.CITIZEN
    )
    assert DossierSyncItem.from_wire({"LoaiDoiTuong": 1}, target="token").applicant_kind is (
        ApplicantKind.BUSINESS
    )


def test_unknown_applicant_codes_are_kept_raw() -> None:
    item = DossierSyncItem.from_wire({"LoaiDoiTuong": "0"}, target="classic")
    assert item.applicant_kind == 0
    assert not isinstance(item.applicant_kind, ApplicantKind)
    assert item.to_wire("classic")["LoaiDoiTuong"] == "0"
    assert DossierSyncItem(applicant_kind=1).applicant_kind == 1  # no target: a raw code
    with pytest.raises(ValidationError, match="not an applicant kind"):
        DossierSyncItem.from_wire({"LoaiDoiTuong": "hộ gia đình"}, target="classic")


def test_a_household_business_cannot_be_written_for_the_classic_target() -> None:
    item = sync_item(applicant_kind=ApplicantKind.HOUSEHOLD_BUSINESS)
    with pytest.raises(DossierError, match="classic target has no LoaiDoiTuong for hộ kinh doanh"):
        item.to_wire("classic")
    with pytest.raises(DossierError) as caught:
        item.to_wire_json("classic")
    assert caught.value.rule == "dossier.write"
    assert item.to_wire("token")["LoaiDoiTuong"] == 2


def test_classic_writes_numbers_and_flags_as_text_token_as_json() -> None:
    classic = sync_request().to_wire("classic")
    token = sync_request().to_wire("token")
    assert classic["isUpdating"] == "False"
    assert token["isUpdating"] is False
    item_c, item_t = classic["data"][0], token["data"][0]
    assert (item_c["TrangThaiHoSo"], item_t["TrangThaiHoSo"]) == ("10", 10)
    assert (item_c["HinhThuc"], item_t["HinhThuc"]) == ("0", 0)
    assert item_c["TaiLieuNop"][0]["IsDeleted"] == "False"
    assert item_t["TaiLieuNop"][0]["IsDeleted"] is False
    assert (item_c["DanhSachLePhi"][0]["Gia"], item_t["DanhSachLePhi"][0]["Gia"]) == (
        "75000",
        75000,
    )


def test_statuses_are_read_as_members_and_unknown_ones_kept() -> None:
    assert DossierSyncItem.from_wire({"TrangThaiHoSo": "2"}).status is DossierStatus.RECEIVED
    assert DossierSyncItem.from_wire({"TrangThaiHoSo": 9}).status is DossierStatus.PROCESSED
    unknown = DossierSyncItem.from_wire({"TrangThaiHoSo": "12"})
    assert unknown.status == 12
    assert unknown.to_wire("classic")["TrangThaiHoSo"] == "12"
    with pytest.raises(ValidationError, match="not a DossierStatus code"):
        DossierSyncItem.from_wire({"TrangThaiHoSo": True})


def test_blank_classic_values_read_as_absent_dates_and_are_left_out() -> None:
    # OpenCPS sends "" for dates it does not have.
    item = DossierSyncItem.from_wire({"MaHoSo": CODE_X, "NgayTra": "", "GhiChu": ""})
    assert item.returned_at is None
    wire = item.to_wire("classic")
    assert "NgayTra" not in wire
    assert wire["GhiChu"] == ""


CODE_X = "000.00.12.H49-20260609-0000001"


def test_token_dossier_id_spellings_are_both_read() -> None:
    assert ProgressUpdate.from_wire({"IdHoSo": "x"}, target="token").dossier_id == "x"
    assert ProgressUpdate.from_wire({"IDHoSo": "x"}, target="token").to_wire("token") == {
        "IDHoSo": "x"
    }
    assert StatusUpdate.from_wire({"IDHoSo": "y"}, target="token").to_wire("token") == {
        "IdHoSo": "y"
    }


def test_numbers_sent_for_text_fields_are_read_as_text() -> None:
    item = DossierSyncItem.from_wire({"MaDoiTuong": 1099012345, "SoDienThoai": 912345678})
    assert (item.applicant_id, item.phone) == ("1099012345", "912345678")


def test_a_custom_target() -> None:
    portal = Target(
        "province",
        dates=dict.fromkeys(DateRole, DateFormat.ISO),
        applicant_codes={ApplicantKind.CITIZEN: 10, ApplicantKind.BUSINESS: 20},
        text_scalars=False,
    )
    item = sync_item(applicant_kind=ApplicantKind.BUSINESS)
    wire = item.to_wire(portal)
    assert wire["NgayTiepNhan"] == "2026-06-09T08:30:15+07:00"
    assert wire["LoaiDoiTuong"] == 20
    assert DossierSyncItem.from_wire(wire, target=portal) == item
    with pytest.raises(DossierError, match="two applicant kinds one code"):
        Target(
            "bad",
            dates=dict.fromkeys(DateRole, DateFormat.ISO),
            applicant_codes={ApplicantKind.CITIZEN: 1, ApplicantKind.BUSINESS: 1},
            text_scalars=False,
        )
    with pytest.raises(DossierError, match="no date format for civil"):
        Target(
            "bad",
            dates={DateRole.EVENT: DateFormat.ISO, DateRole.RECORD: DateFormat.ISO},
            applicant_codes={},
            text_scalars=False,
        )


def test_models_are_built_by_python_name_or_wire_name() -> None:
    by_name = DossierSyncItem(code=CODE_X, status=DossierStatus.RECEIVED)
    by_wire = DossierSyncItem.model_validate({"MaHoSo": CODE_X, "TrangThaiHoSo": 2})
    assert by_name == by_wire


# --- payload kinds --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "build", "native"), PAYLOAD_BUILDERS)
def test_every_payload_kind_is_detected_from_its_wire_keys(
    name: str, build: Any, native: str
) -> None:
    wire = build().to_wire(native)
    kind, many = detect_kind(wire, target=native)
    assert (kind.name, many) == (name, False)
    if not kind.body:
        kind, many = detect_kind([wire, wire], target=native)
        assert (kind.name, many) == (name, True)
    loaded = load_payload(wire, target=native)
    assert loaded == build()


def test_load_and_dump_an_array_payload() -> None:
    updates = [progress_update(), progress_update(status=DossierStatus.PROCESSED)]
    wire = dump_payload(updates, target="token")
    assert isinstance(wire, list)
    assert load_payload(wire, target="token") == updates
    assert load_payload(wire, target="token", kind="progress-update") == updates


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"x": 1}, "no dossier payload has these keys"),
        ("text", "a JSON string is not a dossier payload"),
        ([1, 2], "an array of no objects"),
        ([sync_request().to_wire("classic")], "an array of sync-request bodies"),
        ({"service": "LayThuTuc", "maTTHC": "1.005129"}, "no dossier payload has these keys"),
    ],
)
def test_what_is_no_payload_is_a_dossier_error(data: Any, message: str) -> None:
    with pytest.raises(DossierError, match=message) as caught:
        detect_kind(data)
    assert caught.value.rule == "dossier.kind"


def test_progress_steps_without_an_id_are_read_as_the_target_writes_them() -> None:
    step = {"MaHoSo": CODE_X, "NguoiXuLy": "A", "TrangThai": "4"}
    assert detect_kind(step, target="classic")[0].name == "progress-item"
    assert detect_kind(step, target="token")[0].name == "progress-update"


def test_from_wire_reports_malformed_json() -> None:
    with pytest.raises(ValidationError) as caught:
        DossierSyncRequest.from_wire(b'{"session": ', target="classic")
    assert caught.value.findings[0].rule == "dossier.json"


# --- the public API -------------------------------------------------------------------------


def test_public_api_is_sorted_complete_and_importable() -> None:
    import importlib
    import inspect

    import lgsp.dossiers as package

    exported = list(package.__all__)
    group = lambda n: (0 if n.isupper() else 1 if n[:1].isupper() else 2, n)  # noqa: E731
    assert exported == sorted(exported, key=group)
    for name in exported:
        assert hasattr(package, name), name
    for module_name in ("models", "token_models", "status", "formats"):
        module = importlib.import_module(f"lgsp.dossiers.{module_name}")
        public = {
            n
            for n, obj in vars(module).items()
            if inspect.isclass(obj) and obj.__module__ == module.__name__ and not n.startswith("_")
        }
        assert public <= set(exported), public - set(exported)


def test_writing_goes_through_the_wire_classes_without_warnings() -> None:
    # The wire classes serialise the models' instances: pydantic must take them as they are
    # (a fallback to inference would write ISO dates and numbers, and warn).
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, build, _native in PAYLOAD_BUILDERS:
            for target in ALL_TARGETS:
                classic_creation = (name, target) == ("creation", "classic")
                payload = creation_for_classic() if classic_creation else build()
                payload.to_wire_json(target)
                payload.to_wire(target)


def test_lookup_response_success_codes() -> None:
    from lgsp.dossiers import DossierLookupResponse

    assert DossierLookupResponse.from_wire({"error_code": 0, "result": []}).succeeded
    assert DossierLookupResponse.from_wire({"error_code": "00", "result": []}).succeeded
    failed = DossierLookupResponse.from_wire({"error_code": "-1", "message": "Sai phiên"})
    assert not failed.succeeded
    assert DossierLookupResponse.from_wire({"error_code": 0}).to_wire("token")["error_code"] == 0
