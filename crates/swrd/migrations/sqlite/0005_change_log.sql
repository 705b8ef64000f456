-- A per-repository change log, written by the same triggers that bump the
-- repository's version (0004), so every write path counts: which tag changed
-- at which version. swrd brings an in-memory order index from version v to
-- v' by reading only the tags logged in (v, v'], instead of rebuilding it.
-- Old entries are pruned (swrd, every minute, those older than ten minutes);
-- `log_floor` is the newest version pruned: an index older than it is
-- rebuilt. Keep in step with ../postgres/0005_change_log.sql.
CREATE TABLE tag_changes (
    repo_id    INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    tag_id     INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX tag_changes_repo_version ON tag_changes (repo_id, version);
CREATE INDEX tag_changes_changed_at ON tag_changes (changed_at);

ALTER TABLE repositories ADD COLUMN log_floor INTEGER NOT NULL DEFAULT 0;
-- No history before this migration.
UPDATE repositories SET log_floor = version;

DROP TRIGGER tags_version_insert;
DROP TRIGGER tags_version_update;
DROP TRIGGER tags_version_delete;

CREATE TRIGGER tags_version_insert AFTER INSERT ON tags BEGIN
    UPDATE repositories SET version = version + 1 WHERE id = NEW.repo_id;
    INSERT INTO tag_changes (repo_id, version, tag_id, changed_at)
        SELECT id, version, NEW.id, unixepoch() FROM repositories WHERE id = NEW.repo_id;
END;
CREATE TRIGGER tags_version_update AFTER UPDATE ON tags BEGIN
    UPDATE repositories SET version = version + 1 WHERE id IN (OLD.repo_id, NEW.repo_id);
    INSERT INTO tag_changes (repo_id, version, tag_id, changed_at)
        SELECT id, version, NEW.id, unixepoch() FROM repositories
         WHERE id IN (OLD.repo_id, NEW.repo_id);
END;
CREATE TRIGGER tags_version_delete AFTER DELETE ON tags BEGIN
    UPDATE repositories SET version = version + 1 WHERE id = OLD.repo_id;
    INSERT INTO tag_changes (repo_id, version, tag_id, changed_at)
        SELECT id, version, OLD.id, unixepoch() FROM repositories WHERE id = OLD.repo_id;
END;
