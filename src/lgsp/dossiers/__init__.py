"""Dossier sync with the national public-service portal (Cổng DVCQG) and ministry portals.

Payload models for the classic DVCQG adapter (DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo)
and the newer token-based API (dossier creation, CapNhatTienTrinh, CapNhatTrangThai); the
status table (TrangThaiHoSo 1–10) and its allowed moves; per-target date, applicant-kind and
number forms; dossier codes; validation. No I/O.

Models hold typed values; the *target* (``classic`` or ``token``) decides the wire form::

    item = DossierSyncItem.from_wire(data, target="classic")
    body = build_sync_request([item], session=session, unit_code="000.00.01.H22")
    payload = body.to_wire_json("classic")
"""

from lgsp.dossiers._wire import WireModel
from lgsp.dossiers.builders import build_lookup_request, build_progress_request, build_sync_request
from lgsp.dossiers.formats import (
    CLASSIC,
    TARGETS,
    TOKEN,
    VIETNAM_TZ,
    ApplicantKind,
    DateFormat,
    DateRole,
    Target,
    parse_civil_date,
    parse_datetime,
    resolve_target,
)
from lgsp.dossiers.models import (
    DossierLookupRequest,
    DossierLookupResponse,
    DossierProgressItem,
    DossierSyncItem,
    DossierSyncRequest,
    Fee,
    OtherPaper,
    ProgressUpdateRequest,
    ResultPaper,
    StatusCode,
    SubmittedFile,
    Supplement,
    SupplementPaper,
)
from lgsp.dossiers.numbering import DossierCodeAllocator
from lgsp.dossiers.payloads import (
    PAYLOADS,
    Payload,
    PayloadKind,
    detect_kind,
    dump_payload,
    load_payload,
    payload_kind,
)
from lgsp.dossiers.rules import RULES, Rule
from lgsp.dossiers.status import (
    DEFAULT_TRANSITIONS,
    DossierStatus,
    TransitionTable,
    check_transition,
    status_label,
)
from lgsp.dossiers.token_models import (
    ComponentFile,
    DossierComponent,
    DossierCreation,
    ProgressUpdate,
    StatusUpdate,
    Submitter,
    SubmitterDetails,
)
from lgsp.dossiers.validation import check_dossier, validate_dossier

__all__ = [
    "CLASSIC",
    "DEFAULT_TRANSITIONS",
    "PAYLOADS",
    "RULES",
    "TARGETS",
    "TOKEN",
    "VIETNAM_TZ",
    "ApplicantKind",
    "ComponentFile",
    "DateFormat",
    "DateRole",
    "DossierCodeAllocator",
    "DossierComponent",
    "DossierCreation",
    "DossierLookupRequest",
    "DossierLookupResponse",
    "DossierProgressItem",
    "DossierStatus",
    "DossierSyncItem",
    "DossierSyncRequest",
    "Fee",
    "OtherPaper",
    "Payload",
    "PayloadKind",
    "ProgressUpdate",
    "ProgressUpdateRequest",
    "ResultPaper",
    "Rule",
    "StatusCode",
    "StatusUpdate",
    "SubmittedFile",
    "Submitter",
    "SubmitterDetails",
    "Supplement",
    "SupplementPaper",
    "Target",
    "TransitionTable",
    "WireModel",
    "build_lookup_request",
    "build_progress_request",
    "build_sync_request",
    "check_dossier",
    "check_transition",
    "detect_kind",
    "dump_payload",
    "load_payload",
    "parse_civil_date",
    "parse_datetime",
    "payload_kind",
    "resolve_target",
    "status_label",
    "validate_dossier",
]
