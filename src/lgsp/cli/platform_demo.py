"""``lgsp demo``: the platform end to end, against a sandbox started on this machine.

Two agencies on two centres of the VXP axis — the Government Office (``000.00.00.G22``,
system ``vxp.saas.03``, over REST) and the People's Committee of Nghệ An (``000.00.00.H41``,
over the provincial SOAP hub) — exchange a signed document, its status packages and its
revocation; a dossier goes to the portal and is walked to "returned"; the directory is looked
up by name. Every step goes through lgsp's public API exactly as a vendor's code would.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from lgsp import Client, read_package, sign_package, verify_package
from lgsp.clients import Settings, SoapHubProfile, VxpProfile
from lgsp.documents import VIETNAM_TZ, Attachment, DocumentPackage, StatusPackage
from lgsp.dossiers import DossierStatus
from lgsp.errors import LgspError
from lgsp.registry import RegistryCache
from lgsp.signatures import KeySigner
from lgsp.signatures.pdf import sign_pdf, verify_pdf
from lgsp.testing import samples
from lgsp.testing.pki import make_pki

__all__ = ["run_platform_demo"]

A, B = "000.00.00.G22", "000.00.00.H41"


class DemoError(Exception):
    """A step saw something other than what the story expects."""


@dataclass
class _Steps:
    console: Console
    count: int = 0
    started: float = field(default_factory=time.perf_counter)

    def run(self, title: str, action: Callable[[], str]) -> None:
        self.count += 1
        line = Text(f"{self.count:>2}. {title:<44} ")
        began = time.perf_counter()
        try:
            detail = action()
        except (DemoError, LgspError, OSError) as exc:
            line.append("FAIL", style="bold red")
            line.append(f"  {exc}")
            self.console.print(line, soft_wrap=True)
            raise
        line.append("ok", style="bold green")
        line.append(f" {time.perf_counter() - began:5.2f}s  {detail}")
        self.console.print(line, soft_wrap=True)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise DemoError(message)


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="lgsp-demo-") as tmp:
        yield Path(tmp)


def run_platform_demo(console: Console, *, keep: Path | None = None) -> int:
    """Start a sandbox, play the story, print each step; 0 when every step passed."""
    from lgsp.sandbox import Sandbox, SandboxConfig

    console.print(Text("lgsp demo: the platform on one machine", style="bold"), soft_wrap=True)
    try:
        demo = SandboxConfig.demo()
        # A and B register themselves in the story; the rest of the directory is seeded.
        config = demo.model_copy(
            update={"agencies": [a for a in demo.agencies if a.code not in (A, B)]}
        )
        with _workdir(keep) as work, Sandbox(config, db=work / "sandbox.db") as box:
            console.print(Text(f"Sandbox at {box.url}  ·  files in {work}"), soft_wrap=True)
            setup = time.perf_counter()
            _Story(console, box.url, box.config, work).play()
            took = time.perf_counter() - setup
    except (DemoError, LgspError, OSError) as exc:
        console.print(Text(f"Result: FAILED ({exc})", style="bold red"), soft_wrap=True)
        return 1
    console.print(Text(f"Result: OK, every step passed in {took:.1f} s", style="bold green"))
    return 0


class _Story:
    def __init__(self, console: Console, url: str, config: Any, work: Path) -> None:
        self.steps = _Steps(console)
        self.work = work
        system_a = config.systems[0]
        user = config.portal_users[0]
        self.a = Client.from_settings(
            Settings(
                documents=VxpProfile(
                    endpoint=f"{url}/vxp", system_id=system_a.system_id, secret=system_a.secret
                )
            ),
            download_dir=work / "a-inbox",
            inbox=work / "a-inbox.db",
            outbox=work / "a-outbox.db",
        )
        self.b = Client.from_settings(
            Settings(
                documents=SoapHubProfile(endpoint=f"{url}/soap/DocumentHub", organ_id=B),
                dossiers=user.client_profile(url),
            ),
            download_dir=work / "b-inbox",
            inbox=work / "b-inbox.db",
        )
        self.pki = make_pki(organisation="Demo CA lgsp")
        identity = self.pki.signer()
        self.signer = KeySigner.from_pem(
            identity.key_pem(), identity.certificate_pem(), chain=[self.pki.intermediate_pem()]
        )
        self.original: DocumentPackage | None = None
        self.doc_id: str | None = None
        self.received: list[Any] = []
        self.dossier_code = ""

    def play(self) -> None:
        s = self.steps
        try:
            s.run("Register both agencies in the directory", self.register)
            s.run("A: sign the PDF, build and sign the package", self.build)
            s.run("A: send it over REST (VXP, HMAC-signed)", self.send)
            s.run("B: receive over SOAP, verify, hand over", self.receive_b)
            for code in ("01", "03", "06"):
                s.run(f"B: answer with status {code}", functools.partial(self.answer, code))
            s.run("A: receive the three status packages", self.receive_statuses)
            s.run("A: revoke the document", self.revoke)
            s.run("B: receive the revocation", self.receive_revoke)
            s.run("Portal: sync a dossier (DongBoHoSoMC)", self.sync_dossier)
            s.run("Portal: walk it to 10 (CapNhatTienDoHoSoMC)", self.walk_dossier)
            s.run("Portal: an illegal step is refused", self.illegal_step)
            s.run("Registry: look the agencies up by name", self.lookup)
        finally:
            self.a.close()
            self.b.close()

    # -- documents --------------------------------------------------------------------------

    def _original(self) -> DocumentPackage:
        if self.original is None:
            raise DemoError("no document was built")
        return self.original

    def register(self) -> str:
        for code, name in ((A, "Văn phòng Chính phủ"), (B, "Ủy ban nhân dân tỉnh Nghệ An")):
            self.a.agencies.register(
                {"code": code, "name": name, "pcode": "", "mail": f"vanthu@{code}.example.gov.vn"}
            )
        codes = {agency.code for agency in self.a.agencies.list()}
        _expect({A, B} <= codes, f"the directory lacks {sorted({A, B} - codes)}")
        return f"{len(codes)} agencies listed"

    def build(self) -> str:
        letter = samples.pdf_bytes(
            ["Cong van so 1234/VPCP-TTDT", "V/v trien khai ket noi lien thong van ban"]
        )
        signed_pdf = sign_pdf(
            letter, signer=self.signer, reason="Ký số công văn", location="Hà Nội"
        )
        pdf = Attachment.from_bytes(
            "Công văn 1234.pdf",
            signed_pdf,
            content_id="cv-1234-pdf",
            description="Công văn số 1234/VPCP-TTĐT (đã ký số)",
        )
        docx = Attachment.from_bytes(
            "Phụ lục.docx", samples.docx_bytes(), content_id="cv-1234-docx", description="Phụ lục"
        )
        self.original = samples.document(
            date=dt.datetime.now(VIETNAM_TZ).date(), attachments=[pdf, docx]
        )
        from lgsp import package_to_bytes

        data = sign_package(package_to_bytes(self.original), self.signer)
        self.package_path = self.work / "cong-van-1234.edxml"
        self.package_path.write_bytes(data)
        result = verify_package(data)
        _expect(result.valid, f"the package signature does not verify: {result.reason}")
        method = (result.signature_method or "").rsplit("#", 1)[-1]
        return f"{len(data):,} bytes; PDF (PAdES) and package ({method}) signed"

    def send(self) -> str:
        outcome = self.a.documents.send(self.package_path)
        _expect(outcome.accepted, f"the axis refused it: {outcome.code} {outcome.message}")
        self.doc_id = outcome.doc_id
        again = self.a.documents.send(self.package_path)
        _expect(again.duplicate and again.doc_id == outcome.doc_id, "a resend was sent twice")
        return f"DocId {outcome.doc_id}; a resend is recognised by the outbox"

    def receive_b(self) -> str:
        got: list[Any] = []

        def check(path: Path) -> Any:
            return verify_package(path)

        report = self.b.documents.receive(got.append, verify=check)
        _expect(len(got) == 1, f"B received {len(got)} packages, expected 1 ({report})")
        delivery = got[0]
        pkg = delivery.package
        _expect(isinstance(pkg, DocumentPackage), "B did not receive a document package")
        pdf = next(a for a in pkg.attachments if a.name.endswith(".pdf"))
        pdf_results = verify_pdf(pdf.read_bytes())
        _expect(
            bool(pdf_results) and all(r.intact for r in pdf_results),
            "the PDF signature does not verify",
        )
        again = self.b.documents.receive(got.append)
        _expect(len(got) == 1 and not again.handed_over, "a package was handed over twice")
        self.received.append(delivery)
        signer = pdf_results[0].signer
        who = signer.common_name if signer is not None else "?"
        return f"“{(pkg.header.subject or '')[:36]}…”; package and PDF signatures valid ({who})"

    def answer(self, code: str) -> str:
        outcome = self.b.documents.send(
            samples.status(self._original(), code, sender=samples.NGHE_AN)
        )
        _expect(outcome.accepted, f"status {code} refused: {outcome.message}")
        return f"status {code} sent, DocId {outcome.doc_id}"

    def receive_statuses(self) -> str:
        got: list[Any] = []
        self.a.documents.receive(got.append, message_type="status")
        codes = [d.package.header.code or "" for d in got if isinstance(d.package, StatusPackage)]
        _expect(sorted(codes) == ["01", "03", "06"], f"A saw statuses {codes}")
        return "01 Đã đến → 03 Đã tiếp nhận → 06 Đã hoàn thành"

    def revoke(self) -> str:
        outcome = self.a.documents.send(samples.revoke(self._original()))
        _expect(outcome.accepted, f"the revocation was refused: {outcome.message}")
        return f"revocation sent, DocId {outcome.doc_id}"

    def receive_revoke(self) -> str:
        got: list[Any] = []
        self.b.documents.receive(got.append)
        _expect(len(got) == 1, f"B received {len(got)} packages, expected the revocation")
        pkg = got[0].package
        _expect(
            isinstance(pkg, DocumentPackage)
            and pkg.business is not None
            and int(pkg.business.doc_type) == 1,
            "that was not a revocation",
        )
        target = pkg.header.response_for[0].document_id
        return f"revokes {target}"

    # -- dossiers and registry -------------------------------------------------------------

    def sync_dossier(self) -> str:
        now = dt.datetime.now(VIETNAM_TZ).replace(microsecond=0) - dt.timedelta(hours=2)
        item = samples.dossier(unit="000.00.01.H41", status=DossierStatus.RECEIVED, received_at=now)
        self.dossier_code = item.code or ""
        self.dossier_start = now
        self.b.dossiers.sync([item])
        found = self.b.dossiers.lookup(self.dossier_code)
        _expect(bool(found.result), "TraCuuHoSo does not find the dossier")
        return f"{self.dossier_code} at status 2 (Được tiếp nhận)"

    def walk_dossier(self) -> str:
        path = (DossierStatus.PROCESSING, DossierStatus.PROCESSED, DossierStatus.RETURNED)
        for n, status in enumerate(path, 1):
            step = samples.dossier_step(
                self.dossier_code, status, at=self.dossier_start + dt.timedelta(minutes=20 * n)
            )
            self.b.dossiers.update_progress([step])
        found = self.b.dossiers.lookup(self.dossier_code)
        _expect(
            bool(found.result) and found.result[0].status == DossierStatus.RETURNED,
            f"the dossier ended at {found.result[0].status if found.result else None}",
        )
        return "2 → 4 → 9 → 10 (Đã trả kết quả)"

    def illegal_step(self) -> str:
        step = samples.dossier_step(
            self.dossier_code,
            DossierStatus.PROCESSING,
            at=self.dossier_start + dt.timedelta(hours=1, minutes=30),
        )
        try:
            self.b.dossiers.update_progress([step])
        except LgspError as exc:
            return f"10 → 4 refused: {str(exc)[:70]}"
        raise DemoError("the portal accepted 10 → 4")

    def lookup(self) -> str:
        with RegistryCache(self.work / "registry.db") as cache:
            self.a.agencies.list(cache=cache)
            hits = cache.search("ubnd nghe an", kind="agencies")
            _expect(bool(hits) and hits[0].code == B, f"'ubnd nghe an' found {hits[:1]}")
            office = cache.search("van phong chinh phu", kind="agencies")
            _expect(bool(office) and office[0].code == A, "'van phong chinh phu' not found")
        return f"“ubnd nghe an” → {hits[0].code} {hits[0].name}; “van phong chinh phu” → {A}"


def package_summary(path: Path) -> str:
    """One line about a package file (for people reading the demo's folder)."""
    pkg = read_package(path)
    return f"{path.name}: {type(pkg).__name__}"
