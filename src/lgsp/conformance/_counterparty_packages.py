"""The packages the partner sends in a counterparty session, and what it is provisioned with.

Built from :mod:`lgsp.testing.samples` — strictly valid documents with a PDF and a DOCX
attachment, their status packages, revokes — between the partner's organ and the vendor's,
and signed with a key of a test CA made for the session (its root is served at
``/sandbox/counterparty/trust.pem`` so that the vendor can trust it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lgsp.conformance._counterparty_ledger import PartnerItem, PartnerKind, VendorMessage
from lgsp.documents import (
    VIETNAM_TZ,
    DocumentPackage,
    Organization,
    StatusPackage,
    WriteOptions,
    package_to_bytes,
)
from lgsp.errors import ValidationError
from lgsp.signatures import KeySigner, sign_package
from lgsp.testing import samples

if TYPE_CHECKING:
    from lgsp.conformance.counterparty import PartnerAgency, VendorSystem
    from lgsp.sandbox import SandboxConfig

__all__ = ["Action", "Outgoing", "PartnerPackages", "organization", "provisioning"]

_KNOWN = {o.organ_id: o for o in (samples.GOVERNMENT_OFFICE, samples.NGHE_AN)}
_NOTATION = "UBND-VP"


def provisioning(vendor: VendorSystem, partner: PartnerAgency) -> SandboxConfig:
    """The demo provisioning with the two systems of the session, the directory holding
    their organs, packages accepted leniently (so that they are recorded, not bounced)."""
    from lgsp.sandbox import AgencySeed, SandboxConfig, VxpSystem

    demo = SandboxConfig.demo()
    known = {a.code for a in demo.agencies}
    added = [
        AgencySeed(code=code, name=f"Cơ quan {code}")
        for code in dict.fromkeys((*vendor.organs, partner.organ))
        if code not in known
    ]
    return demo.model_copy(
        update={
            "systems": [
                VxpSystem(
                    system_id=vendor.system_id, secret=vendor.secret, organs=list(vendor.organs)
                ),
                VxpSystem(
                    system_id=partner.system_id, secret=partner.secret, organs=[partner.organ]
                ),
            ],
            "agencies": [*demo.agencies, *added],
            "profile": "lenient",
        }
    )


def organization(code: str, names: dict[str, str]) -> Organization:
    """The organisation of ``code`` as packages name it (the samples' own for the demo's)."""
    if code in _KNOWN:
        return _KNOWN[code]
    return samples.organization(code, names.get(code) or f"Cơ quan {code}")


@dataclasses.dataclass(slots=True)
class Outgoing:
    """A package the partner sends, and the item it becomes once the axis took it."""

    data: bytes
    item: PartnerItem
    #: Raw sending (VXP ``from``/``to``/``messagetype``): for a status not routed by its
    #: ResponseFor (a recall names the partner's own document).
    route: tuple[str, Sequence[str], str] | None = None


@dataclasses.dataclass(order=True, slots=True)
class Action:
    """A scripted send, due at ``due`` (monotonic seconds); built once, resent as is."""

    due: float
    seq: int
    label: str = dataclasses.field(compare=False)
    build: Callable[[], Outgoing] = dataclasses.field(compare=False)
    outgoing: Outgoing | None = dataclasses.field(default=None, compare=False)
    attempts: int = dataclasses.field(default=0, compare=False)


class PartnerPackages:
    """Builders of the partner's packages (each returns a function that builds it when due)."""

    def __init__(
        self, vendor: VendorSystem, partner: PartnerAgency, *, sign: bool, run_no: str
    ) -> None:
        names = {a.code: a.name for a in provisioning(vendor, partner).agencies}
        self.partner = partner
        self.partner_org = organization(partner.organ, names)
        self.vendor_orgs = [organization(code, names) for code in vendor.organs]
        self.sign = sign
        self.run_no = run_no
        self._signer: KeySigner | None = None
        self._root_pem: bytes | None = None

    # -- signing ---------------------------------------------------------------------------

    def signer(self) -> KeySigner:
        """The partner's signing key, from a test CA made for the session."""
        if self._signer is None:
            from lgsp.testing.pki import make_pki

            pki = make_pki(organisation="lgsp counterparty")
            identity = pki.signer()
            self._signer = KeySigner(identity.key, identity.certificate, identity.chain)
            self._root_pem = pki.root_pem()
        return self._signer

    def trust_pem(self) -> bytes | None:
        """The root of the test CA, PEM (None until :meth:`signer` made it)."""
        return self._root_pem

    def _bytes(self, pkg: DocumentPackage | StatusPackage) -> bytes:
        try:
            data = package_to_bytes(pkg)
        except ValidationError:
            # An answer built from a vendor's package that is itself off the strict mark:
            # send it anyway, the vendor's package is what the report is about.
            data = package_to_bytes(pkg, options=WriteOptions(validate_first=False))
        return sign_package(data, self.signer()) if self.sign else data

    def document(self, index: int) -> Callable[[], Outgoing]:
        """The ``index``-th document to the vendor (its organs in turn), numbered afresh."""

        def build() -> Outgoing:
            receiver = self.vendor_orgs[index % len(self.vendor_orgs)]
            number = f"{self.run_no}{index + 1}"
            pkg = samples.document(
                number=number,
                notation=_NOTATION,
                date=dt.datetime.now(VIETNAM_TZ).date(),
                sender=self.partner_org,
                receivers=[receiver],
                subject=f"V/v kiểm thử liên thông văn bản điện tử, văn bản {index + 1}",
            )
            return Outgoing(
                self._bytes(pkg),
                self._item("document", pkg, f"document {number}/{_NOTATION}", receiver),
            )

        return build

    def _item(
        self,
        kind: PartnerKind,
        pkg: DocumentPackage,
        label: str,
        receiver: Organization,
        *,
        code: str | None = None,
        about: int | None = None,
    ) -> PartnerItem:
        return PartnerItem(
            kind=kind,
            doc_id="",
            document_id=samples.document_id(pkg),
            label=label,
            sent_at=0.0,
            organ=receiver.organ_id or "",
            code=code,
            about=about,
            package=pkg,
        )

    def status(self, message: VendorMessage, code: str) -> Callable[[], Outgoing]:
        """A status ``code`` answering a document the vendor sent (routed by ResponseFor)."""
        original = message.inspected.package
        assert isinstance(original, DocumentPackage)  # noqa: S101 - only documents are answered

        def build() -> Outgoing:
            pkg = samples.status(original, code, sender=self.partner_org)
            item = self._item(
                "status",
                original,
                f"status {code} for {message.label}",
                original.header.from_,
                code=code,
                about=message.seq,
            )
            return Outgoing(self._bytes(pkg), item)

        return build

    def revoke(self, target: PartnerItem) -> Callable[[], Outgoing]:
        """The revoke (BussinessDocType 1) of a document the partner sent."""

        def build() -> Outgoing:
            original = target.package
            assert isinstance(original, DocumentPackage)  # noqa: S101 - a document of ours
            pkg = samples.revoke(original)
            receiver = original.header.to[0]
            return Outgoing(
                self._bytes(pkg), self._item("revoke", pkg, f"revoke of {target.label}", receiver)
            )

        return build

    def recall(self, target: PartnerItem) -> Callable[[], Outgoing]:
        """A status 13 asking the vendor to give back a document the partner sent."""

        def build() -> Outgoing:
            original = target.package
            assert isinstance(original, DocumentPackage)  # noqa: S101 - a document of ours
            pkg = samples.status(
                original,
                "13",
                sender=self.partner_org,
                description="Đề nghị gửi lại văn bản để cập nhật nội dung (kiểm thử)",
            )
            receiver = original.header.to[0]
            item = self._item(
                "recall",
                original,
                f"recall (status 13) of {target.label}",
                receiver,
                code="13",
            )
            # ResponseFor names the partner's own document: route it by hand to the vendor.
            route = (self.partner.organ, [receiver.organ_id or ""], "status")
            return Outgoing(self._bytes(pkg), item, route)

        return build
