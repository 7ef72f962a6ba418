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
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Collection, Sequence

from starlette.responses import Response

from lgsp.sandbox._common import Refusal
from lgsp.sandbox._directory import is_known, organs_of
from lgsp.sandbox._readers import PackageFacts, read_checked
from lgsp.sandbox.state import SandboxState
from lgsp.transports.vxp_signing import sdk_hex

__all__ = ["Accepted", "Draft", "Pending", "Submission", "accept", "begin", "finish", "submit"]

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


@dataclasses.dataclass(frozen=True, slots=True)
class Draft:
    """A package past the cheap checks, waiting to be read: what :func:`finish` needs."""

    sub: Submission
    body: bytes
    sha: str
    routed: bool  # the call's own from/to were checked already

    @property
    def label(self) -> str:
        return f"package from {self.sub.sender}"


def _check_route(
    state: SandboxState,
    db: sqlite3.Connection,
    sub: Submission,
    sender_organ: str,
    receivers: Collection[str],
) -> None:
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
        raise Refusal(
            404, "404", f"no agency {', '.join(unknown)} in the directory: cannot deliver"
        )


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
    routed = bool(sub.from_organ and sub.to_organs)
    with state.store.reading() as db:
        if state.config.dedupe:
            row = db.execute(_FIRST_COPY, (sub.sender, sha)).fetchone()
            if row is not None:
                return Accepted(str(row[0]), True, "")
        if routed:
            _check_route(state, db, sub, sub.from_organ or "", sub.to_organs or ())
    return Draft(sub, body, sha, routed)


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
    if not draft.routed:
        with state.store.reading() as db:
            _check_route(state, db, sub, sender_organ, receivers)
    now = state.clock()
    with state.store.transaction() as db:
        if state.config.dedupe:
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
            [(doc_id, organ, now) for organ in receivers],
        )
    return Accepted(str(doc_id), False, read.message_type)


def accept(state: SandboxState, sub: Submission, body: bytes) -> Accepted:
    """Store ``body`` once and route it, in the calling thread; return its DocId (the first
    one for a resend)."""
    first = begin(state, sub, body)
    if isinstance(first, Accepted):
        return first
    return finish(state, first, read_checked(state.config.profile, body, first.label))


@dataclasses.dataclass(frozen=True, slots=True)
class Pending:
    """A send whose package is read in a worker process: the route awaits :meth:`resolve`."""

    draft: Draft
    answer: Callable[[Accepted], Response]
    fail: Callable[[Refusal], Response]

    async def resolve(self, state: SandboxState) -> Response:
        try:
            facts = await state.readers.read(
                state.workers, state.config.profile, self.draft.body, self.draft.label
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
