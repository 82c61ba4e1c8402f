"""The manifest's SQL schema and its version.

``SCHEMA_VERSION`` goes up whenever a table changes; :func:`create_schema` brings a database of
any older version up to date inside the caller's transaction (version 0 = empty file).
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE photos (
    id          TEXT PRIMARY KEY,            -- Flickr photo id, or local-<sha256 prefix>
    source      TEXT NOT NULL,               -- 'flickr' or 'import'
    query       TEXT NOT NULL,               -- the query's name, or 'import'
    domain      TEXT NOT NULL CHECK (domain IN ('A', 'B')),
    owner       TEXT NOT NULL DEFAULT '',    -- Flickr NSID
    owner_name  TEXT NOT NULL DEFAULT '',
    path_alias  TEXT NOT NULL DEFAULT '',
    license     TEXT,                        -- Flickr licence id; NULL = unknown
    title       TEXT NOT NULL DEFAULT '',
    upload      INTEGER NOT NULL DEFAULT 0,  -- unix seconds
    page_url    TEXT NOT NULL DEFAULT '',
    source_url  TEXT NOT NULL DEFAULT '',
    local_path  TEXT,                        -- relative to the manifest's folder
    width       INTEGER,
    height      INTEGER,
    bytes       INTEGER,
    sha256      TEXT,
    phash       TEXT,                        -- imagehash.phash, 16 hex digits
    camera      TEXT,                        -- EXIF make and model of the file, if any
    status      TEXT NOT NULL CHECK (status IN ('pending', 'failed', 'kept', 'removed')),
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX photos_status ON photos (status, domain);
CREATE INDEX photos_query ON photos (query);
CREATE TABLE marks (
    photo_id TEXT NOT NULL REFERENCES photos (id),
    stage    TEXT NOT NULL,                  -- 'dedup', 'filter:monochrome', ...
    rule     TEXT NOT NULL,
    reason   TEXT NOT NULL,
    other_id TEXT,
    PRIMARY KEY (photo_id, stage, rule)
);
CREATE TABLE queries (
    name   TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    spec   TEXT NOT NULL,                    -- SearchQuery as JSON (no key)
    lo     INTEGER NOT NULL,                 -- the upload-date range searched
    hi     INTEGER NOT NULL,
    done   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE slices (
    query     TEXT NOT NULL REFERENCES queries (name),
    lo        INTEGER NOT NULL,
    hi        INTEGER NOT NULL,
    state     TEXT NOT NULL CHECK (state IN ('open', 'split', 'done')),
    next_page INTEGER NOT NULL DEFAULT 1,
    total     INTEGER,
    PRIMARY KEY (query, lo, hi)
);
CREATE TABLE licenses (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    url  TEXT NOT NULL
);
"""

_MIGRATIONS = {0: _V1}


def create_schema(conn: sqlite3.Connection, version: int) -> None:
    """Apply every migration after ``version`` and record the new version."""
    for step in range(version, SCHEMA_VERSION):
        for statement in _MIGRATIONS[step].split(";\n"):
            if statement.strip():
                conn.execute(statement)
    if version < SCHEMA_VERSION:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
