"""lgsp — the contracts of Vietnam's data-sharing platform (LGSP), VXP and the DVCQG portal.

The curated public API: document exchange (edXML packages), signatures, findings and errors,
and the clients that talk to the platform.
Everything here is importable from ``lgsp`` directly; submodules hold the rest.
"""

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
