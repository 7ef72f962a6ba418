"""A small conformance run: every document and dossier operation against the sandbox, in a table.

Each row calls one operation of the platform through lgsp's clients — the VXP axis (direct and
behind the LGSP gateway), the SOAP document hub, the classic DVCQG adapter and the token-based
portal — and checks what came back: the answer's shape, that the data went where it should,
and that what must be refused (a wrong HMAC, a wrong client secret, a forbidden status move)
is. The table is printed and written as JSON; the exit code is 1 when a row fails.

This is a sketch of what a conformance run looks like. The full conformance kit — validation
profiles, the endpoint suite against any deployment, reports, the pytest plugin — comes with
issue 7 (``lgsp.conformance``).

Run: python examples/conformance_run.py [FOLDER]   (a temporary folder by default)
Against a sandbox already running: LGSP_SANDBOX_URL=http://127.0.0.1:8750 python examples/...
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lgsp import AuthError, Client, LgspError, RemoteServiceError, package_to_bytes
from lgsp.clients import (
    GatewayProfile,
    PortalProfile,
    Settings,
    SoapHubProfile,
    TokenPortalProfile,
    VxpProfile,
)
from lgsp.dossiers import (
    VIETNAM_TZ,
    ApplicantKind,
    DossierComponent,
    DossierCreation,
    DossierStatus,
    ProgressUpdate,
    StatusUpdate,
    Submitter,
    SubmitterDetails,
)
from lgsp.registry.models import Procedure
from lgsp.sandbox import Sandbox, SandboxConfig
from lgsp.testing import samples


class CheckError(Exception):
    """An operation answered, but not what the contract says."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckError(message)


@dataclasses.dataclass
class Row:
    area: str
    operation: str
    passed: bool
    detail: str
    seconds: float


@dataclasses.dataclass
class Run:
    rows: list[Row] = dataclasses.field(default_factory=list)

    def check(self, area: str, operation: str, action: Callable[[], str]) -> None:
        began = time.perf_counter()
        try:
            detail, passed = action(), True
        except (CheckError, LgspError, KeyError, TypeError) as exc:
            detail, passed = f"{type(exc).__name__}: {exc}", False
        took = time.perf_counter() - began
        self.rows.append(Row(area, operation, passed, detail, took))

    def table(self) -> str:
        wide = max(len(r.operation) for r in self.rows)
        lines = []
        for r in self.rows:
            verdict = "pass" if r.passed else "FAIL"
            lines.append(f"{r.area:<8} {r.operation:<{wide}}  {verdict}  {r.detail[:80]}")
        return "\n".join(lines)


@contextlib.contextmanager
def sandbox_url() -> Iterator[str]:
    """``$LGSP_SANDBOX_URL``, or a sandbox started here on a free loopback port."""
    given = os.environ.get("LGSP_SANDBOX_URL")
    if given:
        yield given.rstrip("/")
        return
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox.url


def vxp(url: str, system: int, *, wrong_secret: bool = False) -> Settings:
    chosen = SandboxConfig.demo().systems[system]
    secret = chosen.secret + ("-but-wrong" if wrong_secret else "")
    return Settings(
        documents=VxpProfile(endpoint=f"{url}/vxp", system_id=chosen.system_id, secret=secret)
    )


def gateway(url: str, *, wrong_secret: bool = False) -> Settings:
    demo = SandboxConfig.demo()
    app, system = demo.applications[0], demo.systems[0]
    return Settings(
        documents=GatewayProfile(
            base_url=url,
            client_id=app.client_id,
            client_secret=app.client_secret + ("-but-wrong" if wrong_secret else ""),
            system_id=system.system_id,  # the demo application is bound to no system:
            secret=system.secret,  # its calls carry the VXP signature too
        )
    )


def portal(url: str) -> Settings:
    user = SandboxConfig.demo().portal_users[0]
    return Settings(
        dossiers=PortalProfile(
            adapter_url=f"{url}/portal",
            auth_endpoint="/auth",
            integration_endpoint="/integration",
            share_endpoint="/share",
            username=user.username,
            password=user.password,
            dstcode=user.dstcode,
            madonvi=user.madonvi,
        )
    )


def token_portal(url: str) -> Settings:
    app = SandboxConfig.demo().portal_clients[0]
    return Settings(
        dossiers=TokenPortalProfile(
            base_url=f"{url}/portal-token",
            token_url=f"{url}/portal-token/token",
            client_id=app.client_id,
            client_secret=app.client_secret,
        )
    )


def refused(call: Callable[[], Any], *errors: type[Exception]) -> str:
    """Run ``call``, which must raise one of ``errors``; its message, shortened."""
    try:
        call()
    except errors as exc:
        return f"refused: {getattr(exc, 'message', None) or exc}"
    raise CheckError("the call was accepted")


