"""Attachments of edXML packages, held as streams and never whole in memory.

On the wire an attachment is Base64 text inside ``ContentTransferEncoded``: normally of a ZIP
archive holding one file (the official EdXML102 library zips, then encodes), sometimes of the
raw file. The label cannot be trusted — gateways call ZIPs ``text/plain`` or
``application/pdf`` — so a payload is recognised as a wrapping ZIP by its own magic bytes and
its single member. A ZIP with several members (or none) is a file in its own right (a DOCX,
an ODT, a multi-file archive) and is handed out as it is.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from lgsp.documents._spool import CHUNK, Base64Spool, LimitedReader, Payload
from lgsp.errors import AttachmentError

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "Attachment",
    "Base64Spool",
    "guess_content_type",
    "safe_file_name",
    "strip_cid",
]

DEFAULT_MAX_ATTACHMENT_BYTES = 4 << 30
"""Largest attachment handed out after unzipping (4 GiB): a guard against ZIP bombs."""
ZIP_MAGIC = b"PK\x03\x04"

# EdXML102's own extension map writes non-standard types (application/docx…); we write the
# registered media types and read both.
_EXTRA_TYPES = {
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".odt": "application/vnd.oasis.opendocument.text",
}


def guess_content_type(name: str) -> str:
    """Media type from a file name's extension; ``application/octet-stream`` when unknown."""
    ext = os.path.splitext(name)[1].lower()  # noqa: PTH122 - a wire name, not a local path
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def strip_cid(content_id: str) -> str:
    """``cid:abc`` → ``abc`` (Java samples prefix ``cid:``, the .NET sample does not)."""
    value = content_id.strip()
    return value[4:] if value[:4].lower() == "cid:" else value


_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]')


