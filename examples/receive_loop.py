"""A receiver with an inbox: poll, download, verify, hand over, acknowledge — each package once.

The Government Office sends two signed letters to the People's Committee of Nghệ An (system
``vxp.saas.07``). Nghệ An's receive loop polls ``getReceivedEdocList``, downloads each package,
verifies its signature against the trust anchor, hands it over (here: its attachments are
filed into a folder and a line goes to a journal), then acknowledges it ``done``.

The first pass stops before acknowledging, as a process killed right after the hand-over
would. The inbox (a small SQLite file) remembers what was handed over, so the second pass only
acknowledges: nothing is handed over twice. The third pass finds nothing waiting.

Run: python examples/receive_loop.py [FOLDER]   (a temporary folder by default)
Against a sandbox already running: LGSP_SANDBOX_URL=http://127.0.0.1:8750 python examples/...
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from lgsp import Client, KeySigner, package_to_bytes, sign_package, verify_package
from lgsp.clients import Delivery, ReceiveReport, Settings, VxpProfile
from lgsp.documents import VIETNAM_TZ, DocumentPackage
from lgsp.sandbox import Sandbox, SandboxConfig
from lgsp.signatures import TrustSettings, VerificationResult
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


def settings_for(url: str, system: int) -> Settings:
    """The demo provisioning's VXP system ``system`` (0: vxp.saas.03, 1: vxp.saas.07)."""
    chosen = SandboxConfig.demo().systems[system]
    return Settings(
        documents=VxpProfile(
            endpoint=f"{url}/vxp", system_id=chosen.system_id, secret=chosen.secret
        )
    )


def summary(report: ReceiveReport) -> str:
    return (
        f"handed over {len(report.handed_over)}, already handed {len(report.already_handed)}, "
        f"acknowledged {len(report.acknowledged)}, failed {len(report.failed)}"
    )


def main(folder: Path) -> int:
    pki = make_pki(organisation="Example CA lgsp")
    identity = pki.signer()
    signer = KeySigner(identity.key, identity.certificate, identity.chain)
    trust = TrustSettings(anchors=[pki.root.certificate], crls=pki.crls())
    today = dt.datetime.now(VIETNAM_TZ).date()
    run = uuid.uuid4().int % 100_000

    handed = folder / "handed-over"
    journal = folder / "journal.txt"
    times_handed: Counter[str] = Counter()

    def verify(path: Path) -> VerificationResult:
        return verify_package(path, trust=trust)

    def hand_over(delivery: Delivery) -> None:
        """The receiving office's own work: file the attachments, note the letter."""
        pkg = delivery.package
        if not isinstance(pkg, DocumentPackage):
            return
        target = handed / delivery.doc_id
        for attachment in pkg.attachments:
            attachment.save(target)
        trusted = delivery.verification.trust.outcome if delivery.verification else "unsigned"
        with journal.open("a", encoding="utf-8") as notes:
            notes.write(f"{delivery.doc_id}\t{pkg.header.code}\t{trusted}\t{pkg.header.subject}\n")
        times_handed[delivery.doc_id] += 1
        print(f"  handed over DocId {delivery.doc_id}: {pkg.header.code}, signer trust {trusted}")

    with sandbox_url() as url:
        with Client.from_settings(settings_for(url, 0)) as office:
            sent = []
            for n in (1, 2):
                letter = samples.document(number=f"{run}-{n}", date=today)
                outcome = office.documents.send(sign_package(package_to_bytes(letter), signer))
                if not outcome.accepted or outcome.doc_id is None:
                    print(f"the axis refused letter {n}: {outcome.message}")
                    return 1
                sent.append(outcome.doc_id)
            print(f"the Government Office sent two signed letters: DocIds {', '.join(sent)}")

        receiver = Client.from_settings(
            settings_for(url, 1), download_dir=folder / "downloads", inbox=folder / "inbox.db"
        )
        with receiver:
            waiting = receiver.documents.count("edoc")
            print(f"Nghệ An has {waiting} document(s) waiting")
            first = receiver.documents.receive(
                hand_over, message_type="edoc", verify=verify, acknowledge=False
            )
            print(f"pass 1 (stopped before acknowledging): {summary(first)}")
            second = receiver.documents.receive(hand_over, message_type="edoc", verify=verify)
            print(f"pass 2: {summary(second)}")
            third = receiver.documents.receive(hand_over, message_type="edoc", verify=verify)
            print(f"pass 3: {summary(third)}")

    mine = set(sent)
    if not mine <= set(first.handed_over) or not mine <= set(second.acknowledged):
        print("the letters were not handed over, then acknowledged, as expected")
        return 1
    if any(times_handed[doc_id] != 1 for doc_id in mine) or mine & set(third.handed_over):
        print(f"a letter was handed over more than once: {dict(times_handed)}")
        return 1
    print(f"each letter was handed over exactly once; wrote {journal} and {handed}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
