"""validate_dossier: a negative case for every rule, both profiles, items, arrays and bodies,
and the builders that refuse to build what the contract does not allow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lgsp.dossiers import (
    RULES,
    ApplicantKind,
    DossierStatus,
    Fee,
    SubmitterDetails,
    TransitionTable,
    build_lookup_request,
    build_progress_request,
    build_sync_request,
    check_dossier,
    validate_dossier,
)
from lgsp.errors import DossierError, ValidationError
from lgsp.findings import Finding
from test_dossiers_data import (
    CODE,
    at,
    creation,
    progress_item,
    progress_request,
    progress_update,
    status_update,
    sync_item,
    sync_request,
)


def rules_of(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.rule, f.location) for f in findings}


def classic(**overrides: Any) -> dict[str, Any]:
    """The sample item as the classic target writes it, with wire-name overrides."""
    wire = sync_item().to_wire("classic")
    wire.update(overrides)
    return wire


# One payload per rule that breaks it (and only rules it is about), with the target and the
# expected (rule, location).
NEGATIVE: dict[str, tuple[Any, str, tuple[str, str]]] = {
    "dossier.json": ({}, "classic", ("dossier.json", "")),  # see test_malformed_json_text
    "dossier.type": (classic(HinhThuc="bưu điện"), "classic", ("dossier.type", "HinhThuc")),
    "dossier.date": (classic(NgayTra="22/06/2026"), "classic", ("dossier.date", "NgayTra")),
    "dossier.required": (classic(MaTTHC=""), "classic", ("dossier.required", "MaTTHC")),
    "dossier.recommended": (
        {k: v for k, v in classic().items() if k != "DonViXuLy"},
        "classic",
        ("dossier.recommended", "DonViXuLy"),
    ),
    "dossier.code": (classic(MaHoSo="HS/2026/123"), "classic", ("dossier.code", "MaHoSo")),
    "dossier.procedure_code": (
        classic(MaTTHC="1.5129"),
        "classic",
        ("dossier.procedure_code", "MaTTHC"),
    ),
    "dossier.unit_code": (
        sync_request(unit_code="Sở Xây dựng").to_wire("classic"),
        "classic",
        ("dossier.unit_code", "madonvi"),
    ),
    "dossier.status": (
        classic(TrangThaiHoSo="11", NgayTra=""),
        "classic",
        ("dossier.status", "TrangThaiHoSo"),
    ),
    "dossier.status_dates": (
        classic(NgayTra=""),
        "classic",
        ("dossier.status_dates", "NgayTra"),
    ),
    "dossier.transition": (
        [
            progress_update(status=DossierStatus.RETURNED, handled_at=at(10, 9)).to_wire("token"),
            progress_update(status=DossierStatus.PROCESSING, handled_at=at(10, 10)).to_wire(
                "token"
            ),
        ],
        "token",
        ("dossier.transition", "[1]"),
    ),
    "dossier.date_order": (
        classic(NgayHenTra="20260601170000"),
        "classic",
        ("dossier.date_order", "NgayHenTra"),
    ),
    "dossier.date_format": (
        classic(NgayHenTra="2026-06-23 17:00:00"),
        "classic",
        ("dossier.date_format", "NgayHenTra"),
    ),
    "dossier.wire_type": (
        classic(TrangThaiHoSo=10),
        "classic",
        ("dossier.wire_type", "TrangThaiHoSo"),
    ),
    "dossier.applicant_kind": (
        classic(LoaiDoiTuong="3"),
        "classic",
        ("dossier.applicant_kind", "LoaiDoiTuong"),
    ),
    "dossier.fee": (
        classic(DanhSachLePhi=[{"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP", "Gia": "-1000"}]),
        "classic",
        ("dossier.fee", "DanhSachLePhi[0].Gia"),
    ),
    "dossier.range": (
        classic(HinhThuc="3"),
        "classic",
        ("dossier.range", "HinhThuc"),
    ),
    "dossier.duplicate": (
        sync_request(data=[sync_item(), sync_item()]).to_wire("classic"),
        "classic",
        ("dossier.duplicate", "data[1]"),
    ),
    "dossier.admin_unit": (
        creation(
            submitter={
                "LoaiDoiTuong": ApplicantKind.HOUSEHOLD_BUSINESS,
                "ThongTinChiTiet": creation().submitter.details.model_copy(  # type: ignore[union-attr]
                    update={"province_code": "7"}
                ),
            },
        ).to_wire("token"),
        "token",
        ("dossier.admin_unit", "ThongTinNguoiNop.ThongTinChiTiet.MaTinh"),
    ),
    "dossier.identity": (
        creation(
            applicant_kind=ApplicantKind.CITIZEN,
            submitter={
                "LoaiDoiTuong": ApplicantKind.CITIZEN,
                "ThongTinChiTiet": creation().submitter.details.model_copy(  # type: ignore[union-attr]
                    update={"id_number": "07919001"}
                ),
            },
        ).to_wire("token"),
        "token",
        ("dossier.identity", "ThongTinNguoiNop.ThongTinChiTiet.SoDinhDanh"),
    ),
    "dossier.contact": (classic(Email="an.nguyen@"), "classic", ("dossier.contact", "Email")),
    "dossier.unknown_field": (
        classic(MaBuuChinh="700000"),
        "classic",
        ("dossier.unknown_field", "(payload)"),
    ),
}


def test_every_rule_has_a_negative_case() -> None:
    assert set(NEGATIVE) == set(RULES)


@pytest.mark.parametrize("rule", sorted(set(RULES) - {"dossier.json"}))
def test_negative_case(rule: str) -> None:
    payload, target, expected = NEGATIVE[rule]
    findings = validate_dossier(payload, target=target)
    assert expected in rules_of(findings), findings
    assert {f.rule for f in findings} == {rule}, findings
    lenient = validate_dossier(payload, target=target, profile="lenient")
    assert next(f.severity for f in lenient if f.rule == rule) == RULES[rule].lenient
    assert next(f.severity for f in findings if f.rule == rule) == RULES[rule].strict


def test_malformed_json_text() -> None:
    from lgsp.dossiers import DossierSyncItem

    with pytest.raises(ValidationError) as caught:
        DossierSyncItem.from_wire('{"MaHoSo": "x",}', target="classic")
    assert [f.rule for f in caught.value.findings] == ["dossier.json"]


def test_profiles_differ_only_in_severity() -> None:
    payload = classic(MaHoSo="HS-1", DonViXuLy=None, NgayHenTra="2026-06-23 17:00:00", Foo="x")
    strict = validate_dossier(payload, profile="strict")
    lenient = validate_dossier(payload, profile="lenient")
    assert [(f.rule, f.location) for f in strict] == [(f.rule, f.location) for f in lenient]
    assert {f.severity for f in strict} == {"error", "warning"}
    assert [f.severity for f in lenient if f.rule == "dossier.unknown_field"] == ["info"]
    assert [f.severity for f in lenient if f.rule == "dossier.code"] == ["warning"]


def test_received_statuses_need_the_receipt_and_due_dates() -> None:
    findings = validate_dossier(
        sync_item(status=DossierStatus.PROCESSING, received_at=None, due_at=None, returned_at=None)
    )
    assert rules_of(findings) == {
        ("dossier.status_dates", "NgayTiepNhan"),
        ("dossier.status_dates", "NgayHenTra"),
    }
    registered = sync_item(
        status=DossierStatus.REGISTERED,
        received_at=None,
        due_at=None,
        returned_at=None,
        processing_ended_at=None,
    )
    assert validate_dossier(registered) == []
    findings = validate_dossier(sync_item(status=DossierStatus.PROCESSED))
    assert rules_of(findings) == {("dossier.status_dates", "NgayTra")}


def test_every_date_order() -> None:
    item = sync_item(
        due_at=at(1),
        returned_at=at(18),
        processing_ended_at=at(20),
        supplements=[
            {
                "NoiDungBoSung": "x",
                "HoSoBoSungId": "1",
                "NgayBoSung": at(12),
                "NgayTiepNhanBoSung": at(11),
            }
        ],
    )
    assert rules_of(validate_dossier(item)) == {
        ("dossier.date_order", "NgayHenTra"),
        ("dossier.date_order", "NgayTra"),
        ("dossier.date_order", "DanhSachHoSoBoSung[0].NgayTiepNhanBoSung"),
    }
    step = progress_item(started_at=at(12), due_at=at(11))
    assert rules_of(validate_dossier(step)) == {("dossier.date_order", "NgayKetThucTheoQuyDinh")}
    token = creation(received_at=at(8))
    assert rules_of(validate_dossier(token, target="token")) == {
        ("dossier.date_order", "NgayTiepNhan")
    }
    details = SubmitterDetails(
        name="A",
        id_number="079190012345",
        phone="0909123456",
        province_code="79",
        commune_code="27358",
        address="x",
        birth_date=at(9).date(),
        id_issued_on=at(1).date(),
    )
    assert rules_of(validate_dossier(details, target="token")) == {
        ("dossier.date_order", "NgayCapDinhDanh")
    }


def test_a_body_keeps_checking_after_an_unreadable_item() -> None:
    body = sync_request().to_wire("classic")
    broken = dict(body["data"][0], TrangThaiHoSo="đã xong", MaHoSo="x")
    body["data"] = [broken, sync_item(code="000.00.12.H49-20260609-0000124").to_wire("classic")]
    found = rules_of(validate_dossier(body))
    # The unreadable status is a type error, not also a missing field; the rest of the item and
    # the other item are still checked.
    assert found == {("dossier.type", "data[0].TrangThaiHoSo"), ("dossier.code", "data[0].MaHoSo")}


def test_an_item_that_is_not_an_object() -> None:
    body = sync_request().to_wire("classic")
    body["data"].append("MaHoSo")
    assert rules_of(validate_dossier(body)) == {("dossier.type", "data[1]")}
    assert rules_of(validate_dossier(["x", sync_item().to_wire("classic")])) == {
        ("dossier.type", "[0]")
    }


def test_progress_is_checked_in_time_order_per_dossier() -> None:
    other = "000.00.12.H49-20260609-0000124"
    steps = [
        progress_item(status=DossierStatus.PROCESSED, handled_at=at(12)),
        progress_item(status=DossierStatus.RECEIVED, handled_at=at(9)),
        progress_item(code=other, status=DossierStatus.RECEIVED, handled_at=at(9)),
        progress_item(status=DossierStatus.PROCESSING, handled_at=at(10)),
        progress_item(code=other, status=DossierStatus.RETURNED, handled_at=at(11)),
    ]
    assert validate_dossier(progress_request(data=steps)) == []
    steps.append(progress_item(status=DossierStatus.PROCESSING, handled_at=at(13)))
    findings = validate_dossier(progress_request(data=steps).to_wire("classic"))
    assert rules_of(findings) == {("dossier.transition", "data[5]")}
    assert "9 (Đã xử lý xong) cannot be followed by 4 (Đang xử lý)" in findings[0].message
    # Another table allows it.
    table = TransitionTable.from_dict(
        {"initial": [1, 2], "transitions": {"2": [4, 9, 10], "4": [9], "9": [4, 10]}}
    )
    assert validate_dossier(progress_request(data=steps), transitions=table) == []


def test_status_updates_follow_the_table_in_array_order() -> None:
    updates = [status_update(status=DossierStatus.RETURNED), status_update()]
    findings = validate_dossier(updates, target="token")
    assert rules_of(findings) == {("dossier.transition", "[1]")}


def test_wire_forms_are_checked_as_received_for_the_target() -> None:
    token_wire = sync_item().to_wire("token")
    findings = validate_dossier(token_wire, target="classic")
    assert {f.rule for f in findings} == {
        "dossier.date_format",
        "dossier.wire_type",
        "dossier.applicant_kind",
    }
    assert validate_dossier(token_wire, target="token") == []
    flags = classic(TaiLieuNop=[dict(classic()["TaiLieuNop"][0], IsDeleted="false")])
    assert rules_of(validate_dossier(flags)) == {("dossier.wire_type", "TaiLieuNop[0].IsDeleted")}
    texts = progress_update().to_wire("token") | {"TrangThai": "4"}
    assert rules_of(validate_dossier(texts, target="token")) == {("dossier.wire_type", "TrangThai")}


def test_models_are_checked_for_the_target() -> None:
    household = sync_item(applicant_kind=ApplicantKind.HOUSEHOLD_BUSINESS)
    assert rules_of(validate_dossier(household)) == {("dossier.applicant_kind", "LoaiDoiTuong")}
    assert validate_dossier(household, target="token") == []
    raw_code = sync_item(applicant_kind=1)  # built without a target: a raw code
    assert rules_of(validate_dossier(raw_code)) == {("dossier.applicant_kind", "LoaiDoiTuong")}


def test_creation_rules() -> None:
    dossier = creation()
    assert dossier.submitter is not None
    dossier.submitter.applicant_kind = ApplicantKind.BUSINESS
    findings = validate_dossier(dossier, target="token")
    assert rules_of(findings) == {("dossier.applicant_kind", "ThongTinNguoiNop.LoaiDoiTuong")}
    component = creation(
        components=[{"MaThanhPhanHoSo": "TP", "TenThanhPhanHoSo": "x", "SoLuong": 0, "LoaiBan": 5}]
    )
    assert rules_of(validate_dossier(component, target="token")) == {
        ("dossier.range", "ThanhPhanHoSo[0].SoLuong"),
        ("dossier.range", "ThanhPhanHoSo[0].LoaiBan"),
    }
    empty = creation(components=[], receiving_unit=None)
    assert rules_of(validate_dossier(empty, target="token")) == {
        ("dossier.recommended", "ThanhPhanHoSo"),
        ("dossier.required", "MaDonViTiepNhan"),
    }


def test_fee_rules() -> None:
    item = sync_item(fees=[Fee(name="x", code="y", amount=10, collection_stage=3), Fee(code="z")])
    assert rules_of(validate_dossier(item)) == {
        ("dossier.range", "DanhSachLePhi[0].HinhThucThu"),
        ("dossier.required", "DanhSachLePhi[1].TenPhiLePhi"),
        ("dossier.required", "DanhSachLePhi[1].Gia"),
    }


def test_lists_of_models_are_validated_together() -> None:
    findings = validate_dossier([sync_item(), sync_item()])
    assert rules_of(findings) == {("dossier.duplicate", "[1]")}


def test_json_that_is_no_payload_raises() -> None:
    with pytest.raises(DossierError, match="no dossier payload"):
        validate_dossier({"hello": "world"})
    with pytest.raises(DossierError, match="unknown payload kind"):
        validate_dossier({"MaHoSo": CODE}, kind="hồ sơ")
    assert rules_of(validate_dossier({"MaHoSo": CODE}, kind="status-update", target="token")) == {
        ("dossier.required", "TrangThai"),
        ("dossier.recommended", "IdHoSo"),
    }


def test_check_dossier_raises_on_errors_only() -> None:
    assert check_dossier(sync_item(), profile="lenient") == []
    warned = check_dossier(sync_item(code="HS-1"), profile="lenient")
    assert [f.rule for f in warned] == ["dossier.code"]
    with pytest.raises(ValidationError) as caught:
        check_dossier(sync_item(code="HS-1"))
    assert "DossierSyncItem: 1 error finding(s)" in str(caught.value)


def test_builders_check_what_they_build() -> None:
    body = build_sync_request([sync_item()], session="s", unit_code="000.00.01.H22", updating=True)
    assert body.to_wire("classic")["isUpdating"] == "True"
    assert body.to_wire("classic")["service"] == "DongBoHoSoMC"
    with pytest.raises(ValidationError, match=r"dossier\.applicant_kind"):
        build_sync_request(
            [sync_item(applicant_kind=ApplicantKind.HOUSEHOLD_BUSINESS)],
            session="s",
            unit_code="000.00.01.H22",
        )
    unchecked = build_sync_request([sync_item(code="x")], session="s", unit_code="u", check=None)
    assert unchecked.data[0].code == "x"
    steps = [
        progress_item(status=DossierStatus.RECEIVED),
        progress_item(status=DossierStatus.REGISTERED),
    ]
    with pytest.raises(ValidationError, match=r"dossier\.transition"):
        build_progress_request(steps, session="s", unit_code="000.00.01.H22")
    lookup = build_lookup_request(CODE, session="s", unit_code="000.00.01.H22")
    assert lookup.to_wire("classic") == {
        "session": "s",
        "madonvi": "000.00.01.H22",
        "service": "TraCuuHoSo",
        "mahoso": CODE,
    }
    with pytest.raises(ValidationError, match=r"dossier\.code"):
        build_lookup_request("x", session="s", unit_code="000.00.01.H22")


def test_docs_list_every_rule() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "dossiers.md").read_text("utf-8")
    for rule in RULES.values():
        row = f"| `{rule.id}` | {rule.strict} | {rule.lenient} |"
        assert row in page, f"docs/dossiers.md lacks or misstates rule {rule.id}"


def test_locations_stay_those_of_the_json_after_an_unreadable_item() -> None:
    item = sync_item().to_wire("classic")
    assert rules_of(validate_dossier(["x", item, item])) == {
        ("dossier.type", "[0]"),
        ("dossier.duplicate", "[2]"),
    }
    body = progress_request().to_wire("classic")
    body["data"] = [42, *body["data"], dict(body["data"][0], ThoiDiemXuLy="20260611080000")]
    # steps: [1] received, [2] processing, [3] received again (after processing): refused at [3]
    assert rules_of(validate_dossier(body)) == {
        ("dossier.type", "data[0]"),
        ("dossier.transition", "data[3]"),
    }
