"""Deployment profiles: where lgsp sends documents and dossiers, with which credentials.

One pydantic model per way of reaching a contract, told apart by ``kind``:

* documents: ``vxp`` (the VXP axis itself, vn-contracts §2.1), ``gateway`` (VXP behind an LGSP
  on WSO2, OAuth2 client credentials, §2.3 and §3), ``soap-hub`` (a provincial document hub, §3);
* dossiers: ``portal`` (the classic DVCQG adapter, §4.1), ``portal-token`` (the token-based
  ministry portal, §4.3).

:class:`Settings` gathers them with retry and timeout policy. Values come from keyword
arguments, then ``LGSP_*`` environment variables (``__`` between levels), then a TOML file given
to :meth:`Settings.from_toml` — the first source that sets a field wins. Secrets are
:class:`~pydantic.SecretStr`; any problem is a :class:`~lgsp.errors.ConfigurationError` that
names the field (``documents.secret``) and never quotes a value.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit, urlunsplit

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.exceptions import SettingsError

from lgsp.codes import parse_organ_code
from lgsp.errors import ConfigurationError
from lgsp.transports.base import Timeouts

__all__ = [
    "DocumentsProfile",
    "DossiersProfile",
    "GatewayProfile",
    "PortalProfile",
    "RetrySettings",
    "Settings",
    "SoapHubProfile",
    "TimeoutSettings",
    "TokenPortalProfile",
    "VxpProfile",
]


# --- Field types ------------------------------------------------------------------------------


def _http_url(value: str) -> str:
    """An absolute http(s) URL without query, fragment or credentials; no trailing slash."""
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}://" if scheme else "no scheme"
        raise ValueError(f"must be an http:// or https:// URL (found {shown})")
    if "@" in parts.netloc:
        # Never echo the URL: what sits before '@' is a password.
        raise ValueError("must not carry a user name or password; use the credential settings")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"has a bad host or port ({exc})") from None
    if not host:
        raise ValueError("has no host")
    if parts.query or parts.fragment or value.strip().endswith(("?", "#")):
        raise ValueError("must not have a query string or fragment")
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    return urlunsplit((scheme, parts.netloc.lower(), path, "", ""))


def _url_path(value: str) -> str:
    """A path joined to a base URL ("/x/y", leading slash added, trailing removed), or an
    absolute http(s) URL used as it is."""
    text = value.strip()
    if re.match(r"(?i)https?://", text):
        return _http_url(text)
    if re.search(r"[\s?#]", text):
        raise ValueError("must be a path (no spaces, query string or fragment) or an http(s) URL")
    return re.sub(r"/{2,}", "/", "/" + text).rstrip("/")


def _organ_code(value: str) -> str:
    # Lenient: VXP system ids are lowercase (vxp.saas.03); hubs and portals use organ codes.
    return parse_organ_code(value).value


def _join(base: str, path: str) -> str:
    return path if re.match(r"(?i)https?://", path) else base + path


HttpUrl = Annotated[str, AfterValidator(_http_url)]
UrlPath = Annotated[str, AfterValidator(_url_path)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
OrganId = Annotated[Text, AfterValidator(_organ_code)]
Secret = Annotated[SecretStr, Field(min_length=1)]


# --- Errors -----------------------------------------------------------------------------------

_TAGGED = {"documents": ("vxp", "gateway", "soap-hub"), "dossiers": ("portal", "portal-token")}
_KINDS = {kind for kinds in _TAGGED.values() for kind in kinds}


def _field_path(loc: tuple[int | str, ...], error_type: str) -> str:
    parts = [str(p) for p in loc]
    # A discriminated union puts the tag in the location: documents.vxp.secret.
    if len(parts) > 1 and parts[0] in _TAGGED and parts[1] in _KINDS:
        del parts[1]
    if error_type in ("union_tag_not_found", "union_tag_invalid"):
        parts.append("kind")
    return ".".join(parts) or "settings"


# Set while a Settings or profile is being built: nested profiles then let pydantic's error
# through, so that the outermost constructor reports every field with its full path.
_BUILDING: contextvars.ContextVar[bool] = contextvars.ContextVar("lgsp_settings", default=False)


@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    if _BUILDING.get():
        yield
        return
    token = _BUILDING.set(True)
    try:
        yield
    except pydantic.ValidationError as exc:
        # Not chained: pydantic's own message quotes the input, secrets included.
        raise _configuration_error(exc) from None
    finally:
        _BUILDING.reset(token)


def _message(loc: tuple[int | str, ...], error_type: str, message: str) -> str:
    kinds = _TAGGED.get(str(loc[0])) if loc else None
    if kinds and error_type in ("union_tag_not_found", "union_tag_invalid"):
        what = "missing" if error_type == "union_tag_not_found" else "not a known kind"
        return f"{what}; expected one of {', '.join(kinds)}"
    return message


def _configuration_error(exc: pydantic.ValidationError) -> ConfigurationError:
    """Pydantic's error, field by field, without the input values (they may be secrets)."""
    problems = [
        (_field_path(tuple(e["loc"]), e["type"]), _message(e["loc"], e["type"], e["msg"]))
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    (field, message), others = problems[0], problems[1:]
    if others:
        message += "; also " + "; ".join(f"{path}: {msg}" for path, msg in others)
    return ConfigurationError(message, field=field)


# --- Profiles ---------------------------------------------------------------------------------


class _Section(BaseModel):
    """A frozen part of the settings whose errors are ConfigurationError."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    def __init__(self, **data: Any) -> None:
        with _translated_errors():
            super().__init__(**data)


class _Profile(_Section):
    """TLS options shared by every profile."""

    #: True (the system CA store), False (no verification: tests only), or a CA bundle path.
    verify: bool | Path = True
    #: A PEM file holding the client certificate and its key, for mutual TLS.
    client_cert: Path | None = None

    @field_validator("verify", "client_cert")
    @classmethod
    def _existing_file(cls, value: bool | Path | None) -> bool | Path | None:
        if isinstance(value, Path) and not value.exists():
            raise ValueError(f"{value} does not exist")
        return value


class VxpProfile(_Profile):
    """The VXP axis reached directly: endpoint, system id and HMAC secret (§2.1)."""

    kind: Literal["vxp"] = "vxp"
    #: The service base; operations are appended (``/sendEdoc``, ``/getEdoc``…).
    endpoint: HttpUrl
    #: The centre code (``systemid``), e.g. ``vxp.saas.03``.
    system_id: OrganId
    secret: Secret


def _default_token_url(data: Any) -> Any:
    if (
        isinstance(data, dict)
        and not data.get("token_url")
        and isinstance(data.get("base_url"), str)
    ):
        return {**data, "token_url": data["base_url"].strip().rstrip("/") + "/token"}
    return data


class GatewayProfile(_Profile):
    """VXP behind an LGSP gateway (WSO2): OAuth2 client credentials, an API context (§2.3, §3)."""

    kind: Literal["gateway"] = "gateway"
    base_url: HttpUrl
    context_path: UrlPath = "/vdxp-product/1.0"
    #: Defaults to ``{base_url}/token``, where WSO2 serves it.
    token_url: HttpUrl = ""
    client_id: Text
    client_secret: Secret
    scope: str | None = None
    #: When the gateway passes the VXP headers through to the axis, the axis credentials too.
    system_id: OrganId | None = None
    secret: Secret | None = None

    @model_validator(mode="before")
    @classmethod
    def _token_url(cls, data: Any) -> Any:
        return _default_token_url(data)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.system_id is None) != (self.secret is None):
            raise ValueError("system_id and secret go together: give both or neither")
        return self

    @property
    def service_url(self) -> str:
        """Where the VXP operations live: ``base_url`` + ``context_path``."""
        return self.base_url + self.context_path


class SoapHubProfile(_Profile):
    """A provincial SOAP document hub (the Bkav eDoc kind, §3): endpoint, organ id, token."""

    kind: Literal["soap-hub"] = "soap-hub"
    endpoint: HttpUrl
    organ_id: OrganId
    token: Secret | None = None
    #: A WSDL shipped with lgsp (by name) or a file path.
    wsdl: Text = "document-hub.wsdl"


class PortalProfile(_Profile):
    """The classic DVCQG adapter (§4.1): session login, integration and sharing endpoints."""

    kind: Literal["portal"] = "portal"
    adapter_url: HttpUrl
    #: Paths appended to ``adapter_url`` (or absolute URLs, used as they are).
    auth_endpoint: UrlPath
    integration_endpoint: UrlPath
    share_endpoint: UrlPath
    username: Text
    password: Secret
    #: Sent as the ``dstcode`` header on every call.
    dstcode: Text
    #: The organ code sent as ``madonvi`` in every body.
    madonvi: Text

    @property
    def auth_url(self) -> str:
        return _join(self.adapter_url, self.auth_endpoint)

    @property
    def integration_url(self) -> str:
        return _join(self.adapter_url, self.integration_endpoint)

    @property
    def share_url(self) -> str:
        return _join(self.adapter_url, self.share_endpoint)


class TokenPortalProfile(_Profile):
    """The token-based ministry portal (§4.3): OAuth2-like ``client_id``/``client_secret``."""

    kind: Literal["portal-token"] = "portal-token"
    base_url: HttpUrl
    token_url: HttpUrl
    client_id: Text
    client_secret: Secret


DocumentsProfile = Annotated[
    VxpProfile | GatewayProfile | SoapHubProfile, Field(discriminator="kind")
]
DossiersProfile = Annotated[PortalProfile | TokenPortalProfile, Field(discriminator="kind")]


# --- Policies ---------------------------------------------------------------------------------


class RetrySettings(_Section):
    """How calls are retried: attempts, exponential backoff with jitter, ``Retry-After``."""

    max_attempts: int = Field(4, ge=1, le=100)
    base_delay: float = Field(0.5, ge=0)
    max_delay: float = Field(30.0, ge=0)
    #: ``full``: a pick in [0, delay]; ``equal``: in [delay/2, delay]; ``none``: the delay.
    jitter: Literal["full", "equal", "none"] = "full"
    respect_retry_after: bool = True
    #: A longer ``Retry-After`` is not waited for: the call fails with the remote's answer.
    max_retry_after: float = Field(120.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_delay < self.base_delay:
            raise ValueError("max_delay must not be less than base_delay")
        return self


class TimeoutSettings(_Section):
    """Seconds per phase of a call; ``total`` bounds a whole exchange (None: no bound)."""

    connect: float = Field(10.0, gt=0)
    read: float = Field(30.0, gt=0)
    write: float = Field(30.0, gt=0)
    pool: float = Field(10.0, gt=0)
    total: float | None = Field(120.0, gt=0)

    def to_timeouts(self) -> Timeouts:
        """The transports' own value (same fields)."""
        return Timeouts(**self.model_dump())


# --- Settings ---------------------------------------------------------------------------------

# The TOML file of the Settings being built (from_toml), seen by settings_customise_sources.
_TOML_FILE: contextvars.ContextVar[tuple[Path, tuple[str, ...]] | None] = contextvars.ContextVar(
    "lgsp_settings_toml", default=None
)


class Settings(BaseSettings):
    """Everything a client needs to reach its services, from code, environment or TOML.

    Priority, highest first: keyword arguments, ``LGSP_*`` environment variables (nested
    fields joined by ``__``: ``LGSP_DOCUMENTS__SECRET``), the TOML file of :meth:`from_toml`,
    then the defaults. No ``.env`` file is read.
    """

    model_config = SettingsConfigDict(
        env_prefix="LGSP_",
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
    )

    documents: DocumentsProfile | None = None
    dossiers: DossiersProfile | None = None
    retries: RetrySettings = RetrySettings()
    timeouts: TimeoutSettings = TimeoutSettings()
    #: The durable outbox and inbox files (SQLite) of the clients; None keeps them in memory.
    outbox_path: Path | None = None
    inbox_path: Path | None = None
    user_agent: str | None = None
    #: Log headers and bodies (redacted) at debug level; see lgsp.transports.observe.
    log_bodies: bool = False

    def __init__(self, **values: Any) -> None:
        try:
            with _translated_errors():
                super().__init__(**values)
        except SettingsError as exc:
            raise ConfigurationError(str(exc)) from None

    @classmethod
    def from_toml(
        cls, path: str | os.PathLike[str], /, *, table: str | None = None, **overrides: Any
    ) -> Self:
        """Settings read from a TOML file; environment variables and ``overrides`` win over it.

        ``table`` picks a dotted table (``"tool.lgsp"``) when the file holds more than lgsp's
        settings.
        """
        file = Path(path)
        if not file.is_file():
            raise ConfigurationError(f"{file}: no such file", field="toml")
        header = tuple(table.split(".")) if table else ()
        token = _TOML_FILE.set((file, header))
        try:
            return cls(**overrides)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{file}: not valid TOML ({exc})", field="toml") from None
        except KeyError:
            if not header:
                raise
            raise ConfigurationError(f"{file}: no table [{table}]", field="toml") from None
        finally:
            _TOML_FILE.reset(token)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env on purpose
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no secrets dir
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Code, then environment, then the TOML file of from_toml (no .env, no secrets dir)."""
        toml = _TOML_FILE.get()
        if toml is None:
            return init_settings, env_settings
        file, header = toml
        source = TomlConfigSettingsSource(settings_cls, toml_file=file, toml_table_header=header)
        return init_settings, env_settings, source