def documents(run: Run, url: str, work: Path) -> None:
    today = dt.datetime.now(VIETNAM_TZ).date()
    tag = uuid.uuid4().int % 10_000
    letter = samples.document(number=f"{tag}1", date=today)
    data = package_to_bytes(letter)
    sha = hashlib.sha256(data).hexdigest()
    ids: dict[str, str] = {}
    a = Client.from_settings(vxp(url, 0))
    b = Client.from_settings(vxp(url, 1), download_dir=work / "b")
    hub = Client.from_settings(
        Settings(
            documents=SoapHubProfile(endpoint=f"{url}/soap/DocumentHub", organ_id="000.00.00.H41")
        ),
        download_dir=work / "hub",
    )
    forged = Client.from_settings(vxp(url, 0, wrong_secret=True))
    agency = f"000.00.{tag % 90 + 10:02d}.G22"

    def send() -> str:
        outcome = a.documents.send(data)
        expect(outcome.accepted and bool(outcome.doc_id), f"refused: {outcome.message}")
        ids["doc"] = outcome.doc_id or ""
        return f"DocId {outcome.doc_id}"

    def resend() -> str:
        again = a.documents.send(data)
        expect(again.doc_id == ids["doc"], f"a second copy: DocId {again.doc_id}")
        return "the same bytes get the first DocId"

    def received() -> str:
        items = b.documents.received("edoc")
        expect(ids["doc"] in {i.doc_id for i in items}, "the document is not listed")
        return f"{len(items)} waiting, ours among them"

    def download() -> str:
        got = b.documents.get(ids["doc"])
        expect(hashlib.sha256(got).hexdigest() == sha, "the bytes differ from those sent")
        return f"{len(got):,} bytes, SHA-256 as sent"

    def sent_list() -> str:
        items = a.documents.sent(doc_id=ids["doc"])
        expect(bool(items) and items[0].receive_status == "done", f"sent list: {items}")
        return "the receiver's acknowledgement shows"

    def status_reply() -> str:
        outcome = b.documents.send(samples.status(letter, "03", sender=samples.NGHE_AN))
        expect(outcome.accepted, f"refused: {outcome.message}")
        return f"status 03 sent, DocId {outcome.doc_id}"

    def hub_round() -> str:
        second = a.documents.send(samples.document(number=f"{tag}2", date=today))
        expect(second.accepted, f"refused: {second.message}")
        pending = {i.doc_id for i in hub.documents.received()}
        expect(second.doc_id in pending, "the hub does not list it")
        size = len(hub.documents.get(second.doc_id or ""))
        hub.documents.update_status(second.doc_id or "", "done")
        return f"listed, fetched ({size:,} bytes), acknowledged"

    checks: list[tuple[str, str, Callable[[], str]]] = [
        ("VXP", "getAgenciesList", lambda: f"{len(a.agencies.list())} agencies"),
        ("VXP", "getAgenciesListQD20", lambda: f"{len(a.agencies.list_qd20(1))} at level 1"),
        ("VXP", "getSynchronizeUnit", lambda: f"{len(a.agencies.sync_units())} units"),
        (
            "VXP",
            "registerAgency",
            lambda: str(a.agencies.register({"code": agency, "name": "Vụ Thử nghiệm"})["data"]),
        ),
        ("VXP", "deleteAgency", lambda: str(a.agencies.delete(agency)["status"])),
        ("VXP", "sendEdoc", send),
        ("VXP", "sendEdoc (resend)", resend),
        ("VXP", "any call, wrong HMAC", lambda: refused(forged.agencies.list, RemoteServiceError)),
        ("VXP", "countReceiveEdoc", lambda: f"{b.documents.count('edoc')} waiting"),
        ("VXP", "getReceivedEdocList", received),
        ("VXP", "getEdoc", download),
        ("VXP", "updateStatus", lambda: str(b.documents.update_status(ids["doc"], "done"))),
        ("VXP", "getSentEdocList", sent_list),
        ("VXP", "sendEdoc (status)", status_reply),
        ("VXP", "countReceiveStatus", lambda: f"{a.documents.count('status')} waiting"),
        ("SOAP", "Get/Send/UpdateTraces", hub_round),
        ("SOAP", "GetOrganizations", lambda: f"{len(hub.agencies.list())} organisations"),
    ]
    try:
        for area, operation, action in checks:
            run.check(area, operation, action)
        g = Client.from_settings(gateway(url))
        with g:
            run.check("gateway", "token + getAgenciesList", lambda: f"{len(g.agencies.list())}")
        bad = Client.from_settings(gateway(url, wrong_secret=True))
        with bad:
            run.check(
                "gateway", "token (wrong secret)", lambda: refused(bad.agencies.list, AuthError)
            )
    finally:
        for client in (a, b, hub, forged):
            client.close()


