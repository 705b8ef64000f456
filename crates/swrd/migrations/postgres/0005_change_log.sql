-- A per-repository change log, written by the same triggers that bump the
-- repository's version (0004), so every write path counts: which tag changed
-- at which version. swrd brings an in-memory order index from version v to
-- v' by reading only the tags logged in (v, v'], instead of rebuilding it.
-- Old entries are pruned (swrd, every minute, those older than ten minutes);
-- `log_floor` is the newest version pruned: an index older than it is
-- rebuilt. Keep in step with ../sqlite/0005_change_log.sql.
CREATE TABLE tag_changes (
    repo_id    bigint NOT NULL,
    version    bigint NOT NULL,
    tag_id     bigint NOT NULL,
    changed_at bigint NOT NULL
);
CREATE INDEX tag_changes_repo_version ON tag_changes (repo_id, version);
CREATE INDEX tag_changes_changed_at ON tag_changes (changed_at);

ALTER TABLE repositories ADD COLUMN log_floor bigint NOT NULL DEFAULT 0;
-- No history before this migration.
UPDATE repositories SET log_floor = version;

-- Still one bump per repository and statement; every row of the statement is
-- logged at that version.
CREATE OR REPLACE FUNCTION tags_bump_repository_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH bumped AS (
            UPDATE repositories SET version = version + 1
             WHERE id IN (SELECT DISTINCT repo_id FROM changed_new)
            RETURNING id, version)
        INSERT INTO tag_changes (repo_id, version, tag_id, changed_at)
        SELECT b.id, b.version, n.id, extract(epoch FROM now())::bigint
          FROM bumped b JOIN changed_new n ON n.repo_id = b.id;
    ELSIF TG_OP = 'UPDATE' THEN
        WITH touched AS (
            SELECT repo_id, id FROM changed_new UNION SELECT repo_id, id FROM changed_old),
        bumped AS (
            UPDATE repositories SET version = version + 1
             WHERE id IN (SELECT repo_id FROM touched)
            RETURNING id, version)
        INSERT INTO tag_changes (repo_id, version, tag_id, changed_at)
        SELECT b.id, b.version, t.id, extract(epoch FROM now())::bigint
          FROM bumped b JOIN touched t ON t.repo_id = b.id;
    ELSE
        WITH bumped AS (
            UPDATE repositories SET version = version + 1
             WHERE id IN (SELECT DISTINCT repo_id FROM changed_old)
            RETURNING id, version)
        INSERT INTO tag_changes (repo_id, version, tag_id, changed_at)
        SELECT b.id, b.version, o.id, extract(epoch FROM now())::bigint
          FROM bumped b JOIN changed_old o ON o.repo_id = b.id;
    END IF;
    RETURN NULL;
END
$$;
