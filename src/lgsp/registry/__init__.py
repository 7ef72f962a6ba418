"""Registry lookups: the VXP organ directory, DVCQG catalogues, administrative units, a cache.

Models (:mod:`~lgsp.registry.models`) read what the services return; :class:`RegistryCache`
keeps it in a local SQLite file, imports JSON responses and CSV files, and answers lookups by
code and by name with Vietnamese accent-insensitive matching (``ha noi`` finds ``Hà Nội``).
Administrative units come from the ``vietnam-provinces`` package (2025 scheme) and from files
(legacy units, old → new links): :func:`import_admin_units`. No network I/O here.
"""

from lgsp.registry.admin_units import (
    LEGACY_PROVINCES,
    PROVINCE_LINKS_2025,
    import_admin_units,
    package_admin_units,
)
from lgsp.registry.cache import FetchResult, RegistryCache, default_registry_path
from lgsp.registry.entries import (
    AdminLink,
    ImportReport,
    LookupResult,
    RegistryEntry,
    SourceInfo,
    code_candidates,
)
from lgsp.registry.folding import FoldedName, fold, fold_name
from lgsp.registry.importers import ParsedFile, detect_kind, read_registry_data, read_registry_file
from lgsp.registry.models import (
    AdminScheme,
    AdminUnit,
    AdminUnitMapping,
    Agency,
    Authority,
    DossierComponent,
    DossierPaper,
    Fee,
    FieldOfWork,
    LegalBasis,
    Organ,
    Procedure,
    ProcedureChannel,
    ProcedureField,
    ProcedureResult,
    ProcedureSteps,
    ProcessingTime,
    RegistryKind,
    RegistryRecord,
    Step,
    SyncUnit,
    model_for,
)
from lgsp.registry.search import MatchKind

__all__ = [
    "LEGACY_PROVINCES",
    "PROVINCE_LINKS_2025",
    "AdminLink",
    "AdminScheme",
    "AdminUnit",
    "AdminUnitMapping",
    "Agency",
    "Authority",
    "DossierComponent",
    "DossierPaper",
    "Fee",
    "FetchResult",
    "FieldOfWork",
    "FoldedName",
    "ImportReport",
    "LegalBasis",
    "LookupResult",
    "MatchKind",
    "Organ",
    "ParsedFile",
    "Procedure",
    "ProcedureChannel",
    "ProcedureField",
    "ProcedureResult",
    "ProcedureSteps",
    "ProcessingTime",
    "RegistryCache",
    "RegistryEntry",
    "RegistryKind",
    "RegistryRecord",
    "SourceInfo",
    "Step",
    "SyncUnit",
    "code_candidates",
    "default_registry_path",
    "detect_kind",
    "fold",
    "fold_name",
    "import_admin_units",
    "model_for",
    "package_admin_units",
    "read_registry_data",
    "read_registry_file",
]