def procedure_name(found: Procedure | None) -> str:
    expect(found is not None and found.code == "1.001193", f"LayThuTuc found {found}")
    return str(found.name if found else "")


def dossiers(run: Run, url: str) -> None:
    unit = SandboxConfig.demo().portal_users[0].madonvi
    start = dt.datetime.now(VIETNAM_TZ).replace(microsecond=0) - dt.timedelta(hours=2)
    item = samples.dossier(unit=unit, received_at=start)
    code = item.code or ""

    def step(status: DossierStatus, minutes: int) -> Any:
        return samples.dossier_step(code, status, at=start + dt.timedelta(minutes=minutes))

    with Client.from_settings(portal(url)) as p:
        checks: list[tuple[str, Callable[[], str]]] = [
            ("login + DongBoHoSoMC", lambda: str(p.dossiers.sync([item]).get("message"))),
            (
                "CapNhatTienDoHoSoMC",
                lambda: str(
                    p.dossiers.update_progress(
                        [step(DossierStatus.PROCESSING, 20), step(DossierStatus.RETURNED, 40)]
                    ).get("message")
                ),
            ),
            ("TraCuuHoSo", lambda: f"status {p.dossiers.lookup(code).result[0].status}"),
            (
                "CapNhatTienDoHoSoMC (10 → 4)",
                lambda: refused(
                    lambda: p.dossiers.update_progress([step(DossierStatus.PROCESSING, 60)]),
                    RemoteServiceError,
                ),
            ),
            ("LayThuTuc", lambda: procedure_name(p.catalogue.procedure("1.001193"))),
            ("LayDanhSachTTHC", lambda: f"{len(p.catalogue.procedures())} procedures"),
            ("LayDanhMucCoQuan", lambda: f"{len(p.catalogue.organs())} organs"),
            ("LayDanhMucLinhVuc", lambda: f"{len(p.catalogue.fields_of_work())} fields"),
        ]
        for operation, action in checks:
            run.check("portal", operation, action)

    ids: dict[str, Any] = {}
    now = start + dt.timedelta(hours=1)
    with Client.from_settings(token_portal(url)) as t:

        def next_code() -> str:
            ids["code"] = t.dossiers.next_code(unit)
            return str(ids["code"])

        def create() -> str:
            answer = t.dossiers.create(creation(ids["code"], unit, now))
            ids["id"] = answer["data"]["IdHoSo"]
            return f"IdHoSo {ids['id']}, status {answer['data']['TrangThai']}"

        def steps() -> str:
            update = ProgressUpdate(
                dossier_id=ids["id"],
                code=ids["code"],
                handler="Ngô Văn Em",
                handled_at=now + dt.timedelta(minutes=5),
                department="Bộ phận một cửa",
                content="Chuyển xử lý",
                status=DossierStatus.PROCESSING,
                started_at=now + dt.timedelta(minutes=5),
                due_at=now + dt.timedelta(days=1),
            )
            answer = t.dossiers.update_steps([update])
            return f"status {answer['data'][0]['TrangThai']}"

        def statuses() -> str:
            done = [
                StatusUpdate(dossier_id=ids["id"], code=ids["code"], status=s)
                for s in (DossierStatus.PROCESSED, DossierStatus.RETURNED)
            ]
            answer = t.dossiers.update_status(done)
            return f"status {answer['data'][-1]['TrangThai']}"

        for operation, action in (
            ("token + GetNextValue", next_code),
            ("DongBoHoSo", create),
            ("CapNhatTienTrinh", steps),
            ("CapNhatTrangThai", statuses),
        ):
            run.check("portal-t", operation, action)


def creation(code: str, unit: str, now: dt.datetime) -> DossierCreation:
    """A token-API dossier (§4.3) with one component and its submitter."""
    return DossierCreation(
        code=code,
        procedure_code="1.001193",
        public_service_code="DVC-1.001193",
        owner_name="Hồ Thị Giang",
        applicant_kind=ApplicantKind.CITIZEN,
        receiving_unit=unit,
        submitted_at=now - dt.timedelta(minutes=30),
        received_at=now,
        components=[DossierComponent(component_code="000.00.00.G09-TK001", name="Tờ khai")],
        submitter=Submitter(
            applicant_kind=ApplicantKind.CITIZEN,
            details=SubmitterDetails(name="Hồ Thị Giang", id_number="040199004321"),
        ),
    )


def main(folder: Path) -> int:
    run = Run()
    with sandbox_url() as url:
        documents(run, url, folder)
        dossiers(run, url)
    print(run.table())
    failed = [r for r in run.rows if not r.passed]
    print(f"{len(run.rows) - len(failed)} of {len(run.rows)} checks passed")
    report = folder / "conformance.json"
    report.write_text(
        json.dumps([dataclasses.asdict(r) for r in run.rows], ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    print(f"wrote {report}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
