"""The script of a counterparty session: what the partner agency does, and so what the
vendor's system must do in return.

A script is a small TOML file; every key is optional and :data:`DEFAULT_SCRIPT` is the
built-in one. Each scripted item is also an expectation of the vendor: a document the partner
sends must be fetched and acknowledged, and answered with the statuses of ``vendor_replies``;
a status the partner sends must be fetched and acknowledged.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from lgsp.documents import StatusCode
from lgsp.errors import ConfigurationError

__all__ = ["DEFAULT_SCRIPT", "Script", "ScriptedStatus", "load_script"]

DEFAULT_SCRIPT = """\
# What the partner agency does in a counterparty session (lgsp conformance counterparty).
# Every key is optional; these are the defaults.

documents = 2            # documents sent to the vendor at the start (signed, with a PDF)
sign = true              # sign the partner's packages (XML-DSig, a test CA of the kit)

# Later, revoke the first of them (a BussinessDocType 1 package), this many seconds after the
# vendor has acknowledged it and sent the statuses of vendor_replies for it.
revoke = true
revoke_after = 1.0

# Send a status 13 (the sender asks for a document back) for the last document, this many
# seconds after the vendor handled it: the vendor must answer 15 (agreed) or 16 (refused).
recall = false
recall_after = 1.0

# The vendor must send at least this many documents to the partner ...
vendor_documents = 1
# ... and answer each document the partner sends with status packages of these codes.
vendor_replies = ["01", "03"]

# How often the partner polls its inbox, in seconds.
poll_interval = 1.0

# What the partner answers to each document the vendor sends it: a status package per
# entry, `after` seconds after the partner received the document.
[[replies]]
code = "01"
after = 0.5

[[replies]]
code = "03"
after = 1.0

[[replies]]
code = "06"
after = 2.0
"""


def _status_code(value: str) -> str:
    code = value.strip().zfill(2)
    try:
        StatusCode(code)
    except ValueError:
        known = ", ".join(c.value for c in StatusCode)
        raise ValueError(f"{value!r} is not a status code (known: {known})") from None
    return code


class ScriptedStatus(BaseModel):
    """A status package the partner sends back, ``after`` seconds after a document came."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    after: float = Field(0.0, ge=0.0)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return _status_code(value)


class Script(BaseModel):
    """What the partner does (see :data:`DEFAULT_SCRIPT` for each key's meaning)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    documents: int = Field(2, ge=0, le=100)
    sign: bool = True
    revoke: bool = True
    revoke_after: float = Field(1.0, ge=0.0)
    recall: bool = False
    recall_after: float = Field(1.0, ge=0.0)
    vendor_documents: int = Field(1, ge=0)
    vendor_replies: tuple[str, ...] = ("01", "03")
    poll_interval: float = Field(1.0, gt=0.0, le=60.0)
    replies: tuple[ScriptedStatus, ...] = (
        ScriptedStatus(code="01", after=0.5),
        ScriptedStatus(code="03", after=1.0),
        ScriptedStatus(code="06", after=2.0),
    )

    @field_validator("vendor_replies")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_status_code(v) for v in value))


def load_script(path: str | Path | None = None) -> Script:
    """The script in a TOML file, or the built-in one; a problem is a ConfigurationError
    naming the key."""
    if path is None:
        text, where = DEFAULT_SCRIPT, "the built-in script"
    else:
        file = Path(path)
        where = str(file)
        try:
            text = file.read_text("utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"{file}: cannot read ({exc.strerror})", field="script"
            ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{where}: not valid TOML ({exc})", field="script") from exc
    try:
        return Script.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors(include_input=False)[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"{where}: {key}: {first['msg']}", field=key) from None
