"""Answer a received document with status packages 01, 03 and 06; the sender sees them.

The Government Office sends a letter over VXP. The People's Committee of Nghệ An is on its
province's SOAP document hub: it receives the letter there and answers, as the receiving
office's clerk moves it along, with three status packages — 01 (arrived), 03 (taken in),
06 (finished). Each names the letter in ``ResponseFor``, so the axis routes it back to the
sender, who receives them with its own receive loop and reads the codes.

Run: python examples/status_replies.py [FOLDER]   (a temporary folder by default)
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

from lgsp import Client, StatusCode, write_package
from lgsp.clients import Delivery, Settings, SoapHubProfile, VxpProfile
from lgsp.documents import VIETNAM_TZ, DocumentPackage, StatusPackage
from lgsp.sandbox import Sandbox, SandboxConfig
from lgsp.testing import samples


@contextlib.contextmanager
def sandbox_url() -> Iterator[str]:
    """``$LGSP_SANDBOX_URL``, or a sandbox started here on a free loopback port."""
    given = os.environ.get("LGSP_SANDBOX_URL")
    if given:
        yield given.rstrip("/")
        return
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox.url


def main(folder: Path) -> int:
    office = SandboxConfig.demo().systems[0]  # vxp.saas.03, serves 000.00.00.G22
    today = dt.datetime.now(VIETNAM_TZ).date()
    letter = samples.document(number=str(uuid.uuid4().int % 100_000), date=today)
    letter_id = samples.document_id(letter)

    with sandbox_url() as url:
        sender = Client.from_settings(
            Settings(
                documents=VxpProfile(
                    endpoint=f"{url}/vxp", system_id=office.system_id, secret=office.secret
                )
            ),
            download_dir=folder / "office-inbox",
        )
        # Nghệ An's hub knows it by its organ code; its WSDL is fetched on first use.
        receiver = Client.from_settings(
            Settings(
                documents=SoapHubProfile(
                    endpoint=f"{url}/soap/DocumentHub", organ_id=samples.NGHE_AN.organ_id
                )
            ),
            download_dir=folder / "nghe-an-inbox",
        )
        with sender, receiver:
            sent = sender.documents.send(letter)
            if not sent.accepted:
                print(f"the axis refused the letter: {sent.message}")
                return 1
            print(f"Government Office → Nghệ An: {letter.header.code} sent, DocId {sent.doc_id}")

            received: list[DocumentPackage] = []

            def take(delivery: Delivery) -> None:
                if isinstance(delivery.package, DocumentPackage):
                    received.append(delivery.package)

            receiver.documents.receive(take, message_type="edoc")
            original = next((p for p in received if samples.document_id(p) == letter_id), None)
            if original is None:
                print("Nghệ An did not receive the letter")
                return 1
            print(f"Nghệ An received it over the SOAP hub: “{original.header.subject}”")

            for code in ("01", "03", "06"):
                reply = samples.status(original, code, sender=samples.NGHE_AN)
                write_package(reply, folder / f"status-{code}.edxml")
                outcome = receiver.documents.send(reply)
                if not outcome.accepted:
                    print(f"status {code} was refused: {outcome.message}")
                    return 1
                print(f"Nghệ An → Government Office: status {code} ({StatusCode(code).label})")

            statuses: list[StatusPackage] = []

            def note(delivery: Delivery) -> None:
                if isinstance(delivery.package, StatusPackage):
                    statuses.append(delivery.package)

            sender.documents.receive(note, message_type="status")

    about_letter = [s for s in statuses if s.header.response_for.document_id == letter_id]
    for status in about_letter:
        head = status.header
        print(f"the Government Office sees: {head.code} {head.description} at {head.timestamp}")
    codes = sorted(str(s.header.code) for s in about_letter)
    if codes != ["01", "03", "06"]:
        print(f"expected the statuses 01, 03, 06; the sender saw {codes}")
        return 1
    print(f"wrote status-01/03/06.edxml in {folder}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
