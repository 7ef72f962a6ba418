"""XML-DSig benchmarks: sign and verify a header-only package and one with a 10 MB attachment.

Each case measures lgsp beside the peers doing the same work in the same run:

* ``sig-header``: one :func:`~lgsp.signatures.sign_package` plus one
  :func:`~lgsp.signatures.verify_package` of the header-only package per iteration, against
  signxml signing the same unsigned bytes (enveloped, RSA-SHA256, SHA-256, exclusive C14N) and
  verifying what it signed; target: lgsp's throughput ≥ 1.6x signxml's. A bare lxml +
  cryptography signer/verifier (written here: the floor, no policy checks) is measured too,
  for the reachable ceiling (about 2.1x signxml on the standard machine), and the RSA
  operations alone, which no implementation avoids.
* ``sig-big``: ``verify_package`` of the package carrying the 10,000,000-byte attachment,
  against the minimal work any verifier does — parse it whole (``huge_tree``), exclusive C14N,
  SHA-256; target ≤ 1.5x that time. signxml verifying and signing the same package, and lgsp
  signing it, are reported for context, with what each needs to cope with the size.

Keys are made once per run (RSA 2048, a self-signed certificate) and handed to every signer as
objects: loading an RSA key from PEM costs ~60 ms, which would drown everything else.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from benchmarks._harness import Row, Settings, Timing, compare, micros, millis, noise, rate, times
from benchmarks._inputs import EDXML_NS, Inputs
from lgsp._xml import DEFAULT_LIMITS, XMLLimits
from lgsp.errors import HostileXMLError
from lgsp.signatures import KeySigner, VerificationResult, sign_package, verify_package

try:
    import signxml
except ImportError:  # pragma: no cover - signxml is a dev dependency
    signxml = None

HEADER_TARGET_RATIO = 1.6
"""lgsp sign+verify throughput over signxml's, header-only package (the issue's target)."""
BARE_REFERENCE_RATIO = 2.1
"""What the bare lxml + cryptography floor reaches over signxml on the standard machine."""
BIG_VERIFY_TARGET_RATIO = 1.5
"""10 MB verify time over parse + exclusive C14N + SHA-256 of the same bytes."""

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ENVELOPED = DSIG_NS + "enveloped-signature"
_DS = "{" + DSIG_NS + "}"
_Q = "{" + EDXML_NS + "}"
_HUGE = {"huge_tree": True, "resolve_entities": False}
"""signxml's own parser settings (``resolve_entities=False``) plus ``huge_tree``."""

T = TypeVar("T")


# keys ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Keys:
    """One RSA 2048 key and its self-signed certificate, made once per run."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    signer: KeySigner
    cert_b64: str
    """The certificate's DER in Base64, as KeyInfo carries it."""


