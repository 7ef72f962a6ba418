"""Sync and async clients of the LGSP contracts, one resource per module.

:class:`Client` and :class:`AsyncClient` carry ``documents``, ``agencies``, ``dossiers`` and
``catalogue``; :class:`Settings` and its profiles describe a deployment (code, environment or
TOML); :class:`Outbox` and :class:`Inbox` keep sending and receiving exactly once across
crashes.
"""

from lgsp.clients._core import PortalService, TokenPortalService, VxpService
from lgsp.clients._portal import PortalCodec, TokenPaths, TokenPortalCodec
from lgsp.clients._vxp import Operation, VxpCodec
from lgsp.clients.client import AsyncClient, Client
from lgsp.clients.models import (
    AckStatus,
    Delivery,
    MessageType,
    ReceivedItem,
    ReceiveReport,
    SendOutcome,
    SentItem,
)
from lgsp.clients.outbox import Inbox, InboxState, Outbox, OutboxEntry, OutboxState
from lgsp.clients.settings import (
    GatewayProfile,
    PortalProfile,
    RetrySettings,
    Settings,
    SoapHubProfile,
    TimeoutSettings,
    TokenPortalProfile,
    VxpProfile,
)

__all__ = [
    "AckStatus",
    "AsyncClient",
    "Client",
    "Delivery",
    "GatewayProfile",
    "Inbox",
    "InboxState",
    "MessageType",
    "Operation",
    "Outbox",
    "OutboxEntry",
    "OutboxState",
    "PortalCodec",
    "PortalProfile",
    "PortalService",
    "ReceiveReport",
    "ReceivedItem",
    "RetrySettings",
    "SendOutcome",
    "SentItem",
    "Settings",
    "SoapHubProfile",
    "TimeoutSettings",
    "TokenPaths",
    "TokenPortalCodec",
    "TokenPortalProfile",
    "TokenPortalService",
    "VxpCodec",
    "VxpProfile",
    "VxpService",
]