def _sanitise(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("_", base).strip(" .")


def safe_file_name(name: str, fallback: str = "attachment") -> str:
    """A file name that cannot leave the target folder (no separators, no ``..``).

    The fallback (used when nothing of the name survives) is sanitised the same way: it often
    comes off the wire too (a ContentId).
    """
    return _sanitise(name) or _sanitise(fallback) or "attachment"


Encoding = Literal["zip", "raw"]


class Attachment(BaseModel):
    """One attached file: its metadata and a handle on its bytes.

    Build one with :meth:`from_path`, :meth:`from_bytes` or :meth:`from_file`; read packages
    carry attachments whose bytes stay in a spool. :meth:`open` always yields the file itself
    (unzipped when the wire payload was a wrapping ZIP).
    """

    model_config = ConfigDict(populate_by_name=True, validate_assignment=True, extra="forbid")

    content_id: str = Field(alias="ContentId")
    """Without the ``cid:`` prefix; the writer adds it."""
    name: str = Field(alias="AttachmentName")
    description: str | None = Field(None, alias="Description")
    content_type: str = Field(alias="ContentType")
    """The file's own media type (the wire label of a zipped attachment is application/zip)."""
    field_name: str | None = Field(None, alias="FieldName")
    mime_type: str | None = Field(None, alias="MimeType")
    wire_content_type: str | None = None
    """The ``ContentType`` label as read, when the attachment came off the wire."""
    encoding: Encoding | None = None
    """How the wire payload was encoded, when read: ``zip`` (wrapped) or ``raw``."""
    problem: str | None = None
    """Why the payload cannot be decoded, when it cannot (the metadata is still readable)."""
    zip_member: str | None = None
    """Name of the file inside the wrapping ZIP, when read."""

    _path: Path | None = PrivateAttr(None)
    _payload: Payload | None = PrivateAttr(None)
    _sha256: str | None = PrivateAttr(None)
    _size: int | None = PrivateAttr(None)
    _max_bytes: int = PrivateAttr(DEFAULT_MAX_ATTACHMENT_BYTES)

    # construction -------------------------------------------------------------------------
    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        content_id: str | None = None,
        description: str | None = None,
        content_type: str | None = None,
    ) -> Attachment:
        """An attachment read from a file when the package is written."""
        p = Path(path)
        if not p.is_file():
            raise AttachmentError(f"{p} is not a readable file")
        file_name = name or p.name
        att = cls(
            content_id=content_id or str(uuid.uuid4()),
            name=file_name,
            description=description if description is not None else file_name,
            content_type=content_type or guess_content_type(file_name),
        )
        att._path = p
        return att

    @classmethod
    def from_file(
        cls,
        name: str,
        fileobj: IO[bytes],
        *,
        content_id: str | None = None,
        description: str | None = None,
        content_type: str | None = None,
        spool_memory: int = 1 << 20,
    ) -> Attachment:
        """An attachment copied, in chunks, from an open binary file."""
        payload = Payload(spool_memory)
        while chunk := fileobj.read(CHUNK):
            payload.write(chunk)
        att = cls(
            content_id=content_id or str(uuid.uuid4()),
            name=name,
            description=description if description is not None else name,
            content_type=content_type or guess_content_type(name),
        )
        att._payload = payload
        return att

    @classmethod
    def from_bytes(
        cls,
        name: str,
        data: bytes,
        *,
        content_id: str | None = None,
        description: str | None = None,
        content_type: str | None = None,
    ) -> Attachment:
        """An attachment from bytes in memory."""
        return cls.from_file(
            name,
            io.BytesIO(data),
            content_id=content_id,
            description=description,
            content_type=content_type,
            spool_memory=max(len(data), 1),
        )

    @classmethod
    def _from_wire(
        cls,
        *,
        content_id: str,
        name: str,
        description: str | None,
        wire_content_type: str | None,
        field_name: str | None,
        mime_type: str | None,
        spool: Base64Spool,
        max_bytes: int,
    ) -> Attachment:
        """An attachment read off the wire: classify the decoded payload, keep it spooled."""
        payload = spool.payload
        encoding: Encoding = "raw"
        member: str | None = None
        problem = spool.error
        if problem is None and payload.size >= 4:
            with payload.view() as view:
                magic = view.read(4)
                if magic == ZIP_MAGIC:
                    try:
                        with zipfile.ZipFile(view) as archive:
                            infos = [i for i in archive.infolist() if not i.is_dir()]
                    except (zipfile.BadZipFile, OSError, ValueError) as exc:
                        infos = []
                        problem = f"payload starts like a ZIP but is not one: {exc}"
                    if len(infos) == 1:
                        encoding, member = "zip", infos[0].filename
                        if infos[0].file_size > max_bytes:
                            problem = (
                                f"unzips to {infos[0].file_size} bytes, more than the limit "
                                f"of {max_bytes}"
                            )
        file_name = name or member or content_id
        att = cls(
            content_id=content_id,
            name=file_name,
            description=description,
            content_type=guess_content_type(file_name),
            wire_content_type=wire_content_type,
            field_name=field_name,
            mime_type=mime_type,
            encoding=encoding,
            problem=problem,
            zip_member=member,
        )
        att._payload = payload
        att._max_bytes = max_bytes
        return att

    # access -------------------------------------------------------------------------------
    def open(self) -> BinaryIO:
        """A new binary stream over the file's bytes (unzipped when it came wrapped)."""
        if self.problem is not None:
            raise AttachmentError(self.problem, content_id=self.content_id)
        if self._path is not None:
            try:
                return self._path.open("rb")
            except OSError as exc:
                raise AttachmentError(str(exc), content_id=self.content_id) from exc
        if self._payload is None:
            raise AttachmentError("has no content", content_id=self.content_id)
        view = self._payload.view()
        if self.encoding != "zip":
            return view
        try:
            archive = zipfile.ZipFile(view)
            member = archive.open(
                archive.infolist()[0] if self.zip_member is None else self.zip_member
            )
        except (zipfile.BadZipFile, OSError, KeyError, ValueError, RuntimeError) as exc:
            raise AttachmentError(
                f"cannot unzip the payload: {exc}", content_id=self.content_id
            ) from exc
        return io.BufferedReader(LimitedReader(member, self._max_bytes, self.content_id), CHUNK)

    def iter_chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        """The file's bytes in chunks."""
        with self.open() as stream:
            while chunk := stream.read(size):
                yield chunk

    def read_bytes(self) -> bytes:
        """The whole file in memory (for small files; prefer :meth:`open` for large ones)."""
        return b"".join(self.iter_chunks())

    def _measure(self) -> None:
        digest = hashlib.sha256()
        size = 0
        for chunk in self.iter_chunks():
            digest.update(chunk)
            size += len(chunk)
        self._sha256, self._size = digest.hexdigest(), size

    def verify(self) -> None:
        """Read the whole file once (checking the ZIP's CRC); raises AttachmentError."""
        if self._sha256 is None:
            self._measure()

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes (computed once, by streaming)."""
        if self._sha256 is None:
            self._measure()
        assert self._sha256 is not None  # noqa: S101 - set by _measure
        return self._sha256

    @property
    def size(self) -> int:
        """Size of the file in bytes."""
        if self._size is None:
            if self._path is not None:
                try:
                    self._size = self._path.stat().st_size
                except OSError as exc:
                    raise AttachmentError(
                        f"cannot read {self._path}: {exc.strerror or exc}",
                        content_id=self.content_id,
                    ) from exc
            elif self._payload is not None and self.encoding == "raw" and self.problem is None:
                self._size = self._payload.size
            else:
                self._measure()
        assert self._size is not None  # noqa: S101 - set above
        return self._size

    @property
    def wire_size(self) -> int | None:
        """Size of the decoded wire payload (the ZIP, when wrapped), when read."""
        return self._payload.size if self._payload is not None and self._path is None else None

    def save(self, folder: str | os.PathLike[str], *, file_name: str | None = None) -> Path:
        """Write the file into ``folder`` under a safe version of its name; returns the path."""
        target_dir = Path(folder)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / safe_file_name(file_name or self.name, self.content_id)
        with self.open() as src:  # first: a broken attachment leaves no empty file behind
            # Never follow a link planted at the target name: it could point anywhere.
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(target, flags, 0o644)
            except OSError as exc:
                raise AttachmentError(
                    f"cannot write {target}: {exc.strerror or exc}", content_id=self.content_id
                ) from exc
            with os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
        return target

    def close(self) -> None:
        """Release the spool behind a read or copied attachment."""
        if self._payload is not None:
            self._payload.close()
