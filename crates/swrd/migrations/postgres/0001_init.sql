-- swrd schema, PostgreSQL flavour. Keep in step with ../sqlite/0001_init.sql:
-- same tables, columns, constraints and indexes.
-- Times are Unix seconds (bigint); `tag` uses COLLATE "C" (byte order), so
-- ORDER BY tag agrees with SQLite's BINARY and the index serves it.

CREATE TABLE domains (
    id   text PRIMARY KEY,
    name text NOT NULL
);

-- Only the SHA-256 (hex) of a token is kept.
CREATE TABLE tokens (
    hash      text PRIMARY KEY,
    domain_id text NOT NULL REFERENCES domains (id) ON DELETE CASCADE
);

-- The secret key is stored as given: verifying an SDK-HMAC-SHA256 signature
-- needs it.
CREATE TABLE credentials (
    ak        text PRIMARY KEY,
    sk        text NOT NULL,
    domain_id text NOT NULL REFERENCES domains (id) ON DELETE CASCADE
);

CREATE TABLE namespaces (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name      text COLLATE "C" NOT NULL UNIQUE,
    domain_id text NOT NULL REFERENCES domains (id) ON DELETE CASCADE
);

CREATE TABLE repositories (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace_id bigint NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    name         text COLLATE "C" NOT NULL,
    UNIQUE (namespace_id, name)
);

CREATE TABLE tags (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repo_id    bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    tag        text COLLATE "C" NOT NULL,
    image_id   text NOT NULL,
    manifest   text NOT NULL,
    digest     text NOT NULL,
    schema     bigint NOT NULL CHECK (schema IN (1, 2)),
    size       bigint NOT NULL CHECK (size >= 0),
    is_trusted boolean NOT NULL,
    scanned    boolean NOT NULL,
    tag_type   bigint NOT NULL CHECK (tag_type IN (0, 1)),
    created    bigint NOT NULL,
    updated    bigint NOT NULL,
    deleted    bigint,
    -- Also the (repo_id, tag, id) order index: tags are unique per repository,
    -- so `id` never has a tie to break there.
    UNIQUE (repo_id, tag)
);

CREATE INDEX tags_repo_updated_id ON tags (repo_id, updated, id);
