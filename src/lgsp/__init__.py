"""lgsp — the contracts of Vietnam's data-sharing platform (LGSP), VXP and the DVCQG portal.

The curated public API: document exchange (edXML packages), signatures, findings and errors,
and the clients that talk to the platform.
Everything here is importable from ``lgsp`` directly; submodules hold the rest. The names
are imported when first used (PEP 562), so ``import lgsp`` alone is cheap: the pytest plugin
that every test run of an lgsp user loads pays nothing for the clients it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lgsp.clients import AsyncClient, Client, SendOutcome, Settings
    from lgsp.documents import (
        Attachment,
        Business,
        BusinessDocType,
        DocumentPackage,
        Organization,
        StatusCode,
        StatusPackage,
        WriteOptions,
        check,
        package_to_bytes,
        read_document,
        read_package,
        read_status,
        validate,
        write_package,
    )
    from lgsp.errors import (
        AttachmentError,
        AuthError,
        CodeError,
        ConfigurationError,
        DossierError,
        HostileXMLError,
        LgspError,
        OutboxError,
        PackageError,
        ProtocolError,
        RegistryError,
        RemoteServiceError,
        SignatureError,
        TransportError,
        ValidationError,
        XMLError,
    )
    from lgsp.findings import Finding
    from lgsp.signatures import (
        KeySigner,
        Signer,
        VerificationResult,
        sign_package,
        verify_package,
    )

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncClient",
    "Attachment",
    "AttachmentError",
    "AuthError",
    "Business",
    "BusinessDocType",
    "Client",
    "CodeError",
    "ConfigurationError",
    "DocumentPackage",
    "DossierError",
    "Finding",
    "HostileXMLError",
    "KeySigner",
    "LgspError",
    "Organization",
    "OutboxError",
    "PackageError",
    "ProtocolError",
    "RegistryError",
    "RemoteServiceError",
    "SendOutcome",
    "Settings",
    "SignatureError",
    "Signer",
    "StatusCode",
    "StatusPackage",
    "TransportError",
    "ValidationError",
    "VerificationResult",
    "WriteOptions",
    "XMLError",
    "__version__",
    "check",
    "package_to_bytes",
    "read_document",
    "read_package",
    "read_status",
    "sign_package",
    "validate",
    "verify_package",
    "write_package",
]

#: Where each public name lives; imported on first use.
_LAZY: dict[str, str] = {
    "AsyncClient": "lgsp.clients",
    "Client": "lgsp.clients",
    "SendOutcome": "lgsp.clients",
    "Settings": "lgsp.clients",
    "Attachment": "lgsp.documents",
    "Business": "lgsp.documents",
    "BusinessDocType": "lgsp.documents",
    "DocumentPackage": "lgsp.documents",
    "Organization": "lgsp.documents",
    "StatusCode": "lgsp.documents",
    "StatusPackage": "lgsp.documents",
    "WriteOptions": "lgsp.documents",
    "check": "lgsp.documents",
    "package_to_bytes": "lgsp.documents",
    "read_document": "lgsp.documents",
    "read_package": "lgsp.documents",
    "read_status": "lgsp.documents",
    "validate": "lgsp.documents",
    "write_package": "lgsp.documents",
    "AttachmentError": "lgsp.errors",
    "AuthError": "lgsp.errors",
    "CodeError": "lgsp.errors",
    "ConfigurationError": "lgsp.errors",
    "DossierError": "lgsp.errors",
    "HostileXMLError": "lgsp.errors",
    "LgspError": "lgsp.errors",
    "OutboxError": "lgsp.errors",
    "PackageError": "lgsp.errors",
    "ProtocolError": "lgsp.errors",
    "RegistryError": "lgsp.errors",
    "RemoteServiceError": "lgsp.errors",
    "SignatureError": "lgsp.errors",
    "TransportError": "lgsp.errors",
    "ValidationError": "lgsp.errors",
    "XMLError": "lgsp.errors",
    "Finding": "lgsp.findings",
    "KeySigner": "lgsp.signatures",
    "Signer": "lgsp.signatures",
    "VerificationResult": "lgsp.signatures",
    "sign_package": "lgsp.signatures",
    "verify_package": "lgsp.signatures",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    else:
        try:  # a submodule used as an attribute (``lgsp.documents`` after ``import lgsp``)
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
