"""Send a signed document over VXP: build it, sign it with a test PKI, send it, read the outcome.

The Government Office (system ``vxp.saas.03``) sends a letter with a PDF and a DOCX to the
People's Committee of Nghệ An. The package is signed (XML-DSig, RSA-SHA256) with a certificate
of a throw-away PKI, verified before it leaves, and sent with the HMAC-signed ``XroadVnpt-*``
headers of the official SDK. A resend of the same bytes, and a package for an agency the axis
does not know, show the two other outcomes a sender must handle.

Run: python examples/send_document.py [FOLDER]   (a temporary folder by default)
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

from lgsp import Client, KeySigner, SendOutcome, package_to_bytes, sign_package, verify_package
from lgsp.clients import Settings, VxpProfile
from lgsp.documents import VIETNAM_TZ, Organization
from lgsp.sandbox import Sandbox, SandboxConfig
from lgsp.signatures import TrustSettings
from lgsp.testing import samples
from lgsp.testing.pki import make_pki


@contextlib.contextmanager
def sandbox_url() -> Iterator[str]:
    """``$LGSP_SANDBOX_URL``, or a sandbox started here on a free loopback port."""
    given = os.environ.get("LGSP_SANDBOX_URL")
    if given:
        yield given.rstrip("/")
        return
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox.url


def show(what: str, outcome: SendOutcome) -> None:
    verdict = "accepted" if outcome.accepted else "refused"
    print(f"{what}: {verdict}, DocId {outcome.doc_id}, code {outcome.code}")
    if outcome.message:
        print(f"  the axis says: {outcome.message}")
    if not outcome.accepted:
        print(f"  safe to send again: {outcome.retry_safe}")


def main(folder: Path) -> int:
    office = SandboxConfig.demo().systems[0]  # vxp.saas.03, serves 000.00.00.G22
    pki = make_pki(organisation="Example CA lgsp")
    identity = pki.signer()
    signer = KeySigner(identity.key, identity.certificate, identity.chain)

    today = dt.datetime.now(VIETNAM_TZ).date()  # the certificate is valid today
    number = str(uuid.uuid4().int % 100_000)  # a new letter each run (the axis dedupes resends)
    letter = samples.document(number=number, date=today)
    signed = sign_package(package_to_bytes(letter), signer)
    path = folder / f"cong-van-{number}.edxml"
    path.write_bytes(signed)

    trust = TrustSettings(anchors=[pki.root.certificate], crls=pki.crls())
    check = verify_package(signed, trust=trust)
    who = check.signer.subject if check.signer else "?"
    trusted = check.trust.outcome if check.trust else "not checked"
    print(f"built {path.name}: {len(signed):,} bytes, {len(letter.attachments)} attachments")
    print(f"signed by {who}: signature valid {check.valid}, trust {trusted}")
    if not (check.valid and check.trust is not None and check.trust.passed):
        return 1

    with sandbox_url() as url:
        settings = Settings(
            documents=VxpProfile(
                endpoint=f"{url}/vxp", system_id=office.system_id, secret=office.secret
            )
        )
        with Client.from_settings(settings) as client:
            outcome = client.documents.send(path)
            show(f"sent “{letter.header.subject}”", outcome)
            if not outcome.accepted:
                return 1
            again = client.documents.send(path)
            show("sent the same bytes again", again)
            if again.doc_id != outcome.doc_id:
                print("a resend made a second copy!")
                return 1

            stranger = Organization(organ_id="000.00.00.Z99", organ_name="Cơ quan không có")
            refused = client.documents.send(
                samples.document(number=f"{number}-X", date=today, receivers=[stranger])
            )
            show("sent to an agency the directory does not hold", refused)
            if refused.accepted:
                return 1

            for item in client.documents.sent(doc_id=outcome.doc_id):
                print(
                    f"sent list: DocId {item.sender_doc_id} to {item.to_code}: "
                    f"{item.send_status_desc}; receiver: {item.receive_status_desc}"
                )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
