"""Deployment profiles → services: which codec, which auth schemes, for each kind."""

from __future__ import annotations

from typing import Any

from lgsp.clients._core import PortalService, TokenPortalService, VxpService
from lgsp.clients._portal import PortalCodec, TokenPortalCodec
from lgsp.clients._vxp import VxpCodec
from lgsp.clients.settings import (
    GatewayProfile,
    PortalProfile,
    Settings,
    SoapHubProfile,
    TokenPortalProfile,
    VxpProfile,
)
from lgsp.transports.auth import Auth, ClientCredentials, PortalSession, VxpSigning
from lgsp.transports.base import Timeouts
from lgsp.transports.observe import CallLog
from lgsp.transports.retry import RetryPolicy

__all__ = ["client_arguments", "documents_service", "dossiers_service"]


def documents_service(profile: Any, timeouts: Timeouts, user_agent: str | None = None) -> Any:
    """The service of a documents profile (VXP direct, gateway, or SOAP hub)."""
    extra = {"user_agent": user_agent} if user_agent else {}
    if isinstance(profile, VxpProfile):
        codec = VxpCodec(profile.endpoint, timeouts=timeouts, **extra)
        auth: list[Auth] = [VxpSigning(profile.system_id, profile.secret.get_secret_value())]
        return VxpService(codec, auth, name="vxp")
    if isinstance(profile, GatewayProfile):
        codec = VxpCodec(profile.service_url, timeouts=timeouts, **extra)
        auth = [
            ClientCredentials(
                profile.token_url,
                profile.client_id,
                profile.client_secret.get_secret_value(),
                scope=profile.scope,
            )
        ]
        if profile.system_id is not None and profile.secret is not None:
            auth.append(VxpSigning(profile.system_id, profile.secret.get_secret_value()))
        return VxpService(codec, auth, name="gateway")
    if isinstance(profile, SoapHubProfile):
        from lgsp.clients._soap_backend import soap_hub_service

        return soap_hub_service(profile, timeouts)
    raise TypeError(f"not a documents profile: {profile!r}")


def dossiers_service(
    profile: PortalProfile | TokenPortalProfile, timeouts: Timeouts
) -> PortalService | TokenPortalService:
    """The service of a dossiers profile (classic adapter or token-based portal)."""
    if isinstance(profile, PortalProfile):
        codec = PortalCodec(
            profile.integration_url, profile.share_url, unit_code=profile.madonvi, timeouts=timeouts
        )
        session = PortalSession(
            profile.auth_url, profile.username, profile.password.get_secret_value(), profile.dstcode
        )
        return PortalService(codec, [session])
    token = ClientCredentials(
        profile.token_url, profile.client_id, profile.client_secret.get_secret_value()
    )
    return TokenPortalService(TokenPortalCodec(profile.base_url, timeouts=timeouts), [token])


def _tls(profile: Any) -> tuple[Any, Any]:
    if profile is None:
        return True, None
    verify = profile.verify
    return (
        str(verify) if not isinstance(verify, bool) else verify,
        str(profile.client_cert) if profile.client_cert else None,
    )


def client_arguments(settings: Settings | None) -> dict[str, Any]:
    """Keyword arguments of Client / AsyncClient for ``settings`` (default: environment)."""
    settings = settings if settings is not None else Settings()
    timeouts = settings.timeouts.to_timeouts()
    r = settings.retries
    args: dict[str, Any] = {
        "retry": RetryPolicy(
            max_attempts=r.max_attempts,
            base_delay=r.base_delay,
            max_delay=r.max_delay,
            respect_retry_after=r.respect_retry_after,
            max_retry_after=r.max_retry_after,
            jitter=r.jitter,
        ),
        "observer": CallLog(log_bodies=settings.log_bodies),
        "outbox": settings.outbox_path,
        "inbox": settings.inbox_path,
    }
    if settings.documents is not None:
        args["documents"] = documents_service(settings.documents, timeouts, settings.user_agent)
    if settings.dossiers is not None:
        args["dossiers"] = dossiers_service(settings.dossiers, timeouts)
    # One transport per client: the documents profile's TLS options win, then the dossiers'.
    verify, cert = _tls(settings.documents or settings.dossiers)
    args["verify"], args["cert"] = verify, cert
    return args