@functools.cache
def keys() -> Keys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Văn phòng Chính phủ"),
            x509.NameAttribute(NameOID.COMMON_NAME, "lgsp benchmark signer"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return Keys(key, cert, KeySigner(key, cert), base64.b64encode(der).decode("ascii"))


# the floor: bare lxml + cryptography ---------------------------------------------------------


def _c14n(node: etree._Element) -> bytes:
    return etree.tostring(node, method="c14n", exclusive=True, with_comments=False)


def bare_sign(data: bytes, k: Keys, parser: etree.XMLParser | None = None) -> bytes:
    """The least an enveloped RSA-SHA256 signature after TraceHeaderList takes: parse, digest
    the canonical document, build SignedInfo, sign its canonical form, serialise. The
    signature goes in with no tail text, so the document without it is the one digested."""
    root = etree.fromstring(data, parser)
    digest = base64.b64encode(hashlib.sha256(_c14n(root)).digest()).decode("ascii")
    signature = etree.Element(_DS + "Signature", nsmap={None: DSIG_NS})  # type: ignore[dict-item]
    signed_info = etree.SubElement(signature, _DS + "SignedInfo")
    etree.SubElement(signed_info, _DS + "CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _DS + "SignatureMethod", Algorithm=RSA_SHA256)
    reference = etree.SubElement(signed_info, _DS + "Reference", URI="")
    transforms = etree.SubElement(reference, _DS + "Transforms")
    etree.SubElement(transforms, _DS + "Transform", Algorithm=ENVELOPED)
    etree.SubElement(transforms, _DS + "Transform", Algorithm=EXC_C14N)
    etree.SubElement(reference, _DS + "DigestMethod", Algorithm=SHA256)
    etree.SubElement(reference, _DS + "DigestValue").text = digest
    value = k.key.sign(_c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())
    etree.SubElement(signature, _DS + "SignatureValue").text = base64.b64encode(value).decode()
    key_info = etree.SubElement(signature, _DS + "KeyInfo")
    x509_data = etree.SubElement(key_info, _DS + "X509Data")
    etree.SubElement(x509_data, _DS + "X509Certificate").text = k.cert_b64
    anchor = root.find(f"{_Q}edXMLEnvelope/{_Q}edXMLHeader/{_Q}TraceHeaderList")
    if anchor is None:
        raise ValueError("no TraceHeaderList to put the signature after")
    anchor.addnext(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def bare_verify(data: bytes, parser: etree.XMLParser | None = None) -> bool:
    """The least a verifier of such a package does: parse, find the one signature where it
    belongs, check its algorithms, apply the enveloped transform (the signature's tail text
    stays), digest the canonical document, verify SignedInfo with the KeyInfo certificate."""
    root = etree.fromstring(data, parser)
    signature = root.find(f"{_Q}edXMLEnvelope/{_Q}edXMLHeader/{_DS}Signature")
    signed_info = signature.find(_DS + "SignedInfo") if signature is not None else None
    reference = signed_info.find(_DS + "Reference") if signed_info is not None else None
    if signature is None or signed_info is None or reference is None:
        return False
    methods = [el.get("Algorithm") for el in signed_info.iter(_DS + "*") if el.get("Algorithm")]
    if reference.get("URI") != "" or methods != [EXC_C14N, RSA_SHA256, ENVELOPED, EXC_C14N, SHA256]:
        return False
    canonical = _c14n(signed_info)
    expected = base64.b64decode(reference.findtext(_DS + "DigestValue") or "")
    value = base64.b64decode(signature.findtext(_DS + "SignatureValue") or "")
    cert_text = signature.findtext(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate") or ""
    public = x509.load_der_x509_certificate(base64.b64decode(cert_text)).public_key()
    parent = signature.getparent()
    assert parent is not None  # noqa: S101 - found under edXMLHeader
    previous = signature.getprevious()
    if signature.tail:  # lxml removes an element with its tail; the transform keeps the text
        if previous is not None:
            previous.tail = (previous.tail or "") + signature.tail
        else:
            parent.text = (parent.text or "") + signature.tail
    parent.remove(signature)
    if not isinstance(public, rsa.RSAPublicKey) or (
        hashlib.sha256(_c14n(root)).digest() != expected
    ):
        return False
    try:
        public.verify(value, canonical, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def rsa_round_trip(data: bytes, k: Keys) -> None:
    """RSA-2048 PKCS#1 v1.5 SHA-256 sign and verify of ``data``: what no signer avoids."""
    public = k.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)  # noqa: S101 - made by keys()
    value = k.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    public.verify(value, data, padding.PKCS1v15(), hashes.SHA256())


def minimal_digest(data: bytes, parser: etree.XMLParser) -> bytes:
    """The minimal work of verifying a big package: parse, exclusive C14N, SHA-256."""
    tree = etree.fromstring(data, parser)
    return hashlib.sha256(etree.tostring(tree, method="c14n", exclusive=True)).digest()


# signxml, the peer ---------------------------------------------------------------------------


def _signxml_signer(parser: etree.XMLParser | None = None) -> Any:
    assert signxml is not None  # noqa: S101 - callers check
    signer = signxml.XMLSigner(
        method=signxml.methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=EXC_C14N,
    )
    if parser is not None:
        # XMLSigner takes no parser argument; it re-parses its input with its ``parser``.
        signer._parser = parser
    return signer


def signxml_sign(
    data: bytes, k: Keys, parser: etree.XMLParser | None = None, *, tell_signxml: bool = True
) -> bytes:
    """signxml signs the root of the same unsigned bytes; serialised, as lgsp returns bytes.
    signxml re-parses what it is given, with its own parser unless ``tell_signxml``."""
    root = etree.fromstring(data, parser)
    signer = _signxml_signer(parser if tell_signxml else None)
    signed = signer.sign(root, key=k.key, cert=[k.certificate])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def signxml_verify(data: bytes, k: Keys, parser: etree.XMLParser | None = None) -> object:
    """signxml verifies against the known certificate (an object: nothing reloaded)."""
    assert signxml is not None  # noqa: S101 - callers check
    return signxml.XMLVerifier().verify(data, x509_cert=k.certificate, parser=parser)


# helpers -------------------------------------------------------------------------------------


def _failure(exc: BaseException) -> str:
    """An error in one line, without libxml2's position (which differs between inputs)."""
    text = re.sub(r",? line \d+, column \d+.*$", "", " ".join(str(exc).split()))
    text = text.removeprefix("<input>: ")
    return f"{type(exc).__name__}: {text[:100]}{'…' if len(text) > 100 else ''}"


def _with_limits(call: Callable[[XMLLimits], T], size: int) -> tuple[T, XMLLimits, str | None]:
    """``call`` with lgsp's default limits; when they refuse the input, once more with a text
    limit raised to the input's size. Returns the result, the limits used and the refusal."""
    try:
        return call(DEFAULT_LIMITS), DEFAULT_LIMITS, None
    except HostileXMLError as exc:
        limits = dataclasses.replace(DEFAULT_LIMITS, max_text_chars=max(size, 1))
        return call(limits), limits, _failure(exc)


def _timing_data(prefix: str, t: Timing) -> dict[str, Any]:
    return {
        f"{prefix}_us": t.median * 1e6,
        f"{prefix}_per_s": t.per_second,
        f"{prefix}_spread": t.spread,
    }


def _speed(t: Timing, unit: str) -> str:
    return f"{rate(t.per_second, unit)}{noise(t)} ({micros(t.median)})"


# cases ---------------------------------------------------------------------------------------


def sig_header(inputs: Inputs, settings: Settings) -> list[Row]:
    """Header-only sign + verify: lgsp vs signxml (and the bare lxml+cryptography floor)."""
    k = keys()
    data = inputs.header_bytes
    signer = k.signer

    def lgsp_sign() -> bytes:
        return sign_package(data, signer)

    def lgsp_verify(signed: bytes) -> VerificationResult:
        return verify_package(signed, policy="strict")

    ours = lgsp_sign()
    bare = bare_sign(data, k)
    signed_info = _c14n(etree.fromstring(bare).find(f".//{_DS}SignedInfo"))  # what RSA signs
    checks = {
        "lgsp verifies lgsp": lgsp_verify(ours).valid,
        "bare verifies lgsp": bare_verify(ours),
        "lgsp verifies bare": lgsp_verify(bare).valid,
        "bare verifies bare": bare_verify(bare),
    }
    ops: dict[str, Callable[[], object]] = {
        "lgsp": lambda: lgsp_verify(lgsp_sign()),
        "lgsp sign": lgsp_sign,
        "lgsp verify": lambda: lgsp_verify(ours),
        "bare": lambda: bare_verify(bare_sign(data, k)),
        "bare sign": lambda: bare_sign(data, k),
        "bare verify": lambda: bare_verify(ours),
        "rsa": lambda: rsa_round_trip(signed_info, k),
    }
    if signxml is not None:
        theirs = signxml_sign(data, k)
        signxml_verify(theirs, k)  # raises when invalid
        signxml_verify(ours, k)
        checks["signxml verifies lgsp"] = True
        ops["signxml"] = lambda: signxml_verify(signxml_sign(data, k), k)
        ops["signxml sign"] = lambda: signxml_sign(data, k)
        ops["signxml verify"] = lambda: signxml_verify(theirs, k)
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise RuntimeError(f"signature cross-checks failed: {', '.join(failed)}")
    # The compared pairs are sampled in a rotation of their own, so that each lgsp sample
    # and the signxml sample next to it share the machine's state of the moment.
    whole = {name: ops[name] for name in ("lgsp", "signxml", "bare") if name in ops}
    parts = {name: op for name, op in ops.items() if name not in whole}
    how = {
        "repeats": settings.repeats,
        "warmup": settings.warmup,
        "sample_seconds": settings.sample_seconds,
    }
    t = compare(whole, **how) | compare(parts, **how)
    ours_t, bare_t, rsa_t = t["lgsp"], t["bare"], t["rsa"]
    speedup = _rate_over(t, "lgsp", "signxml")
    rows = [
        Row(
            case=f"XML-DSig header sign+verify, lgsp ({len(data):,} B)",
            figure=_speed(ours_t, "pkg") + _versus(speedup),
            baseline=_peer(t, "signxml", "signxml sign+verify"),
            ratio=_time_ratio(t, "lgsp", "signxml"),
            target=f"≥ {HEADER_TARGET_RATIO}x signxml's rate",
            met=speedup >= HEADER_TARGET_RATIO if speedup is not None else None,
            data={
                "input_bytes": len(data),
                "signed_bytes": len(ours),
                "throughput_ratio": speedup,
                "checks": sorted(checks),
                **{
                    key: value
                    for name, timing in t.items()
                    for key, value in _timing_data(name.replace(" ", "_"), timing).items()
                },
            },
        ),
        Row(
            case="  floor: bare lxml+cryptography sign+verify",
            figure=_speed(bare_t, "pkg") + _versus(_rate_over(t, "bare", "signxml")),
            baseline="(same baseline)",
            ratio=_time_ratio(t, "bare", "signxml"),
            target=f"(ref. ≈ {BARE_REFERENCE_RATIO}x)",
            met=None,
            data={
                "throughput_ratio": _rate_over(t, "bare", "signxml"),
                "lgsp_over_bare": ours_t.median / bare_t.median,
            },
        ),
    ]
    for part in ("sign", "verify"):
        mine, floor = t[f"lgsp {part}"], t[f"bare {part}"]
        rows.append(
            Row(
                case=f"  of which lgsp {part} alone",
                figure=_speed(mine, "pkg")
                + _versus(_rate_over(t, f"lgsp {part}", f"signxml {part}")),
                baseline=f"{_peer(t, f'signxml {part}', f'signxml {part}')}; "
                f"bare {micros(floor.median)}",
                ratio=_time_ratio(t, f"lgsp {part}", f"signxml {part}"),
                target="",
                met=None,
                data={
                    "throughput_ratio": _rate_over(t, f"lgsp {part}", f"signxml {part}"),
                    "lgsp_over_bare": mine.median / floor.median,
                },
            )
        )
    rows.append(
        Row(
            case="  of which RSA-2048 sign + verify (cryptography)",
            figure=_speed(rsa_t, "op"),
            baseline="(same baseline)",
            ratio=_time_ratio(t, "rsa", "signxml"),
            target="",
            met=None,
            data=_timing_data("rsa", rsa_t),
        )
    )
    return rows


def _rate_over(t: dict[str, Timing], name: str, peer: str) -> float | None:
    """Throughput of ``name`` over that of ``peer`` (None when the peer was not measured)."""
    return t[peer].median / t[name].median if peer in t else None


def _time_ratio(t: dict[str, Timing], name: str, peer: str) -> str:
    return times(t[name].median / t[peer].median) if peer in t else "—"


def _versus(speedup: float | None) -> str:
    return f" = {speedup:.2f}x signxml" if speedup is not None else ""


def _peer(t: dict[str, Timing], name: str, label: str) -> str:
    if name not in t:
        return "signxml not installed"
    return f"{_speed(t[name], 'pkg')} {label}"


def sig_big(inputs: Inputs, settings: Settings) -> list[Row]:
    """10 MB verify vs parse + exclusive C14N + SHA-256; sign and signxml for context."""
    k = keys()
    data = inputs.big_path.read_bytes()
    huge = etree.XMLParser(**_HUGE)
    signed, sign_limits, sign_refusal = _with_limits(
        lambda limits: sign_package(data, k.signer, limits=limits), len(data)
    )
    result, verify_limits, verify_refusal = _with_limits(
        lambda limits: verify_package(signed, policy="strict", limits=limits), len(signed)
    )
    if not result.valid:
        raise RuntimeError(f"lgsp does not verify its own 10 MB signature: {result.reason}")
    if not bare_verify(signed, huge):
        raise RuntimeError("the bare verifier refuses lgsp's 10 MB signature")
    ops: dict[str, Callable[[], object]] = {
        "lgsp verify": lambda: verify_package(signed, policy="strict", limits=verify_limits),
        "minimal": lambda: minimal_digest(signed, huge),
        "lgsp sign": lambda: sign_package(data, k.signer, limits=sign_limits),
    }
    # signxml as it comes (it parses with its own parser), then told to use huge_tree.
    default_failures: dict[str, str] = {}
    huge_failure = "not installed" if signxml is None else None
    if signxml is not None:
        for what, attempt in (
            ("sign", lambda: signxml_sign(data, k, huge, tell_signxml=False)),
            ("verify", lambda: signxml_verify(signed, k)),
        ):
            try:
                attempt()
            except Exception as exc:  # noqa: BLE001 - reported, then retried with huge_tree
                default_failures[what] = _failure(exc)
        try:
            signxml_verify(signxml_sign(data, k, huge), k, huge)
            signxml_verify(signed, k, huge)
        except Exception as exc:  # noqa: BLE001 - reported instead of measured
            huge_failure = _failure(exc)
        else:
            ops["signxml verify"] = lambda: signxml_verify(signed, k, huge)
            ops["signxml sign"] = lambda: signxml_sign(data, k, huge)
    t = compare(ops, repeats=settings.big_repeats, warmup=1, sample_seconds=0, single=True)
    ours, base, ours_sign = t["lgsp verify"], t["minimal"], t["lgsp sign"]
    ratio = ours.median / base.median
    rows = [
        Row(
            case=f"10 MB verify_package, lgsp ({len(signed):,} B signed)",
            figure=millis(ours.median) + noise(ours),
            baseline=f"{millis(base.median)}{noise(base)} parse+exc-C14N+SHA-256",
            ratio=times(ratio),
            target=f"≤ {BIG_VERIFY_TARGET_RATIO}x",
            met=ratio <= BIG_VERIFY_TARGET_RATIO,
            data={
                "package_bytes": len(data),
                "signed_bytes": len(signed),
                "time_ratio": ratio,
                "lgsp_ms": ours.median * 1e3,
                "lgsp_spread": ours.spread,
                "baseline_ms": base.median * 1e3,
                "baseline_spread": base.spread,
                "lgsp_samples_ms": [v * 1e3 for v in ours.samples],
                "baseline_samples_ms": [v * 1e3 for v in base.samples],
                "max_text_chars": verify_limits.max_text_chars,
            },
        )
    ]
    their_verify, their_sign = t.get("signxml verify"), t.get("signxml sign")
    if their_verify is not None:
        rows.append(
            Row(
                case="  signxml verify of the same bytes (huge_tree)",
                figure=f"{millis(their_verify.median)}{noise(their_verify)} "
                f"(lgsp {their_verify.median / ours.median:.2f}x faster)",
                baseline="(same baseline)",
                ratio=times(their_verify.median / base.median),
                target="",
                met=None,
                data={
                    "signxml_ms": their_verify.median * 1e3,
                    "signxml_spread": their_verify.spread,
                },
            )
        )
    rows.append(
        Row(
            case=f"10 MB sign_package, lgsp ({len(data):,} B)",
            figure=millis(ours_sign.median) + noise(ours_sign),
            baseline=(
                f"{millis(their_sign.median)}{noise(their_sign)} signxml sign (huge_tree)"
                if their_sign is not None
                else f"signxml: {huge_failure}"
            ),
            ratio=times(ours_sign.median / their_sign.median) if their_sign is not None else "—",
            target="",
            met=None,
            data={
                "lgsp_ms": ours_sign.median * 1e3,
                "lgsp_spread": ours_sign.spread,
                "signxml_ms": their_sign.median * 1e3 if their_sign is not None else None,
                "signxml_spread": their_sign.spread if their_sign is not None else None,
                "over_minimal": ours_sign.median / base.median,
                "max_text_chars": sign_limits.max_text_chars,
            },
        )
    )
    if default_failures:
        rows.append(_refusal_row("signxml with its default parser", default_failures))
    refusals = {
        name: why for name, why in (("sign", sign_refusal), ("verify", verify_refusal)) if why
    }
    if refusals:
        rows.append(_refusal_row("lgsp with its default XMLLimits", refusals))
        rows[-1].baseline += f" (figures above: max_text_chars={verify_limits.max_text_chars:,})"
    return rows


def _refusal_row(who: str, failures: dict[str, str]) -> Row:
    """What could not run as it comes: ``failures`` maps sign/verify to the error."""
    messages = sorted(set(failures.values()))
    return Row(
        case=f"  {who}",
        figure=f"{' and '.join(failures)} fail",
        baseline="; ".join(messages),
        ratio="",
        target="",
        met=None,
        data={"failures": failures},
    )


CASES: dict[str, Callable[[Inputs, Settings], list[Row]]] = {
    "sig-header": sig_header,
    "sig-big": sig_big,
}
