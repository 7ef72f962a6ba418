"""Report dossiers to the portal: the classic DVCQG adapter, then the token-based portal.

Classic adapter (vn-contracts §4.1), as the one-stop shop of Nghệ An's provincial office:
log in with the ``dstcode`` header (lgsp does it on first use), sync a batch of dossiers
(DongBoHoSoMC), walk one of them from 2 (received) through 4 and 9 to 10 (result returned) with
CapNhatTienDoHoSoMC, look it up (TraCuuHoSo), and see the portal refuse a move its status table
forbids (10 → 4).

Token-based ministry portal (§4.3): a client-credentials token, the next dossier code
(GetNextValue), the dossier created, a processing step (CapNhatTienTrinh) and the final
statuses (CapNhatTrangThai).

Run: python examples/dossier_sync.py [FOLDER]   (a temporary folder by default)
Against a sandbox already running: LGSP_SANDBOX_URL=http://127.0.0.1:8750 python examples/...
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lgsp import Client, LgspError
from lgsp.clients import PortalProfile, Settings, TokenPortalProfile
from lgsp.dossiers import (
    VIETNAM_TZ,
    ApplicantKind,
    ComponentFile,
    DossierComponent,
    DossierCreation,
    DossierStatus,
    ProgressUpdate,
    StatusUpdate,
    Submitter,
    SubmitterDetails,
    status_label,
)
from lgsp.sandbox import Sandbox, SandboxConfig
from lgsp.testing import samples

OWNERS = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thị Dung", "Võ Minh Em"]


@contextlib.contextmanager
def sandbox_url() -> Iterator[str]:
    """``$LGSP_SANDBOX_URL``, or a sandbox started here on a free loopback port."""
    given = os.environ.get("LGSP_SANDBOX_URL")
    if given:
        yield given.rstrip("/")
        return
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox.url


def classic(url: str, folder: Path) -> int:
    user = SandboxConfig.demo().portal_users[0]
    settings = Settings(
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
    # Received two hours ago, so that the steps below happen in the past.
    start = dt.datetime.now(VIETNAM_TZ).replace(microsecond=0) - dt.timedelta(hours=2)
    batch = [
        samples.dossier(unit=user.madonvi, received_at=start, owner_name=owner) for owner in OWNERS
    ]
    (folder / "dossiers.json").write_text(
        json.dumps([item.to_wire("classic") for item in batch], ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    with Client.from_settings(settings) as portal:
        answer = portal.dossiers.sync(batch)
        print(f"classic: DongBoHoSoMC of {len(batch)} dossiers: {answer.get('message')}")

        code = batch[0].code or ""
        path = [DossierStatus.PROCESSING, DossierStatus.PROCESSED, DossierStatus.RETURNED]
        for n, status in enumerate(path, 1):
            step = samples.dossier_step(code, status, at=start + dt.timedelta(minutes=20 * n))
            portal.dossiers.update_progress([step])
        found = portal.dossiers.lookup(code)
        if not found.result or found.result[0].status != DossierStatus.RETURNED:
            print(f"TraCuuHoSo: {code} did not reach 10")
            return 1
        walked = " → ".join(str(int(s)) for s in (DossierStatus.RECEIVED, *path))
        print(f"classic: {code} walked {walked}: {status_label(10)}")

        late = samples.dossier_step(
            code, DossierStatus.PROCESSING, at=start + dt.timedelta(hours=1, minutes=30)
        )
        try:
            portal.dossiers.update_progress([late])
        except LgspError as exc:
            print(f"classic: 10 → 4 refused, as it must be: {exc}")
        else:
            print("classic: the portal accepted 10 → 4")
            return 1
    return 0


def creation(code: str, unit: str, now: dt.datetime) -> DossierCreation:
    """A dossier of the token API (§4.3), its code issued by GetNextValue."""
    applicant = ApplicantKind.CITIZEN
    return DossierCreation(
        code=code,
        procedure_code="1.001193",
        public_service_code="DVC-1.001193",
        owner_name="Hồ Thị Giang",
        applicant_kind=applicant,
        receiving_unit=unit,
        submitted_at=now - dt.timedelta(minutes=30),
        received_at=now,
        components=[
            DossierComponent(
                component_code="000.00.00.G09-TK001",
                name="Tờ khai đăng ký khai sinh",
                quantity=1,
                copy_kind=0,
                files=[ComponentFile(paper_id="f-0001", name="To-khai.pdf")],
            )
        ],
        submitter=Submitter(
            applicant_kind=applicant,
            subject_id="cd-0001",
            details=SubmitterDetails(
                name="Hồ Thị Giang",
                id_number="040199004321",
                phone="0912345678",
                province_code="40",
                commune_code="16681",
                address="Số 5 Lê Hồng Phong, Vinh",
            ),
        ),
    )


def token_based(url: str) -> int:
    app = SandboxConfig.demo().portal_clients[0]
    settings = Settings(
        dossiers=TokenPortalProfile(
            base_url=f"{url}/portal-token",
            token_url=f"{url}/portal-token/token",
            client_id=app.client_id,
            client_secret=app.client_secret,
        )
    )
    unit = SandboxConfig.demo().portal_users[0].madonvi
    now = dt.datetime.now(VIETNAM_TZ).replace(microsecond=0) - dt.timedelta(hours=1)
    with Client.from_settings(settings) as portal:
        code = portal.dossiers.next_code(unit)
        print(f"token: GetNextValue({unit}) → {code}")
        created: Any = portal.dossiers.create(creation(code, unit, now))
        dossier_id = created["data"]["IdHoSo"]
        print(f"token: created {code}, IdHoSo {dossier_id}, status {created['data']['TrangThai']}")
        step = ProgressUpdate(
            dossier_id=dossier_id,
            code=code,
            handler="Ngô Văn Em",
            handled_at=now + dt.timedelta(minutes=10),
            department="Bộ phận một cửa",
            content="Chuyển phòng Tư pháp xử lý",
            status=DossierStatus.PROCESSING,
            started_at=now + dt.timedelta(minutes=10),
            due_at=now + dt.timedelta(days=1),
        )
        portal.dossiers.update_steps([step])
        print("token: CapNhatTienTrinh → 4 (Đang xử lý)")
        final = [
            StatusUpdate(dossier_id=dossier_id, code=code, status=DossierStatus.PROCESSED),
            StatusUpdate(dossier_id=dossier_id, code=code, status=DossierStatus.RETURNED),
        ]
        answer: Any = portal.dossiers.update_status(final)
        reached = answer["data"][-1]["TrangThai"]
        print(f"token: CapNhatTrangThai → 9, 10: the portal holds {code} at {reached}")
        if reached != 10:
            return 1
    return 0


def main(folder: Path) -> int:
    with sandbox_url() as url:
        failed = classic(url, folder) or token_based(url)
    if failed:
        return failed
    print(f"wrote {folder / 'dossiers.json'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
