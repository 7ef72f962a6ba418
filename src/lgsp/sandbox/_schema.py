"""The tables of the sandbox's core services, and the seeding of the agency directory.

Packages are kept as BLOBs in their own table rather than as files next to the database: the
row and its bytes commit together (a crash cannot leave a row without its file or a file
without its row, so "exactly once" can be proved from the store alone), an in-memory sandbox
needs no folder, and SQLite reads and writes blobs of a few hundred KB about as fast as the
file system does. The cost: a package is held in memory while it is handled, and one package
cannot pass SQLite's 1 GB limit on a value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lgsp.sandbox.state import SandboxState

__all__ = ["SCHEMA", "install"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS vxp_documents (
    doc_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256        TEXT NOT NULL,            -- hex SHA-256 of the package bytes
    sender        TEXT NOT NULL,            -- the sending system id, or 'hub:' + organ id
    from_organ    TEXT NOT NULL,
    to_organs     TEXT NOT NULL,            -- JSON array of the receiving organ ids
    message_type  TEXT NOT NULL,            -- edoc | status
    service_type  TEXT NOT NULL,
    document_id   TEXT,                     -- the edXML DocumentId (or ResponseFor's)
    subject       TEXT,
    notation      TEXT,                     -- number/notation, e.g. 1234/VPCP-TTĐT
    status_code   TEXT,                     -- a status package's StatusCode
    signature     TEXT NOT NULL,            -- none | valid | legacy
    signature_note TEXT,
    version_sdk   TEXT,
    size          INTEGER NOT NULL,
    created       REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS vxp_documents_sender_sha ON vxp_documents (sender, sha256);

CREATE TABLE IF NOT EXISTS vxp_payloads (
    doc_id  INTEGER PRIMARY KEY REFERENCES vxp_documents (doc_id),
    data    BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS vxp_deliveries (
    doc_id       INTEGER NOT NULL REFERENCES vxp_documents (doc_id),
    organ        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'new',   -- new | processing | done | fail
    description  TEXT,
    updated      REAL NOT NULL,
    PRIMARY KEY (doc_id, organ)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vxp_deliveries_organ ON vxp_deliveries (organ, status);

CREATE TABLE IF NOT EXISTS vxp_agencies (
    code      TEXT PRIMARY KEY,
    id        TEXT NOT NULL,
    pid       TEXT,
    name      TEXT NOT NULL,
    mail      TEXT,
    mobile    TEXT,
    fax       TEXT,
    level     TEXT,
    old_code  TEXT,
    code102   TEXT,
    center    TEXT,            -- the system that registered it (None: seeded)
    deleted   INTEGER NOT NULL DEFAULT 0,
    version   INTEGER NOT NULL DEFAULT 1,
    modified  REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS gateway_tokens (
    token       TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    scope       TEXT,
    issued      REAL NOT NULL,
    expires_at  REAL NOT NULL
);
"""


def install(state: SandboxState) -> None:
    """Create the tables and seed the directory; seeds already present (or deleted since) are
    left as they are, so a file-backed sandbox keeps its history across restarts."""
    state.store.add_schema(SCHEMA)
    now = state.clock()
    with state.store.transaction() as db:
        db.executemany(
            "INSERT INTO vxp_agencies (code, id, pid, name, mail, level, code102, modified)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
            [
                (a.code, a.id or a.code, a.pid, a.name, a.mail, a.level, a.code, now)
                for a in state.config.agencies
            ],
        )
