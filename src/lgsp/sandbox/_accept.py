"""Taking a package in: check, read, validate, verify, route, store — once.

Shared by the VXP ``sendEdoc`` (direct or through the gateway) and the SOAP hub's
``SendDocument``. A package is read with :func:`lgsp.read_package`, validated under the
configured profile, and, when it carries a ``Signature``, verified with
:func:`lgsp.verify_package` (``interop`` policy: the legacy un-namespaced form is accepted and
recorded as such). A document goes to its ``To`` organs, a status package to the organ of its
``ResponseFor`` — unless the call names receivers itself (the VXP ``to`` parameter).

Resending the same bytes from the same sender returns the first DocId (``config.dedupe``): the
check runs before parsing (a retry costs a hash and one lookup) and again inside the write
transaction, so concurrent resends cannot store a second copy.

A body above ``config.max_package_bytes`` is refused (413) while it is read
(:func:`read_body`), before anything parses it. The defects that concern taking a package in
(:class:`~lgsp.sandbox.faults.Defect`) each have their one branch here or in the
:class:`~lgsp.sandbox._readers.ReadPolicy` made here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Collection, Sequence

from starlette.requests import Request
from starlette.responses import Response

from lgsp.sandbox._common import Refusal
from lgsp.sandbox._directory import is_known, organs_of
from lgsp.sandbox._readers import PackageFacts, ReadPolicy, read_checked
from lgsp.sandbox.faults import Defect
from lgsp.sandbox.state import SandboxState
from lgsp.transports.vxp_signing import sdk_hex

__all__ = [
    "Accepted",
    "Draft",
    "Pending",
    "Submission",
    "accept",
    "begin",
    "finish",
    "package_limit",
    "read_body",
    "submit",
    "too_large",
]

_log = logging.getLogger("lgsp.sandbox")


@dataclasses.dataclass(frozen=True, slots=True)
class Submission:
    """Who sends, and what the call itself says about the package."""

    #: The sending system id (VXP) or ``hub:<organ id>`` (SOAP hub): the key of duplicates.
    sender: str
    #: The system whose organs the sender may send as; None: only ``from_organ``.
    system_id: str | None
    #: The sending organ the call names (VXP ``from``, the hub's ``organId``), if any.
    from_organ: str | None = None
    #: The receivers the call names (VXP ``to``); None: those of the package.
    to_organs: Sequence[str] | None = None
    service_type: str = "eDoc"
    #: ``hash-file`` as sent (the SDK's unpadded hex, or the padded form); None: not checked.
    hash_file: str | None = None
    version_sdk: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    doc_id: str
    duplicate: bool
    message_type: str


def _hash_matches(claimed: str, digest: bytes) -> bool:
    value = claimed.strip().strip('"').lower()
    return value in (digest.hex(), sdk_hex(digest))


# -- the size of a package -----------------------------------------------------------------


def package_limit(state: SandboxState) -> int | None:
    """The largest package taken, in bytes; None when the sandbox plays ``ignore-size-limit``."""
    if state.faults.plays(Defect.IGNORE_SIZE_LIMIT):
        return None
    return state.config.max_package_bytes


def too_large(limit: int, size: int | None = None) -> Refusal:
    """The 413 refusal of a body (or package) above ``limit``."""
    seen = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    return Refusal(
        413,
        "413",
        f"the package is too large ({seen}): the limit is {limit} bytes "
        f"({limit / (1024 * 1024):g} MiB, max_package_bytes)",
    )


async def read_body(request: Request, limit: int | None) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes (None: no limit):
    a declared Content-Length above it is refused before a byte is read, and a body is never
    buffered past it. (uvicorn drains what the client still sends after the answer.)"""
    if limit is None:
        return await request.body()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit, int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


# -- taking a package in --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Draft:
    """A package past the cheap checks, waiting to be read: what :func:`finish` needs."""

    sub: Submission
    body: bytes
    sha: str
    #: How it is read, with the time of receipt.
    policy: ReadPolicy
    #: The receivers to deliver to, when the call's own from/to were checked already.
    deliver_to: list[str] | None

    @property
    def label(self) -> str:
        return f"package from {self.sub.sender}"


def _policy(state: SandboxState) -> ReadPolicy:
    defects = state.faults.defects
    return ReadPolicy(
        profile=state.config.profile,
        received=state.clock(),
        validate=Defect.ACCEPT_INVALID_PACKAGE not in defects,
        verify=Defect.ACCEPT_BAD_SIGNATURE not in defects,
        certificate_dates=Defect.ACCEPT_EXPIRED_CERTIFICATE not in defects,
        trust_anchors=tuple(str(path) for path in state.config.trust_anchors),
    )


def _dedupes(state: SandboxState) -> bool:
    return state.config.dedupe and not state.faults.plays(Defect.DUPLICATE_SEND)


#: The defect that loses each kind of package.
_LOST_BY = {"edoc": Defect.LOSE_DOCUMENT, "status": Defect.LOSE_STATUS}


def _check_route(
    state: SandboxState,
    db: sqlite3.Connection,
    sub: Submission,
    sender_organ: str,
    receivers: Collection[str],
) -> list[str]:
    """The receivers to deliver to, once the sender may send as ``sender_organ`` to them."""
    if sub.system_id is not None:
        allowed = organs_of(state, db, sub.system_id)
        if sender_organ not in allowed:
            raise Refusal(
                403,
                "403",
                f"the organ {sender_organ} is not served by the system {sub.system_id} "
                f"(it serves {', '.join(sorted(allowed)) or 'no organ'})",
            )
    unknown = [organ for organ in receivers if not is_known(state, db, organ)]
    if unknown:
        if state.faults.plays(Defect.ACCEPT_UNKNOWN_ORGAN):
            return [organ for organ in receivers if organ not in unknown]
        raise Refusal(
            404, "404", f"no agency {', '.join(unknown)} in the directory: cannot deliver"
        )
    return list(receivers)


