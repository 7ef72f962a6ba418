"""Describing an endpoint under test: from command-line values, a kit TOML file or a sandbox.

A kit file names the profile, the URL, the kit's limits and one or two parties, each an lgsp
:class:`~lgsp.clients.Settings` table plus the organ it acts for::

    profile = "vxp"
    url = "https://vxp.example.gov.vn"

    [kit]                       # KitOptions, all optional
    delivery_timeout = 30

    [sender]
    organ = "000.00.00.G22"
    documents = { kind = "vxp", endpoint = "https://vxp.example.gov.vn/vxp",
                  system_id = "vxp.saas.03", secret = "${VXP_SECRET}" }

    [receiver]                  # optional: the exchange cases need it
    organ = "000.00.00.H41"
    documents = { kind = "vxp", endpoint = "https://vxp.example.gov.vn/vxp",
                  system_id = "vxp.saas.07", secret = "${VXP_PEER_SECRET}" }

``${NAME}`` in any string is replaced by the environment variable ``NAME`` (a missing one is a
ConfigurationError naming it), so the file itself holds no secret.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from lgsp.clients import (
    GatewayProfile,
    PortalProfile,
    Settings,
    SoapHubProfile,
    TokenPortalProfile,
    VxpProfile,
)
from lgsp.conformance.runner import KitOptions, Party, Target
from lgsp.conformance.suite import ProfileName
from lgsp.errors import ConfigurationError

__all__ = [
    "PartyValues",
    "embedded_target",
    "load_target",
    "sandbox_target",
    "target_from_values",
]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            found = os.environ.get(name)
            if found is None:
                raise ConfigurationError(
                    f"{where}: the environment variable {name} is not set", field=where
                )
            return found

        return _ENV.sub(lookup, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, where) for v in value]
    return value


def _profile(value: Any, where: str) -> ProfileName:
    known = get_args(ProfileName)
    if value not in known:
        raise ConfigurationError(
            f"{where}: profile must be one of {', '.join(known)}, not {value!r}", field="profile"
        )
    return value  # type: ignore[no-any-return]


def _settings(data: Mapping[str, Any], where: str) -> Settings:
    try:
        return Settings(**data)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"{where}.{field}: {first['msg']}", field=field) from None


def _party(data: Any, where: str) -> Party:
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where} must be a table", field=where)
    rest = dict(data)
    organ = rest.pop("organ", None)
    name = rest.pop("organ_name", "")
    if not isinstance(organ, str) or not organ:
        raise ConfigurationError(f"{where}.organ: the organ code the party acts for", field=where)
    return Party(_settings(rest, where), organ, str(name))


def _options(data: Any, base: KitOptions | None) -> KitOptions:
    options = base or KitOptions()
    if data is None:
        return options
    if not isinstance(data, dict):
        raise ConfigurationError("[kit] must be a table", field="kit")
    known = {f.name for f in dataclasses.fields(KitOptions)}
    unknown = set(data) - known
    if unknown:
        raise ConfigurationError(
            f"[kit]: unknown {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})",
            field="kit",
        )
    return dataclasses.replace(options, **data)


def load_target(
    path: str | Path,
    *,
    profile: ProfileName | None = None,
    url: str | None = None,
    options: KitOptions | None = None,
) -> Target:
    """The target a kit file describes; ``profile`` and ``url`` override the file's."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text("utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot read ({exc.strerror})", field="settings") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{file}: not valid TOML ({exc})", field="settings") from exc
    data = _expand(raw, file.name)
    chosen = _profile(profile or data.get("profile", "vxp"), str(file))
    where = url or data.get("url")
    if not isinstance(where, str) or not where:
        raise ConfigurationError(f"{file}: no url (the endpoint under test)", field="url")
    if "sender" not in data:
        raise ConfigurationError(f"{file}: no [sender] table", field="sender")
    sender = _party(data["sender"], "sender")
    receiver = _party(data["receiver"], "receiver") if "receiver" in data else None
    return Target(chosen, where.rstrip("/"), sender, receiver, _options(data.get("kit"), options))


@dataclasses.dataclass(frozen=True, slots=True)
class PartyValues:
    """One party's credentials as given on a command line."""

    organ: str | None = None
    system_id: str | None = None
    secret: str | None = None
    organ_name: str = ""


def _require(value: str | None, option: str, profile: str) -> str:
    if not value:
        raise ConfigurationError(f"the {profile} profile needs {option}", field=option)
    return value


