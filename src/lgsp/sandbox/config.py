"""What the operator provisions in a sandbox: systems, applications, portal users, faults.

A :class:`SandboxConfig` comes from code, or from a TOML file (:meth:`SandboxConfig.from_toml`);
:meth:`SandboxConfig.demo` is the ready-made one the demo, the examples and the tests use. The
credentials in it are test credentials for a local emulator, never real ones.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from lgsp.errors import ConfigurationError
from lgsp.sandbox.faults import check_defects

if TYPE_CHECKING:
    from lgsp.clients.settings import PortalProfile

__all__ = [
    "AgencySeed",
    "FaultSettings",
    "LgspApplication",
    "PortalUser",
    "ProcedureSeed",
    "SandboxConfig",
    "VxpSystem",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VxpSystem(_Model):
    """A system allowed on the VXP axis: its ``systemid``, HMAC secret, and the organ codes it
    sends and receives for (a centre serves several agencies)."""

    system_id: str
    secret: str
    organs: list[str] = Field(default_factory=list)


class LgspApplication(_Model):
    """An application subscribed on the LGSP gateway (WSO2 client credentials)."""

    client_id: str
    client_secret: str
    #: Seconds a token lives (``expires_in``).
    token_lifetime: int = 3600
    #: When the gateway passes VXP calls on, the system they are made as (None: the caller's
    #: own signed headers decide).
    system_id: str | None = None


class PortalUser(_Model):
    """A login of the classic DVCQG adapter (§4.1)."""

    username: str
    password: str
    dstcode: str
    madonvi: str
    #: Seconds a session lives.
    session_lifetime: int = 3600

    def client_profile(self, sandbox_url: str) -> PortalProfile:
        """The lgsp client profile that logs in as this user on a sandbox at ``sandbox_url``."""
        from lgsp.clients.settings import PortalProfile

        return PortalProfile(
            adapter_url=f"{sandbox_url.rstrip('/')}/portal",
            auth_endpoint="/auth",
            integration_endpoint="/integration",
            share_endpoint="/share",
            username=self.username,
            password=self.password,
            dstcode=self.dstcode,
            madonvi=self.madonvi,
        )


class AgencySeed(_Model):
    """An agency of the seeded directory (getAgenciesList item)."""

    code: str
    name: str
    id: str | None = None
    pid: str | None = None
    mail: str | None = None
    level: str | None = None


class ProcedureSeed(_Model):
    """A procedure of the seeded catalogue (LayThuTuc / LayDanhSachTTHC)."""

    code: str
    name: str
    field_code: str
    field_name: str
    sector_code: str | None = None


class FaultSettings(_Model):
    """Failure the sandbox injects, so that client tests can rehearse it."""

    #: Seconds added to every answer.
    latency: float = 0.0
    #: Share of calls answered 503 (with ``Retry-After: 1``) before any processing.
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    #: Share of calls whose connection is dropped *after* processing (the client never hears).
    drop_rate: float = Field(0.0, ge=0.0, le=1.0)
    #: When set, every token and session lives this many seconds instead.
    token_lifetime: int | None = None
    #: Seed of the random draws (reproducible runs).
    seed: int | None = None
    #: Deliberately wrong behaviours to play (:class:`lgsp.sandbox.faults.Defect` names).
    defects: frozenset[str] = frozenset()

    @field_validator("defects", mode="after")
    @classmethod
    def _known_defects(cls, value: frozenset[str]) -> frozenset[str]:
        try:
            return check_defects(value)
        except TypeError as exc:
            raise ValueError(str(exc)) from None


class SandboxConfig(_Model):
    """Everything a sandbox is provisioned with."""

    systems: list[VxpSystem] = Field(default_factory=list)
    applications: list[LgspApplication] = Field(default_factory=list)
    portal_users: list[PortalUser] = Field(default_factory=list)
    #: Token-based portal clients (client id → secret).
    portal_clients: list[LgspApplication] = Field(default_factory=list)
    agencies: list[AgencySeed] = Field(default_factory=list)
    procedures: list[ProcedureSeed] = Field(default_factory=list)
    #: How strictly received packages and dossiers are checked.
    profile: Literal["strict", "lenient"] = "lenient"
    #: VXP: a resent package (same bytes) returns its first DocId instead of a second copy.
    dedupe: bool = True
    #: SOAP hub: refuse calls without an ``authorization`` token (one from ``POST /token``).
    #: When False, a token is checked only when one is sent.
    hub_token_required: bool = False
    #: The largest package taken (VXP sendEdoc body, SOAP SendDocument package), in bytes;
    #: a larger one is refused before it is parsed (VXP 413, a SOAP Fault).
    max_package_bytes: int = Field(10 * 1024 * 1024, gt=0)
    #: PEM files of the CA certificates a signing certificate must chain to; none: signatures
    #: are checked for integrity and certificate dates only.
    trust_anchors: list[Path] = Field(default_factory=list)
    faults: FaultSettings = FaultSettings()

    @field_validator("trust_anchors", mode="after")
    @classmethod
    def _anchor_files(cls, value: list[Path]) -> list[Path]:
        missing = [str(path) for path in value if not path.is_file()]
        if missing:
            raise ValueError(f"no such certificate file: {', '.join(missing)}")
        return value

    @classmethod
    def from_toml(cls, path: str | Path) -> SandboxConfig:
        """Read a config file; any problem is a ConfigurationError naming the field."""
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text("utf-8"))
        except OSError as exc:
            raise ConfigurationError(
                f"{file}: cannot read ({exc.strerror})", field="config"
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{file}: not valid TOML ({exc})", field="config") from exc
        try:
            return cls.model_validate(data)
        except PydanticValidationError as exc:
            first = exc.errors(include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigurationError(f"{file}: {first['msg']}", field=where) from None

    def system(self, system_id: str) -> VxpSystem | None:
        return next((s for s in self.systems if s.system_id == system_id), None)

    @classmethod
    def demo(cls) -> SandboxConfig:
        """Two agencies on two centres, a gateway application, a portal user and a portal
        client, a small directory and catalogue: what the demo and the examples use."""
        return cls(
            systems=[
                VxpSystem(
                    system_id="vxp.saas.03", secret="sandbox-secret-a", organs=["000.00.00.G22"]
                ),
                VxpSystem(
                    system_id="vxp.saas.07", secret="sandbox-secret-b", organs=["000.00.00.H41"]
                ),
            ],
            applications=[LgspApplication(client_id="qlvb-app", client_secret="sandbox-app")],
            portal_users=[
                PortalUser(
                    username="tich-hop",
                    password="sandbox-portal",
                    dstcode="DST-H41",
                    madonvi="000.00.01.H41",
                )
            ],
            portal_clients=[LgspApplication(client_id="dvc-bo", client_secret="sandbox-dvc")],
            agencies=[
                AgencySeed(
                    code="000.00.00.G22",
                    name="Văn phòng Chính phủ",
                    id="1",
                    mail="vanthu@vpcp.example.gov.vn",
                    level="1",
                ),
                AgencySeed(
                    code="000.00.00.H41",
                    name="Ủy ban nhân dân tỉnh Nghệ An",
                    id="2",
                    mail="vanthu@nghean.example.gov.vn",
                    level="1",
                ),
                AgencySeed(
                    code="000.00.01.H41",
                    name="Văn phòng UBND tỉnh Nghệ An",
                    id="3",
                    pid="2",
                    level="2",
                ),
                AgencySeed(
                    code="000.00.00.H40", name="Ủy ban nhân dân tỉnh Hà Tĩnh", id="4", level="1"
                ),
            ],
            procedures=[
                ProcedureSeed(
                    code="1.001193",
                    name="Đăng ký khai sinh",
                    field_code="G09-HT",
                    field_name="Hộ tịch",
                    sector_code="TP",
                ),
                ProcedureSeed(
                    code="1.005129",
                    name="Cấp giấy phép xây dựng",
                    field_code="G09-XD",
                    field_name="Xây dựng",
                    sector_code="XD",
                ),
            ],
        )