_FIRST_COPY = "SELECT doc_id FROM vxp_documents WHERE sender = ? AND sha256 = ? LIMIT 1"


def begin(state: SandboxState, sub: Submission, body: bytes) -> Accepted | Draft:
    """The checks that need no parsing: the body, its hash, a resend (answered at once with
    the first DocId), and the call's own ``from``/``to`` when it names both."""
    if not body:
        raise Refusal(400, "400", "the body is empty: sendEdoc carries the edXML package")
    raw = hashlib.sha256(body).digest()
    if sub.hash_file is not None and not _hash_matches(sub.hash_file, raw):
        raise Refusal(400, "400", "hash-file does not match the SHA-256 of the body")
    sha = raw.hex()
    deliver_to = None
    with state.store.reading() as db:
        if _dedupes(state):
            row = db.execute(_FIRST_COPY, (sub.sender, sha)).fetchone()
            if row is not None:
                return Accepted(str(row[0]), True, "")
        if sub.from_organ and sub.to_organs:
            to = list(dict.fromkeys(sub.to_organs))
            deliver_to = _check_route(state, db, sub, sub.from_organ, to)
    return Draft(sub, body, sha, _policy(state), deliver_to)


def finish(state: SandboxState, draft: Draft, read: PackageFacts) -> Accepted:
    """Check the package against the call, then store it and its deliveries, once."""
    sub = draft.sub
    sender_organ = sub.from_organ or read.from_organ
    if not sender_organ:
        raise Refusal(422, "422", "the package names no sender (From/OrganId)")
    if sub.from_organ and read.from_organ and sub.from_organ != read.from_organ:
        raise Refusal(
            400,
            "400",
            f"from {sub.from_organ} differs from the package's From/OrganId {read.from_organ}",
        )
    receivers = list(dict.fromkeys(sub.to_organs or read.receivers))
    if not receivers:
        what = "ResponseFor/OrganId" if read.message_type == "status" else "To/OrganId"
        raise Refusal(422, "422", f"the package names no receiver ({what})")
    deliver_to = draft.deliver_to
    if deliver_to is None:
        with state.store.reading() as db:
            deliver_to = _check_route(state, db, sub, sender_organ, receivers)
    if state.faults.plays(_LOST_BY[read.message_type]):
        deliver_to = []  # accepted, and delivered to nobody
    now = state.clock()
    with state.store.transaction() as db:
        if _dedupes(state):
            row = db.execute(_FIRST_COPY, (sub.sender, draft.sha)).fetchone()
            if row is not None:
                return Accepted(str(row[0]), True, read.message_type)
        cursor = db.execute(
            "INSERT INTO vxp_documents (sha256, sender, from_organ, to_organs, message_type,"
            " service_type, document_id, subject, notation, status_code, signature,"
            " signature_note, version_sdk, size, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                draft.sha,
                sub.sender,
                sender_organ,
                json.dumps(receivers),
                read.message_type,
                sub.service_type,
                read.document_id,
                read.subject,
                read.notation,
                read.status_code,
                read.signature,
                read.signature_note,
                sub.version_sdk,
                len(draft.body),
                now,
            ),
        )
        doc_id = cursor.lastrowid
        db.execute("INSERT INTO vxp_payloads (doc_id, data) VALUES (?, ?)", (doc_id, draft.body))
        db.executemany(
            "INSERT INTO vxp_deliveries (doc_id, organ, updated) VALUES (?, ?, ?)",
            [(doc_id, organ, now) for organ in deliver_to],
        )
    return Accepted(str(doc_id), False, read.message_type)


def accept(state: SandboxState, sub: Submission, body: bytes) -> Accepted:
    """Store ``body`` once and route it, in the calling thread; return its DocId (the first
    one for a resend)."""
    first = begin(state, sub, body)
    if isinstance(first, Accepted):
        return first
    return finish(state, first, read_checked(first.policy, body, first.label))


@dataclasses.dataclass(frozen=True, slots=True)
class Pending:
    """A send whose package is read in a worker process: the route awaits :meth:`resolve`."""

    draft: Draft
    answer: Callable[[Accepted], Response]
    fail: Callable[[Refusal], Response]

    async def resolve(self, state: SandboxState) -> Response:
        try:
            facts = await state.readers.read(
                state.workers, self.draft.policy, self.draft.body, self.draft.label
            )
            accepted = await state.workers.run(finish, state, self.draft, facts)
        except Refusal as refusal:
            return self.fail(refusal)
        except Exception as exc:  # noqa: BLE001 - logged; the caller still gets an answer
            _log.exception("reading a package failed")
            return self.fail(Refusal(500, "500", f"the sandbox failed: {type(exc).__name__}"))
        return self.answer(accepted)


def submit(
    state: SandboxState,
    sub: Submission,
    body: bytes,
    answer: Callable[[Accepted], Response],
    fail: Callable[[Refusal], Response],
) -> Response | Pending:
    """:func:`accept` where the package is read in this thread, or the cheap checks now and
    a :class:`Pending` for the rest when the state's readers are worker processes."""
    if not state.readers.offloads(body):
        return answer(accept(state, sub, body))
    first = begin(state, sub, body)
    if isinstance(first, Accepted):
        return answer(first)
    return Pending(first, answer, fail)
