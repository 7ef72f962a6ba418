"""Build a document package, write it, read it back, validate it and save its attachments.

Run: python examples/build_and_read.py [FOLDER]   (a temporary folder by default)
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import lgsp
from lgsp.documents import (
    VIETNAM_TZ,
    Business,
    BusinessDocType,
    Code,
    DocumentHeader,
    DocumentType,
    Organization,
    PromulgationInfo,
    SignerInfo,
    StaffInfo,
    TraceHeader,
)


def main(folder: Path) -> int:
    letter = folder / "cong-van.pdf"
    letter.write_bytes(b"%PDF-1.4\n% a stand-in for the signed letter\n%%EOF\n")

    pkg = lgsp.DocumentPackage(
        header=DocumentHeader(
            from_=Organization(organ_id="000.00.00.H41", organ_name="UBND tỉnh Nghệ An"),
            to=[Organization(organ_id="000.00.00.G22", organ_name="Văn phòng Chính phủ")],
            document_id="000.00.00.H41,2026/11/23,1234/UBND-KGVX",
            code=Code(number="1234", notation="UBND-KGVX"),
            promulgation=PromulgationInfo(place="Nghệ An", date=dt.date(2026, 11, 23)),
            document_type=DocumentType(type=1, type_name="Công văn"),
            subject="V/v triển khai kết nối liên thông văn bản",
            signer=SignerInfo(
                competence="KT. CHỦ TỊCH", position="Phó Chủ tịch", full_name="Nguyễn Văn A"
            ),
        ),
        traces=[
            TraceHeader(
                organ_id="000.00.00.H41", timestamp=dt.datetime(2026, 11, 23, 9, tzinfo=VIETNAM_TZ)
            )
        ],
        business=Business(
            doc_type=BusinessDocType.NEW,
            reason="Văn bản điện tử mới",
            paper=0,
            staff=StaffInfo(department="Văn thư", staff="Trần Thị B"),
        ),
        attachments=[lgsp.Attachment.from_path(letter)],
    )
    out = folder / "out.edxml"
    lgsp.write_package(pkg, out)  # the strict rules run first
    print(f"wrote {out.name}: {out.stat().st_size} bytes")

    with lgsp.read_package(out) as received:
        findings = lgsp.validate(received, profile="lenient")
        print(f"read back a {type(received).__name__}: {len(findings)} finding(s)")
        for finding in findings:
            print(" ", finding)
        if not isinstance(received, lgsp.DocumentPackage):
            print("expected a document package")
            return 1
        for att in received.attachments:
            saved = att.save(folder / "inbox")
            print(f"saved {saved.name}: {att.size} bytes, sha256 {att.sha256[:16]}…")
            if saved.read_bytes() != letter.read_bytes():
                print("attachment changed on the way!")
                return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
