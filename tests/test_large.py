"""The issue's own figure: a package with a 200 MB attachment is read while the process grows
by less than 64 MB. Measured in a fresh process (its peak resident set, VmHWM, before and
after), with the attachment's bytes checked end to end."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import lgsp
from lgsp.documents import (
    Business,
    Code,
    DocumentHeader,
    DocumentType,
    Organization,
    PromulgationInfo,
    SignerInfo,
    TraceHeader,
    WriteOptions,
)

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20

_READER = r"""
import hashlib, json, sys
import lgsp

def hwm():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmHWM")

before = hwm()
with lgsp.read_package(sys.argv[1]) as pkg:
    (att,) = pkg.attachments
    digest = hashlib.sha256()
    for chunk in att.iter_chunks():
        digest.update(chunk)
    print(json.dumps({"growth": hwm() - before, "sha256": digest.hexdigest(),
                      "encoding": att.encoding, "problem": att.problem}))
"""


def test_200_mb_attachment_is_read_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "ho-so-quet.pdf"
    digest = hashlib.sha256()
    with source.open("wb") as fh:
        for _ in range(200):
            block = os.urandom(MB)
            digest.update(block)
            fh.write(block)
    pkg = lgsp.DocumentPackage(
        header=DocumentHeader(
            from_=Organization(organ_id="000.00.00.H41", organ_name="UBND tỉnh Nghệ An"),
            to=[Organization(organ_id="000.00.00.G22", organ_name="Văn phòng Chính phủ")],
            document_id="000.00.00.H41,2026/11/23,88/UBND-VX",
            code=Code(number="88", notation="UBND-VX"),
            promulgation=PromulgationInfo(place="Nghệ An", date=dt.date(2026, 11, 23)),
            document_type=DocumentType(type=1, type_name="Công văn"),
            subject="Hồ sơ quét khổ lớn",
            signer=SignerInfo(position="Chủ tịch", full_name="Nguyễn Văn A"),
        ),
        traces=[TraceHeader(organ_id="000.00.00.H41", timestamp="2026/11/23 09:00:00")],
        business=Business(doc_type=0),
        attachments=[lgsp.Attachment.from_path(source)],
    )
    target = tmp_path / "goi-lon.edxml"
    lgsp.write_package(pkg, target, options=WriteOptions(compresslevel=0))
    source.unlink()  # only the package is left to read from
    assert target.stat().st_size > 266 * MB  # Base64 of 200 MB

    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", _READER, str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["problem"] is None
    assert report["encoding"] == "zip"
    assert report["sha256"] == digest.hexdigest()
    assert report["growth"] < 64 * MB, f"peak RSS grew by {report['growth'] / MB:.1f} MB"
