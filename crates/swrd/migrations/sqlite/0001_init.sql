-- swrd schema, SQLite flavour. Keep in step with ../postgres/0001_init.sql:
-- same tables, columns, constraints and indexes.
-- Times are Unix seconds (INTEGER); `tag` compares with BINARY (byte order).

CREATE TABLE domains (
    id   TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);

-- Only the SHA-256 (hex) of a token is kept.
CREATE TABLE tokens (
    hash      TEXT PRIMARY KEY NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE
);

-- The secret key is stored as given: verifying an SDK-HMAC-SHA256 signature
-- needs it.
CREATE TABLE credentials (
    ak        TEXT PRIMARY KEY NOT NULL,
    sk        TEXT NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE
);

CREATE TABLE namespaces (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT NOT NULL UNIQUE,
    domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE
);

CREATE TABLE repositories (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    UNIQUE (namespace_id, name)
);

-- AUTOINCREMENT: ids are never reused, so `id` is a stable tie-breaker.
CREATE TABLE tags (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id    INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    image_id   TEXT NOT NULL,
    manifest   TEXT NOT NULL,
    digest     TEXT NOT NULL,
    schema     INTEGER NOT NULL CHECK (schema IN (1, 2)),
    size       INTEGER NOT NULL CHECK (size >= 0),
    is_trusted BOOLEAN NOT NULL,
    scanned    BOOLEAN NOT NULL,
    tag_type   INTEGER NOT NULL CHECK (tag_type IN (0, 1)),
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    deleted    INTEGER,
    -- Also the (repo_id, tag, id) order index: tags are unique per repository,
    -- so `id` never has a tie to break there.
    UNIQUE (repo_id, tag)
);

CREATE INDEX tags_repo_updated_id ON tags (repo_id, updated, id);
