"""A worker process that reads and validates packages for the sandbox (``python -m`` this).

Started by :class:`lgsp.sandbox._readers.PackageReaders` as a fresh interpreter (never a fork,
never a re-import of the caller's script). It answers requests on its standard streams until
its input ends. Request: a 12-byte head (the lengths of a JSON header and of the package, and
a spare word), the header ``{"policy", "label"}`` (``policy``: the fields of a
:class:`~lgsp.sandbox._readers.ReadPolicy`), the package bytes. Reply: a 4-byte length
and a JSON object — ``{"facts": {...}}``, ``{"refusal": [status, code, message]}`` or
``{"error": "..."}``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import IO, Any

from lgsp.sandbox._readers import HEAD, REPLY


def _answer(header: dict[str, Any], body: bytes) -> dict[str, Any]:
    from lgsp.sandbox._common import Refusal
    from lgsp.sandbox._readers import ReadPolicy, read_checked

    try:
        policy = header["policy"]
        policy["trust_anchors"] = tuple(policy.get("trust_anchors", ()))
        facts = read_checked(ReadPolicy(**policy), body, header["label"])
    except Refusal as refusal:
        return {"refusal": [refusal.status, refusal.code, refusal.message]}
    except Exception as exc:  # noqa: BLE001 - reported to the server, which logs it
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"facts": dataclasses.asdict(facts)}


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size) if size else b""
    return data if len(data) == size else None


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """Answer requests from ``source`` on ``sink`` until ``source`` ends."""
    while True:
        head = _read_exactly(source, HEAD.size)
        if head is None:
            return
        header_size, body_size, _spare = HEAD.unpack(head)
        header = _read_exactly(source, header_size)
        body = _read_exactly(source, body_size)
        if header is None or body is None:
            return
        reply = json.dumps(_answer(json.loads(header), body)).encode()
        sink.write(REPLY.pack(len(reply)) + reply)
        sink.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
