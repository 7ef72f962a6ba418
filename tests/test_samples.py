"""lgsp.testing.samples: every builder gives a strictly valid payload that survives a round trip."""

from __future__ import annotations

import datetime as dt

import pytest

from lgsp import package_to_bytes, read_package, validate
from lgsp.documents import VIETNAM_TZ, BusinessDocType, DocumentPackage, StatusPackage
from lgsp.dossiers import DossierStatus, validate_dossier
from lgsp.testing import samples


def _errors(pkg: DocumentPackage | StatusPackage) -> list[str]:
    return [f.rule for f in validate(pkg, profile="strict") if f.severity == "error"]


@pytest.mark.parametrize("code", ["01", "03", "06"])
def test_documents_statuses_and_revokes_are_strictly_valid(code: str) -> None:
    original = samples.document(number="77", subject="V/v kiểm thử")
    answer = samples.status(original, code)
    withdrawal = samples.revoke(original)
    for pkg in (original, answer, withdrawal):
        assert _errors(pkg) == []
        again = read_package(package_to_bytes(pkg))
        assert type(again) is type(pkg)
    assert answer.header.response_for.document_id == samples.document_id(original)
    assert withdrawal.business is not None
    assert withdrawal.business.doc_type == BusinessDocType.REVOKE
    assert withdrawal.header.response_for[0].document_id == samples.document_id(original)


def test_attachments_are_real_files() -> None:
    pdf, docx = samples.document().attachments
    assert pdf.read_bytes().startswith(b"%PDF-1.7")
    assert docx.read_bytes().startswith(b"PK")


def test_dossier_and_steps_are_valid_for_the_classic_target() -> None:
    when = dt.datetime(2026, 6, 9, 8, 30, tzinfo=VIETNAM_TZ)
    item = samples.dossier(received_at=when)
    assert item.code is not None
    assert item.code.startswith("000.00.01.H41-20260609-")
    assert [f for f in validate_dossier(item, target="classic") if f.severity == "error"] == []
    step = samples.dossier_step(item.code, DossierStatus.PROCESSING, at=when)
    assert [f for f in validate_dossier(step, target="classic") if f.severity == "error"] == []
