"""Revoke, update and replace a document: the three follow-ups of QCVN 102's business block.

The Government Office sends letters to the People's Committee of Nghệ An, then:

* revokes the first (``BussinessDocType`` 1, ``ResponseFor`` naming it);
* updates the second (``BussinessDocType`` 2 with ``BussinessDocumentInfo``);
* replaces the third with a new letter (``BussinessDocType`` 3 with ``ReplacementInfoList``).

The update and the replacement are built here from :mod:`lgsp.documents` models. Every package
passes lgsp's strict rules before it is sent, and the sandbox started here checks them under
its strict profile too. Nghệ An receives all six and reads what each one does.

Run: python examples/revoke_update_replace.py [FOLDER]   (a temporary folder by default)
Against a sandbox already running: LGSP_SANDBOX_URL=http://127.0.0.1:8750 python examples/...
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from lgsp import Client, WriteOptions, check, package_to_bytes, write_package
from lgsp.clients import Delivery, Settings, VxpProfile
from lgsp.documents import (
    VIETNAM_TZ,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    DocumentPackage,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    StaffInfo,
)
from lgsp.sandbox import Sandbox, SandboxConfig
from lgsp.testing import samples

STAFF = StaffInfo(department="Văn thư văn phòng", staff="Nguyễn Thị Ngọc Trâm")


@contextlib.contextmanager
def strict_sandbox_url() -> Iterator[str]:
    """``$LGSP_SANDBOX_URL``, or a sandbox started here that checks packages strictly."""
    given = os.environ.get("LGSP_SANDBOX_URL")
    if given:
        yield given.rstrip("/")
        return
    config = SandboxConfig.demo().model_copy(update={"profile": "strict"})
    with Sandbox(config) as sandbox:
        yield sandbox.url


def target_of(pkg: DocumentPackage) -> ResponseFor:
    """How a follow-up names an earlier letter."""
    return ResponseFor(
        organ_id=pkg.header.from_.organ_id,
        code=str(pkg.header.code),
        promulgation_date=pkg.header.promulgation.date,
        document_id=samples.document_id(pkg),
    )


def update_of(original: DocumentPackage, number: str, day: dt.date) -> DocumentPackage:
    """An update (2): the corrected letter, carrying which parts changed."""
    business = Business(
        doc_type=BusinessDocType.UPDATE,
        document_id=samples.document_id(original),  # the letter this one updates
        reason="Cập nhật văn bản điện tử",
        paper=0,
        # The flags' meaning is not documented anywhere (vn-contracts §1.4); the official
        # kit's sample sends DocumentInfo 1 with a list of receivers and their ReceiverType.
        document_info=BusinessDocumentInfo(
            document_info=1,
            document_receiver=0,
            receivers=[Receiver(organ_id=samples.NGHE_AN.organ_id, receiver_type=0)],
        ),
        staff=STAFF,
    )
    return samples.document(
        number=number,
        date=day,
        subject=f"{original.header.subject} (cập nhật thời hạn)",
        business=business,
        response_for=[target_of(original)],
    )


def replacement_of(original: DocumentPackage, number: str, day: dt.date) -> DocumentPackage:
    """A replacement (3): a new letter that takes the place of ``original`` for its organs."""
    business = Business(
        doc_type=BusinessDocType.REPLACE,
        reason="Văn bản thay thế",
        paper=0,
        replacements=[
            ReplacementInfo(
                document_id=samples.document_id(original),
                organ_ids=[o.organ_id for o in original.header.to if o.organ_id],
            )
        ],
        staff=STAFF,
    )
    return samples.document(
        number=number,
        date=day,
        subject="V/v thay thế công văn về kết nối liên thông văn bản",
        business=business,
        response_for=[target_of(original)],
    )


def what_it_does(pkg: DocumentPackage) -> str:
    business = pkg.business
    kind = business.kind if business is not None else None
    if business is None or kind is BusinessDocType.NEW:
        return "a new letter"
    if kind is BusinessDocType.REVOKE:
        return f"revokes {business.document_id}"
    if kind is BusinessDocType.UPDATE:
        info = business.document_info
        flags = f"DocumentInfo {info.document_info}" if info is not None else "no info"
        return f"updates {business.document_id} ({flags})"
    if kind is BusinessDocType.REPLACE:
        replaced = ", ".join(r.document_id or "?" for r in business.replacements)
        return f"replaces {replaced}"
    return f"BussinessDocType {business.doc_type}"


def main(folder: Path) -> int:
    office = SandboxConfig.demo().systems[0]  # vxp.saas.03, serves 000.00.00.G22
    nghe_an = SandboxConfig.demo().systems[1]  # vxp.saas.07, serves 000.00.00.H41
    today = dt.datetime.now(VIETNAM_TZ).date()
    run = uuid.uuid4().int % 10_000
    first, second, third = (samples.document(number=f"{run}{n}", date=today) for n in "123")
    packages = {
        "1-new": first,
        "1-revoke": samples.revoke(first, number=f"{run}1-TH"),
        "2-new": second,
        "2-update": update_of(second, f"{run}2-CN", today),
        "3-new": third,
        "3-replace": replacement_of(third, f"{run}4", today),
    }
    for name, pkg in packages.items():
        check(pkg, profile="strict")  # raises ValidationError, with every finding, if not
        write_package(pkg, folder / f"{name}.edxml")
    print(f"built {len(packages)} packages; each passes lgsp's strict rules")

    def settings(system_id: str, secret: str) -> Settings:
        return Settings(
            documents=VxpProfile(endpoint=f"{url}/vxp", system_id=system_id, secret=secret)
        )

    handed: list[DocumentPackage] = []
    own_sandbox = not os.environ.get("LGSP_SANDBOX_URL")

    def take(delivery: Delivery) -> None:
        if isinstance(delivery.package, DocumentPackage):
            handed.append(delivery.package)

    with strict_sandbox_url() as url:
        with Client.from_settings(settings(office.system_id, office.secret)) as sender:
            for name, pkg in packages.items():
                outcome = sender.documents.send(pkg)
                verdict = f"DocId {outcome.doc_id}" if outcome.accepted else outcome.message
                print(f"sent {name:<10} {pkg.header.code}: {verdict}")
                if not outcome.accepted:
                    return 1
            # An update without BussinessDocumentInfo, written without lgsp's own check:
            # the strict sandbox refuses it and names the rule.
            broken = update_of(second, f"{run}2-SAI", today)
            if broken.business is not None:
                broken.business.document_info = None
            raw = package_to_bytes(broken, options=WriteOptions(validate_first=False))
            refused = sender.documents.send(raw)
            if refused.accepted:
                print("an update without BussinessDocumentInfo was accepted: this sandbox")
                print("  checks packages leniently (business.update.info is a warning there)")
                if own_sandbox:
                    return 1
            else:
                print(f"an update without BussinessDocumentInfo: refused, code {refused.code}")
                print(f"  the axis says: {refused.message}")
        receiver = Client.from_settings(
            settings(nghe_an.system_id, nghe_an.secret), download_dir=folder / "nghe-an"
        )
        with receiver:
            receiver.documents.receive(take, message_type="edoc")

    ours = {samples.document_id(p) for p in packages.values()}
    seen = [p for p in handed if samples.document_id(p) in ours]
    for pkg in seen:
        print(f"Nghệ An received {pkg.header.code}: {what_it_does(pkg)}")
    if len(seen) != len(packages):
        print(f"Nghệ An received {len(seen)} of the {len(packages)} packages")
        return 1
    print(f"wrote {len(packages)} packages in {folder}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
