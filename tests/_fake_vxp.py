"""A small in-memory VXP axis for the client tests (the sandbox of issue 6 will replace it).

It checks the SDK signature of every call, keeps packages by DocId, deduplicates sendEdoc by
the package hash (so a resend after a lost answer returns the first DocId), and records every
call. ``handle`` is transport-neutral; ``mock`` adapts it to MockTransport.
"""

# The operations keep the axis's own names (op_sendEdoc) and one signature each.
# ruff: noqa: N802
from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from lgsp.errors import AuthError
from lgsp.transports import Request, Response
from lgsp.transports.vxp_signing import sdk_hex, verify_signed_headers

SECRETS = {"vxp.saas.03": "sender-secret", "vxp.saas.07": "receiver-secret"}


@dataclass
class Stored:
    doc_id: str
    sender: str
    receivers: list[str]
    message_type: str
    content: bytes
    status: str = "new"


@dataclass
class FakeVxp:
    secrets: dict[str, str] = field(default_factory=lambda: dict(SECRETS))
    dedupe: bool = True
    docs: dict[str, Stored] = field(default_factory=dict)
    by_hash: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    agencies: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "id": "1",
                "pid": "0",
                "code": "000.00.00.G22",
                "name": "Bộ Nội vụ",
                "mail": "vt@moha.gov.vn",
                "oldCode": "",
                "code102": "000.00.00.G22",
            },
            {
                "id": "2",
                "pid": "1",
                "code": "000.00.00.H41",
                "name": "UBND tỉnh Nghệ An",
                "mail": None,
            },
        ]
    )

    def handle(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        operation = path.rstrip("/").rsplit("/", 1)[-1]
        try:
            params = verify_signed_headers(headers, self.secrets.get)
        except AuthError as exc:
            return self._reply({"status": "FAIL", "ErrorCode": "401", "ErrorDesc": str(exc)}, 401)
        with self.lock:
            self.calls.append((operation, params))
            handler = getattr(self, "op_" + operation, None)
            if handler is None:
                return self._reply(
                    {
                        "status": "FAIL",
                        "ErrorCode": "404",
                        "ErrorDesc": f"no operation {operation}",
                    },
                    404,
                )
            return self._reply(handler(params, body))

    @staticmethod
    def _reply(data: Any, status: int = 200) -> tuple[int, list[tuple[str, str]], bytes]:
        return status, [("Content-Type", "application/json")], json.dumps(data).encode()

    def mock(self, request: Request) -> Response:
        from urllib.parse import urlsplit

        content = request.content
        body = content if isinstance(content, bytes) else content.read_bytes()
        status, headers, data = self.handle(
            request.method, urlsplit(request.url).path, list(request.headers), body
        )
        return Response(status, tuple(headers), data)

    # -- operations ---------------------------------------------------------------------------

    def op_sendEdoc(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        digest = hashlib.sha256(body).digest()
        unpadded = sdk_hex(digest)
        if params.get("hash-file") not in (unpadded, digest.hex()):
            return {"status": "FAIL", "ErrorCode": "-1", "ErrorDesc": "hash-file mismatch"}
        if self.dedupe and digest.hex() in self.by_hash:
            return {
                "status": "OK",
                "ErrorCode": "0",
                "ErrorDesc": "",
                "DocId": self.by_hash[digest.hex()],
            }
        to = json.loads(params["to"])
        doc_id = str(1000 + len(self.docs))
        self.docs[doc_id] = Stored(
            doc_id,
            params["from"],
            to if isinstance(to, list) else [to],
            params.get("messagetype", "edoc"),
            body,
        )
        self.by_hash[digest.hex()] = doc_id
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "DocId": doc_id}

    def op_getReceivedEdocList(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        wanted = params.get("messagetype")
        items = [
            {
                "docId": d.doc_id,
                "from": d.sender,
                "to": d.receivers,
                "messageType": d.message_type,
                "serviceType": "eDoc",
                "status": d.status,
                "contentLength": len(d.content),
            }
            for d in self.docs.values()
            if d.status in ("new", "processing") and (not wanted or d.message_type == wanted)
        ]
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": items}

    def op_getSentEdocList(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        items = [
            {
                "senderDocId": d.doc_id,
                "fromCode": d.sender,
                "toCode": ",".join(d.receivers),
                "messageType": d.message_type,
                "sendStatus": "done",
            }
            for d in self.docs.values()
        ]
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": items}

    def op_getEdoc(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        doc = self.docs.get(params.get("docId", ""))
        if doc is None:
            return {"status": "FAIL", "ErrorCode": "-1", "ErrorDesc": "no such document"}
        return {
            "status": "OK",
            "ErrorCode": "0",
            "ErrorDesc": "",
            "data": base64.b64encode(doc.content).decode(),
        }

    def op_updateStatus(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        doc = self.docs.get(params.get("docId", ""))
        if doc is None:
            return {"status": "FAIL", "ErrorCode": "-1", "ErrorDesc": "no such document"}
        doc.status = params["status"]
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}

    def op_countReceiveEdoc(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        return {
            "status": "OK",
            "ErrorCode": "0",
            "ErrorDesc": "",
            "count": sum(d.status == "new" for d in self.docs.values()),
        }

    def op_getAgenciesList(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": self.agencies}

    def op_getAgenciesListQD20(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": self.agencies[:1]}

    def op_registerAgency(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        self.agencies.append(json.loads(body))
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}

    def op_deleteAgency(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        before = len(self.agencies)
        self.agencies = [a for a in self.agencies if a["code"] != params.get("AgencyCode")]
        if len(self.agencies) == before:
            return {"status": "FAIL", "ErrorCode": "-2", "ErrorDesc": "no such agency"}
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}

    def op_getSynchronizeUnit(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        return {
            "status": "OK",
            "ErrorCode": "0",
            "ErrorDesc": "",
            "data": [
                {"id": "9", "code": "000.00.00.H41", "name": "UBND tỉnh Nghệ An", "deleted": False}
            ],
        }
