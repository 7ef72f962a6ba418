"""Sign with a key lgsp never sees: a custom ``Signer``, and two-phase signing for a browser token.

1. A signing service (an HSM, a USB token behind PKCS#11, a remote service) that exposes only
   ``sign(data)``: a ten-line class implements lgsp's :class:`~lgsp.Signer` protocol over it
   (a certificate, a chain, ``sign(data, algorithm)``) and :func:`~lgsp.sign_package` uses it.
   lgsp checks the value the service returns before it writes the package.
2. Two-phase signing, as web applications do with the signing plug-in of a citizen's or an
   official's USB token: the server prepares the signature and keeps the prepared package,
   the browser gets only the digest, the token signs it, the browser posts the value back, and
   the server completes the package. A value made by the wrong key is refused.

Both packages are verified against the test PKI's root, and sent over VXP to the sandbox,
which verifies them too.

Run: python examples/external_signer.py [FOLDER]   (a temporary folder by default)
Against a sandbox already running: LGSP_SANDBOX_URL=http://127.0.0.1:8750 python examples/...
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from lgsp import Client, SignatureError, Signer, package_to_bytes, sign_package, verify_package
from lgsp.clients import Settings, VxpProfile
from lgsp.documents import VIETNAM_TZ
from lgsp.sandbox import Sandbox, SandboxConfig
from lgsp.signatures import (
    SigningAlgorithm,
    TrustSettings,
    complete_signature,
    prepare_signature,
)
from lgsp.testing import samples
from lgsp.testing.pki import Identity, make_pki


@contextlib.contextmanager
def sandbox_url() -> Iterator[str]:
    """``$LGSP_SANDBOX_URL``, or a sandbox started here on a free loopback port."""
    given = os.environ.get("LGSP_SANDBOX_URL")
    if given:
        yield given.rstrip("/")
        return
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox.url


class SigningService:
    """Stands for a key held elsewhere: all it offers is RSA-SHA256 over bytes."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.__key = key
        self.calls = 0

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return self.__key.sign(data, padding.PKCS1v15(), hashes.SHA256())


class ServiceSigner:
    """lgsp's ``Signer`` protocol over :class:`SigningService`."""

    def __init__(
        self,
        service: SigningService,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
    ) -> None:
        self.service = service
        self._certificate = certificate
        self._chain = tuple(chain)

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        return self._chain

    def sign(self, data: bytes, algorithm: SigningAlgorithm) -> bytes:
        if algorithm != "rsa-sha256":
            raise SignatureError(f"the signing service makes rsa-sha256 only, not {algorithm}")
        return self.service.sign(data)


class BrowserToken:
    """Stands for a USB token behind a browser plug-in: it signs a SHA-256 digest it is given
    (and never sees the document)."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.__key = key

    def sign_digest(self, digest_b64: str) -> str:
        digest = base64.b64decode(digest_b64)
        value = self.__key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        return base64.b64encode(value).decode("ascii")


def rsa_key(identity: Identity) -> rsa.RSAPrivateKey:
    """The test identity's key (RSA: what :meth:`TestPKI.issue` makes by default)."""
    if not isinstance(identity.key, rsa.RSAPrivateKey):
        raise TypeError("an RSA key was expected")
    return identity.key


def main(folder: Path) -> int:
    pki = make_pki(organisation="Example CA lgsp")
    trust = TrustSettings(anchors=[pki.root.certificate], crls=pki.crls())
    today = dt.datetime.now(VIETNAM_TZ).date()
    run = uuid.uuid4().int % 10_000

    # 1. A custom Signer over a service that holds the key.
    clerk = pki.signer()
    service = SigningService(rsa_key(clerk))
    signer = ServiceSigner(service, clerk.certificate, clerk.chain)
    print(f"ServiceSigner implements lgsp.Signer: {isinstance(signer, Signer)}")
    first = samples.document(number=f"{run}1", date=today)
    by_service = sign_package(package_to_bytes(first), signer)
    (folder / "signed-by-service.edxml").write_bytes(by_service)
    result = verify_package(by_service, trust=trust)
    print(
        f"1. signed through the service ({service.calls} call): valid {result.valid}, "
        f"trust {result.trust.outcome if result.trust else '-'}, signer {clerk.common_name}"
    )

    # 2. Two-phase: the server prepares, the token signs the digest, the server completes.
    director = pki.issue("Phạm Minh Đức", email="pmduc@thunghiem.test")
    token = BrowserToken(rsa_key(director))
    second = samples.document(number=f"{run}2", date=today)
    prepared = prepare_signature(
        package_to_bytes(second), certificate=director.certificate, chain=director.chain
    )
    kept = folder / "prepared.edxml"  # the server keeps this between the two requests
    kept.write_bytes(prepared.document)
    to_browser = base64.b64encode(prepared.digest).decode("ascii")
    print(f"2. prepared; the browser receives only the digest {to_browser[:24]}…")
    from_browser = token.sign_digest(to_browser)

    impostor = BrowserToken(rsa_key(pki.issue("Người Khác")))
    try:
        complete_signature(kept.read_bytes(), base64.b64decode(impostor.sign_digest(to_browser)))
    except SignatureError as exc:
        print(f"   a value from another token is refused: {exc}")
    else:
        print("   a value from another token was accepted!")
        return 1
    two_phase = complete_signature(kept.read_bytes(), base64.b64decode(from_browser))
    (folder / "signed-by-token.edxml").write_bytes(two_phase)
    result2 = verify_package(two_phase, trust=trust)
    print(
        f"   completed: valid {result2.valid}, "
        f"trust {result2.trust.outcome if result2.trust else '-'}, signer {director.common_name}"
    )
    if not (result.valid and result2.valid):
        return 1

    office = SandboxConfig.demo().systems[0]
    with sandbox_url() as url:
        settings = Settings(
            documents=VxpProfile(
                endpoint=f"{url}/vxp", system_id=office.system_id, secret=office.secret
            )
        )
        with Client.from_settings(settings) as client:
            for name, data in (("service", by_service), ("token", two_phase)):
                outcome = client.documents.send(data)
                print(f"sent the package signed by the {name}: accepted {outcome.accepted}")
                if not outcome.accepted:
                    print(f"  {outcome.message}")
                    return 1
    print(f"wrote signed-by-service.edxml and signed-by-token.edxml in {folder}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
