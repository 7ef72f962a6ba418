"""What the clients return: typed outcomes of sending, items of the VXP lists, receive reports.

Received data is read tolerantly (unknown fields kept, numbers as text, blanks as absent);
outcomes are plain frozen records that say what happened and whether trying again is safe.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from pydantic import Field

# Received items read like the registry's records: unknown fields kept, numbers as text, blank
# strings as absent.
from lgsp.registry.models import _Tolerant
from lgsp.transports.base import Request, Response

__all__ = [
    "AckStatus",
    "Delivery",
    "MessageType",
    "ReceiveReport",
    "ReceivedItem",
    "SendOutcome",
    "SentItem",
]


class MessageType(enum.StrEnum):
    """VXP ``messagetype``: a document package or a status package."""

    EDOC = "edoc"
    STATUS = "status"


class AckStatus(enum.StrEnum):
    """VXP ``updateStatus`` values: the receiver's acknowledgement of a package."""

    DONE = "done"
    FAIL = "fail"
    PROCESSING = "processing"


@dataclasses.dataclass(frozen=True, slots=True)
class SendOutcome:
    """The result of sending a package.

    ``accepted`` is True when the remote took it (``doc_id`` is its id there);
    ``retry_safe`` tells whether sending the same package again cannot make a second copy
    (True when the remote refused it unprocessed or never saw it). ``message_id`` and
    ``payload_sha256`` are the same on every attempt. ``duplicate`` is True when the outbox
    had already delivered this payload and nothing was sent.
    """

    accepted: bool
    doc_id: str | None
    status: str | None
    code: str | None
    message: str | None
    retry_safe: bool
    message_id: str
    payload_sha256: str
    attempts: int = 1
    duplicate: bool = False
    request: Request | None = dataclasses.field(default=None, repr=False, compare=False)
    response: Response | None = dataclasses.field(default=None, repr=False, compare=False)


class ReceivedItem(_Tolerant):
    """An item of ``getReceivedEdocList`` (vn-contracts §2.2)."""

    doc_id: str = Field(alias="docId", min_length=1)
    service_type: str | None = Field(None, alias="serviceType")
    message_type: str | None = Field(None, alias="messageType")
    created_time: str | None = Field(None, alias="created_time")
    updated_time: str | None = Field(None, alias="updated_time")
    from_code: str | None = Field(None, alias="from")
    to_code: Any = Field(None, alias="to")
    status: str | None = Field(None, alias="status")
    status_desc: str | None = Field(None, alias="status_desc")
    content_sha256: str | None = Field(None, alias="contentSha256")
    content_length: str | None = Field(None, alias="contentLength")
    version_sdk: str | None = Field(None, alias="versionSdk")


class SentItem(_Tolerant):
    """An item of ``getSentEdocList`` (vn-contracts §2.2)."""

    sender_doc_id: str | None = Field(None, alias="senderDocId")
    receiver_doc_id: str | None = Field(None, alias="receiverDocId")
    service_type: str | None = Field(None, alias="serviceType")
    message_type: str | None = Field(None, alias="messageType")
    from_code: str | None = Field(None, alias="fromCode")
    to_code: str | None = Field(None, alias="toCode")
    title: str | None = Field(None, alias="title")
    notation: str | None = Field(None, alias="notation")
    sent_time: str | None = Field(None, alias="sentTime")
    received_time: str | None = Field(None, alias="receivedTime")
    send_status: str | None = Field(None, alias="sendStatus")
    send_status_desc: str | None = Field(None, alias="sendStatusDesc")
    receive_status: str | None = Field(None, alias="receiveStatus")
    receive_status_desc: str | None = Field(None, alias="receiveStatusDesc")


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """One received package handed to the caller's handler."""

    doc_id: str
    path: Any  # pathlib.Path of the downloaded package
    package: Any  # DocumentPackage | StatusPackage
    verification: Any = None  # VerificationResult when a signature was checked
    item: ReceivedItem | None = None


@dataclasses.dataclass(slots=True)
class ReceiveReport:
    """What one pass of the receive loop did, doc id by doc id."""

    handed_over: list[str] = dataclasses.field(default_factory=list)
    already_handed: list[str] = dataclasses.field(default_factory=list)
    #: Hand-overs a crash interrupted: maybe handed, so not again (see Inbox.interrupted).
    interrupted: list[str] = dataclasses.field(default_factory=list)
    acknowledged: list[str] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed
