"""Registry models, folding and importers: service envelopes, bare lists, CSV, bad input."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgsp.errors import LgspError, RegistryError
from lgsp.registry import (
    AdminScheme,
    AdminUnit,
    Agency,
    FieldOfWork,
    Organ,
    Procedure,
    RegistryKind,
    SyncUnit,
    detect_kind,
    fold,
    fold_name,
    read_registry_data,
    read_registry_file,
)
from lgsp.registry.folding import FoldedName

AGENCIES = [
    {
        "id": 1,
        "pid": 0,
        "code": "000.00.00.H41",
        "name": "Ủy ban nhân dân tỉnh Nghệ An",
        "mail": "vanthu@nghean.gov.vn",
        "oldCode": "H41",
        "code102": "000.00.00.H41",
    },
    {
        "id": 2,
        "pid": 1,
        "code": "000.00.12.H41",
        "name": "Sở Thông tin và Truyền thông",
        "mail": "",
        "oldCode": None,
        "code102": "000.00.12.H41",
        "phone": "0238 3844 555",
    },
]


# --- folding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Hà Nội", "ha noi"),
        ("ha noi", "ha noi"),
        ("HÀ NỘI", "ha noi"),
        ("Đà Nẵng", "da nang"),
        ("ĐĂK LĂK", "dak lak"),
        ("Hoà Vang", "hoa vang"),  # the old tone placement
        ("Hòa Vang", "hoa vang"),
        ("Ủy ban nhân dân tỉnh Nghệ An", "ubnd tinh nghe an"),
        ("Uỷ ban nhân dân tỉnh Nghệ An", "ubnd tinh nghe an"),
        ("UBND tỉnh Nghệ An", "ubnd tinh nghe an"),
        ("Thành phố Đà Nẵng", "tp da nang"),
        ("TP. Đà Nẵng", "tp da nang"),
        ("Văn phòng Đoàn ĐBQH và HĐND", "van phong doan dbqh va hdnd"),
        ("Sở Lao động - Thương binh và Xã hội", "so lao dong thuong binh va xa hoi"),
        ("UBND xã Hòa Tiến - UBND huyện Hòa Vang", "ubnd xa hoa tien ubnd huyen hoa vang"),
    ],
)
def test_fold_name(text: str, key: str) -> None:
    assert fold_name(text) == key
    assert fold_name(unicodedata.normalize("NFD", text)) == key


def test_fold_keeps_phrases_but_fold_name_abbreviates() -> None:
    assert fold("Thành phố Hồ Chí Minh") == "thanh pho ho chi minh"
    assert fold_name("Thành phố Hồ Chí Minh") == "tp ho chi minh"


def test_unfinished_phrase_is_offered_abbreviated() -> None:
    assert FoldedName("UBND thành p").typed == "ubnd tp"
    assert FoldedName("Ủy ban nh").typed == "ubnd"
    assert FoldedName("UBND xã Hòa Ti").typed is None


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_fold_is_idempotent_and_form_blind(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert fold(unicodedata.normalize("NFD", text)) == fold(unicodedata.normalize("NFC", text))


# --- models ---------------------------------------------------------------------------------


def test_agency_reads_the_wire_and_keeps_unknown_fields() -> None:
    agency = Agency.model_validate(AGENCIES[1])
    assert agency.id == "2"
    assert agency.parent_id == "1"
    assert agency.qcvn102_code == "000.00.12.H41"
    assert agency.email is None  # blank is absent
    wire = agency.dump_wire()
    assert wire["phone"] == "0238 3844 555"
    assert wire["code102"] == "000.00.12.H41"
    assert Agency.model_validate(wire) == agency


def test_sync_unit_flags() -> None:
    unit = SyncUnit.model_validate(
        {
            "id": "9",
            "pid": "1",
            "code": "000.01.12.H41",
            "name": "Phòng Văn thư",
            "centerCode": "vxp.saas.03",
            "version": 7,
            "deleted": "false",
            "modifyDate": "2025-07-01 08:00:00",
            "isAgency": 1,
        }
    )
    assert unit.deleted is False
    assert unit.is_agency is True
    assert unit.version == "7"
    assert unit.center_code == "vxp.saas.03"


def test_procedure_nesting_tolerates_single_objects() -> None:
    procedure = Procedure.model_validate(
        {
            "maTTHC": "1.005129",
            "TENTTHC": "Cấp giấy phép thành lập trường trung học phổ thông",
            "LINHVUCTHUCHIEN": {"MALINHVUC": "G03-GD10", "TENLINHVUC": "Giáo dục trung học"},
            "CACHTHUCTHUCHIEN": [
                {
                    "KENH": "Trực tuyến",
                    "THOIGIAN": {
                        "THOIGIANGIAIQUYET": 20,
                        "DONVITINH": "Ngày làm việc",
                        "PHILEPHI": [{"SOTIEN": 0, "DONVI": "Đồng", "MOTA": "Không thu phí"}],
                    },
                }
            ],
            "THANHPHANHOSO": [
                {"GIAYTO": [{"MAGIAYTO": "GT01", "TENGIAYTO": "Tờ trình", "URL": "https://x"}]}
            ],
            "COQUANTHUCHIEN": [{"TENDONVI": "Sở Giáo dục và Đào tạo"}],
        }
    )
    assert procedure.code == "1.005129"
    assert procedure.fields_of_work[0].code == "G03-GD10"
    assert procedure.channels[0].times[0].duration == "20"
    assert procedure.channels[0].times[0].fees[0].amount == "0"
    assert procedure.dossier[0].papers[0].name == "Tờ trình"
    assert procedure.dump_wire()["MATTHC"] == "1.005129"


def test_field_and_organ() -> None:
    field = FieldOfWork.model_validate(
        {"MALINHVUC": "G03-GD10", "TENLINHVUC": "Giáo dục", "MANGANH": "G03"}
    )
    organ = Organ.model_validate(
        {"MADONVI": "000.00.00.H41", "TENDONVI": "UBND tỉnh Nghệ An", "CAPDONVI": 1}
    )
    assert field.sector_code == "G03"
    assert organ.level == "1"


def test_admin_unit_codes_are_padded_by_level() -> None:
    commune = AdminUnit.model_validate(
        {"code": 70, "name": "Phường Hoàn Kiếm", "level": "xã", "province_code": 1}
    )
    assert (commune.code, commune.parent_code, commune.province_code) == ("00070", "01", "01")
    district = AdminUnit.model_validate(
        {
            "code": "1",
            "level": "district",
            "name": "Quận Ba Đình",
            "scheme": "legacy",
            "parent_code": 1,
        }
    )
    assert (district.code, district.parent_code) == ("001", "01")
    with pytest.raises(ValueError, match="districts were abolished"):
        AdminUnit.model_validate({"code": "001", "name": "Quận Ba Đình", "scheme": "2025"})
    with pytest.raises(ValueError, match="give the level"):
        AdminUnit.model_validate({"code": 8, "name": "Tuyên Quang"})


def test_registry_error_is_an_lgsp_error() -> None:
    error = RegistryError("column 'code' is empty", source="a.csv", line=7, column=3)
    assert isinstance(error, LgspError)
    assert str(error) == "a.csv:7:3: column 'code' is empty"


# --- importers: JSON ----------------------------------------------------------------------


def test_vxp_envelope() -> None:
    body = json.dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": AGENCIES})
    parsed = read_registry_data(body, source="getAgenciesList")
    assert parsed.kind is RegistryKind.AGENCIES
    assert [r.code for r in parsed.records] == ["000.00.00.H41", "000.00.12.H41"]


def test_data_as_json_text_and_dvcqg_envelope() -> None:
    vxp = json.dumps({"status": "OK", "ErrorCode": "0", "data": json.dumps(AGENCIES)})
    assert len(read_registry_data(vxp).records) == 2
    organs = [{"MADONVI": "000.00.00.H41", "TENDONVI": "UBND tỉnh Nghệ An", "CAPDONVI": "1"}]
    dvcqg = json.dumps({"error_code": 0, "result": organs})
    parsed = read_registry_data(dvcqg)
    assert parsed.kind is RegistryKind.ORGANS


def test_bare_list_and_single_record() -> None:
    assert read_registry_data(json.dumps(AGENCIES)).kind is RegistryKind.AGENCIES
    one = {"MATTHC": "1.005129", "TENTTHC": "Cấp giấy phép"}
    parsed = read_registry_data(json.dumps(one))
    assert parsed.kind is RegistryKind.PROCEDURES
    assert parsed.records[0].code == "1.005129"


@pytest.mark.parametrize(
    "envelope",
    [
        {"status": "FAIL", "ErrorCode": "5", "ErrorDesc": "Sai chữ ký", "data": []},
        {"status": "OK", "ErrorCode": "401", "data": AGENCIES},
        {"error_code": -1, "message": "session expired", "result": []},
    ],
)
def test_failed_response_is_refused(envelope: dict[str, object]) -> None:
    with pytest.raises(RegistryError, match="reported a failure"):
        read_registry_data(json.dumps(envelope))


def test_json_syntax_error_names_line_and_column() -> None:
    text = '[\n  {"code": "000.00.00.H41", "name": "UBND"},\n  {"code": }\n]'
    with pytest.raises(RegistryError) as info:
        read_registry_data(text, source="agencies.json")
    assert (info.value.line, info.value.column) == (3, 12)
    assert str(info.value).startswith("agencies.json:3:12: not valid JSON")


def test_invalid_json_record_names_its_line() -> None:
    records = [AGENCIES[0], {"id": 3, "name": "Sở Tư pháp", "code102": "x"}, AGENCIES[1]]
    text = json.dumps({"status": "OK", "ErrorCode": "0", "data": records}, indent=2)
    expected = text.splitlines().index("    {", 10) + 1  # the second record's opening brace
    with pytest.raises(RegistryError) as info:
        read_registry_data(text, source="agencies.json")
    assert info.value.line == expected
    assert "code" in info.value.message


# --- importers: CSV -------------------------------------------------------------------------


def test_csv_with_bom_semicolons_and_english_or_wire_headers(tmp_path: Path) -> None:
    text = (
        "Code;Name;Parent ID;ID;old_code;Ghi chú\r\n"
        "000.00.00.H41;Ủy ban nhân dân tỉnh Nghệ An;;1;H41;\r\n"
        '000.00.12.H41;"Sở Thông tin và Truyền thông";1;2;;"mới, 2025"\r\n'
    )
    path = tmp_path / "co-quan.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # as Excel's "CSV UTF-8" writes
    parsed = read_registry_file(path, kind="agencies")
    first, second = parsed.records
    assert isinstance(second, Agency)
    assert first.code == "000.00.00.H41"
    assert second.parent_id == "1"
    assert second.name == "Sở Thông tin và Truyền thông"
    assert second.dump_wire()["Ghi chú"] == "mới, 2025"


def test_csv_kind_is_detected_from_headers() -> None:
    text = "MALINHVUC,TENLINHVUC,MANGANH\nG03-GD10,Giáo dục trung học,G03\n"
    assert read_registry_data(text, input_format="csv").kind is RegistryKind.FIELDS


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("code,name\n000.00.00.H41,UBND tỉnh Nghệ An\n,Sở Tư pháp\n", 3, "code"),
        ("code,name\n000.00.00.H41,UBND tỉnh Nghệ An,extra\n", 2, "3 fields"),
        ('code,name\n000.00.00.H41,"UBND tỉnh\n', 2, "not valid CSV"),
        ("code,,name\n1,2,3\n", 1, "no name"),
    ],
)
def test_malformed_csv_names_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(RegistryError) as info:
        read_registry_data(text, kind="agencies", input_format="csv", source="agencies.csv")
    assert info.value.line == line
    assert fragment in str(info.value)


def test_quoted_newline_keeps_line_numbers() -> None:
    text = 'code,name\n000.00.00.H41,"UBND tỉnh\nNghệ An"\n,Sở Tư pháp\n'
    with pytest.raises(RegistryError) as info:
        read_registry_data(text, kind="agencies", input_format="csv")
    assert info.value.line == 4


def test_not_utf8_and_binary_are_refused() -> None:
    with pytest.raises(RegistryError, match="not UTF-8") as info:
        read_registry_data("code,name\n1,Hà Nam\n".encode("cp1258"), kind="agencies")
    assert info.value.line == 2
    with pytest.raises(RegistryError, match="not a text file"):
        read_registry_data(b"SQLite format 3\x00\x00", kind="agencies")


def test_unknown_kind_asks_for_one() -> None:
    with pytest.raises(RegistryError, match="cannot tell what kind"):
        read_registry_data('[{"foo": 1}]')


def test_detect_kind() -> None:
    assert detect_kind(["id", "pid", "code", "name", "centerCode"]) is RegistryKind.UNITS
    assert detect_kind(["MADONVI", "TENDONVI"]) is RegistryKind.ORGANS
    assert detect_kind(["Mã TP", "Tỉnh Thành Phố", "Mã PX"]) is RegistryKind.ADMIN_UNITS
    assert detect_kind(["nothing"]) is None


# --- importers: administrative units ------------------------------------------------------

GSO_EXPORT = (
    "Tỉnh Thành Phố,Mã TP,Quận Huyện,Mã QH,Phường Xã,Mã PX,Cấp,Tên Tiếng Anh\n"
    "Thành phố Đà Nẵng,48,Huyện Hòa Vang,497,Xã Hòa Tiến,20335,Xã,Hoa Tien\n"
    "Thành phố Đà Nẵng,48,Huyện Hòa Vang,497,Xã Hòa Phong,20332,Xã,Hoa Phong\n"
    "Tỉnh Hà Giang,2,Thành phố Hà Giang,24,Phường Quang Trung,688,Phường,\n"
)


def test_gso_export_yields_three_tiers() -> None:
    parsed = read_registry_data(GSO_EXPORT, kind="admin-units", source="gso.csv")
    units = {(u.code, u.level.value) for u in parsed.records if isinstance(u, AdminUnit)}
    assert units == {
        ("48", "province"),
        ("497", "district"),
        ("20335", "commune"),
        ("20332", "commune"),
        ("02", "province"),
        ("024", "district"),
        ("00688", "commune"),
    }
    by_code = {u.code: u for u in parsed.records if isinstance(u, AdminUnit)}
    assert all(u.scheme is AdminScheme.LEGACY for u in by_code.values())
    assert by_code["20335"].parent_code == "497"
    assert by_code["20335"].division_type == "xã"
    assert by_code["024"].division_type == "thành phố"
    assert by_code["48"].division_type == "thành phố trung ương"


def test_mapping_csv_is_read_as_links() -> None:
    text = "Mã cũ,Mã mới,Cấp,Ghi chú\n20335,20314,xã,Hòa Tiến → Hòa Tiến\n70,70,commune,\n"
    parsed = read_registry_data(text, kind="admin-units")
    assert parsed.records == []
    assert [(m.old_code, m.new_code) for m in parsed.mappings] == [
        ("20335", "20314"),
        ("00070", "00070"),
    ]
