-- The registry feed (src/registry): webhook idempotency and per-tag ordering,
-- and resumable sync. Keep in step with ../sqlite/0002_registry.sql.
-- Registry times are Unix *nanoseconds* (events are ordered below a second).

-- When the newest registry event or sync observation applied to this tag
-- happened; NULL for tags that never came from the registry (fixtures,
-- synth), which any registry event may overwrite.
ALTER TABLE tags ADD COLUMN event_at bigint;

-- Event ids already applied (Distribution redelivers until it sees a 2xx).
-- Pruned after a retention period (received_at, Unix seconds).
CREATE TABLE registry_events (
    id          text PRIMARY KEY,
    received_at bigint NOT NULL
);
CREATE INDEX registry_events_received ON registry_events (received_at);

-- Deleted tags: a late push older than the delete must not bring them back.
CREATE TABLE registry_tombstones (
    repo_id     bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    tag         text COLLATE "C" NOT NULL,
    event_at    bigint NOT NULL,
    -- When swrd wrote it (Unix seconds, swrd's clock): pruned after the
    -- retention period, whatever the registry's clock says.
    recorded_at bigint NOT NULL,
    PRIMARY KEY (repo_id, tag)
);
CREATE INDEX registry_tombstones_recorded ON registry_tombstones (recorded_at);

-- An unfinished `swrd sync` per scope (registry URL + namespace filter): the
-- last repository reconciled, so a re-run resumes after it.
CREATE TABLE registry_sync (
    scope      text PRIMARY KEY,
    started_at bigint NOT NULL,
    cursor     text COLLATE "C"
);
