"""Request bodies of the classic DVCQG adapter, built from items and checked before sending.

The adapter takes ``{"session", "madonvi", "service", …}`` bodies (vn-contracts §4.1). These
builders assemble them and, by default, run the strict rules for the classic target: what lgsp
sends is what the contract says, or an error says why not. No network code here: send the
result of ``body.to_wire_json("classic")`` with the transport of your choice.
"""

from __future__ import annotations

from collections.abc import Iterable

from lgsp.dossiers.models import (
    DossierLookupRequest,
    DossierProgressItem,
    DossierSyncItem,
    DossierSyncRequest,
    ProgressUpdateRequest,
)
from lgsp.dossiers.status import DEFAULT_TRANSITIONS, TransitionTable
from lgsp.dossiers.validation import check_dossier
from lgsp.findings import Profile

__all__ = ["build_lookup_request", "build_progress_request", "build_sync_request"]


def build_sync_request(
    items: Iterable[DossierSyncItem],
    *,
    session: str,
    unit_code: str,
    updating: bool = False,
    check: Profile | None = "strict",
) -> DossierSyncRequest:
    """The DongBoHoSoMC body for ``items``; ``updating`` when the portal has them already.

    With ``check`` (default ``strict``) the body is validated for the classic target and
    :class:`~lgsp.errors.ValidationError` raised on any error finding; ``None`` skips it.
    """
    body = DossierSyncRequest(
        session=session, unit_code=unit_code, is_updating=updating, data=list(items)
    )
    if check is not None:
        check_dossier(body, target="classic", profile=check)
    return body


def build_progress_request(
    items: Iterable[DossierProgressItem],
    *,
    session: str,
    unit_code: str,
    check: Profile | None = "strict",
    transitions: TransitionTable = DEFAULT_TRANSITIONS,
) -> ProgressUpdateRequest:
    """The CapNhatTienDoHoSoMC body for ``items`` (checked like :func:`build_sync_request`;
    the steps of one dossier must follow ``transitions``)."""
    body = ProgressUpdateRequest(session=session, unit_code=unit_code, data=list(items))
    if check is not None:
        check_dossier(body, target="classic", profile=check, transitions=transitions)
    return body


def build_lookup_request(
    code: str, *, session: str, unit_code: str, check: Profile | None = "strict"
) -> DossierLookupRequest:
    """The TraCuuHoSo body that looks dossier ``code`` up."""
    body = DossierLookupRequest(session=session, unit_code=unit_code, code=code)
    if check is not None:
        check_dossier(body, target="classic", profile=check)
    return body