def target_from_values(
    profile: ProfileName,
    url: str,
    *,
    sender: PartyValues,
    receiver: PartyValues | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    token_url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    dstcode: str | None = None,
    madonvi: str | None = None,
    verify: bool = True,
    options: KitOptions | None = None,
) -> Target:
    """A target from single values (the CLI's options); paths follow lgsp's defaults:
    ``{url}/vxp`` is given as is for ``vxp``, the gateway's API context, ``/soap/DocumentHub``
    is not appended (give the hub's endpoint as the URL)."""
    base = url.rstrip("/")

    def documents(values: PartyValues, role: str) -> Party:
        organ = _require(values.organ, f"--{role}organ", profile)
        if profile == "vxp":
            p: Any = VxpProfile(
                endpoint=base,
                system_id=_require(values.system_id, f"--{role}system-id", profile),
                secret=_require(values.secret, f"--{role}secret", profile),
                verify=verify,
            )
        elif profile == "gateway":
            p = GatewayProfile(
                base_url=base,
                token_url=token_url or "",
                client_id=_require(client_id, "--client-id", profile),
                client_secret=_require(client_secret, "--client-secret", profile),
                system_id=values.system_id,
                secret=values.secret,
                verify=verify,
            )
        else:
            p = SoapHubProfile(endpoint=base, organ_id=organ, verify=verify)
        return Party(Settings(documents=p), organ, values.organ_name)

    try:
        if profile in ("vxp", "gateway", "soap-hub"):
            first = documents(sender, "")
            second = documents(receiver, "peer-") if receiver and receiver.organ else None
            return Target(profile, base, first, second, options or KitOptions())
        if profile == "portal":
            unit = _require(madonvi or sender.organ, "--madonvi", profile)
            classic = PortalProfile(
                adapter_url=base,
                auth_endpoint="/auth",
                integration_endpoint="/integration",
                share_endpoint="/share",
                username=_require(username, "--username", profile),
                password=_require(password, "--password", profile),
                dstcode=_require(dstcode, "--dstcode", profile),
                madonvi=unit,
                verify=verify,
            )
            return Target(
                profile,
                base,
                Party(Settings(dossiers=classic), unit),
                None,
                options or KitOptions(),
            )
        token = TokenPortalProfile(
            base_url=base,
            token_url=token_url or f"{base}/token",
            client_id=_require(client_id, "--client-id", profile),
            client_secret=_require(client_secret, "--client-secret", profile),
            verify=verify,
        )
        unit = _require(madonvi or sender.organ, "--madonvi", profile)
        return Target(
            profile, base, Party(Settings(dossiers=token), unit), None, options or KitOptions()
        )
    except ValidationError as exc:
        detail = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in detail["loc"])
        raise ConfigurationError(f"{where}: {detail['msg']}", field=where) from None


# --- the sandbox as a target ------------------------------------------------------------------


def sandbox_target(
    url: str, profile: ProfileName, options: KitOptions | None = None, *, embedded: bool = False
) -> Target:
    """A target for an lgsp sandbox at ``url`` with its demo credentials
    (:meth:`lgsp.sandbox.SandboxConfig.demo`): G22 sends, H41 receives."""
    from lgsp.sandbox import SandboxConfig
    from lgsp.testing import samples

    demo = SandboxConfig.demo()
    url = url.rstrip("/")
    a, b = demo.systems[0], demo.systems[1]
    app = demo.applications[0]
    a_name = samples.GOVERNMENT_OFFICE.organ_name or ""
    b_name = samples.NGHE_AN.organ_name or ""
    sender: Party
    receiver: Party | None
    if profile == "vxp":
        sender = Party(
            Settings(
                documents=VxpProfile(endpoint=f"{url}/vxp", system_id=a.system_id, secret=a.secret)
            ),
            a.organs[0],
            a_name,
        )
        receiver = Party(
            Settings(
                documents=VxpProfile(endpoint=f"{url}/vxp", system_id=b.system_id, secret=b.secret)
            ),
            b.organs[0],
            b_name,
        )
    elif profile == "gateway":

        def gw(system: Any) -> Settings:
            return Settings(
                documents=GatewayProfile(
                    base_url=url,
                    client_id=app.client_id,
                    client_secret=app.client_secret,
                    system_id=system.system_id,
                    secret=system.secret,
                )
            )

        sender = Party(gw(a), a.organs[0], a_name)
        receiver = Party(gw(b), b.organs[0], b_name)
    elif profile == "soap-hub":

        def hub(organ: str) -> Settings:
            return Settings(
                documents=SoapHubProfile(endpoint=f"{url}/soap/DocumentHub", organ_id=organ)
            )

        sender = Party(hub(a.organs[0]), a.organs[0], a_name)
        receiver = Party(hub(b.organs[0]), b.organs[0], b_name)
    elif profile == "portal":
        user = demo.portal_users[0]
        classic = user.client_profile(url)
        sender, receiver = Party(Settings(dossiers=classic), user.madonvi), None
    elif profile == "portal-token":
        client = demo.portal_clients[0]
        token = TokenPortalProfile(
            base_url=f"{url}/portal-token",
            token_url=f"{url}/portal-token/token",
            client_id=client.client_id,
            client_secret=client.client_secret,
        )
        sender, receiver = Party(Settings(dossiers=token), demo.portal_users[0].madonvi), None
    else:  # pragma: no cover - ProfileName is closed
        raise ConfigurationError(f"no profile {profile!r}", field="profile")
    return Target(profile, url, sender, receiver, options or KitOptions(), embedded=embedded)


@contextmanager
def embedded_target(profile: ProfileName, options: KitOptions | None = None) -> Iterator[Target]:
    """A sandbox started on a free loopback port for the run, and the target for it."""
    from lgsp.sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox_target(sandbox.url, profile, options, embedded=True)
