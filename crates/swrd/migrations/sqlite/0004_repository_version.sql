-- A per-repository change counter, bumped in the same transaction as any
-- write to the repository's tags, by triggers, so every write path (fixture
-- import, registry feed, bulk load, an operator's SQL) counts. swrd keeps an
-- in-memory order index per repository and trusts it only while the version it
-- was built at is the version a request reads: replicas never serve a stale
-- page. Keep in step with ../postgres/0004_repository_version.sql.
ALTER TABLE repositories ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- SQLite has only row triggers.
CREATE TRIGGER tags_version_insert AFTER INSERT ON tags BEGIN
    UPDATE repositories SET version = version + 1 WHERE id = NEW.repo_id;
END;
CREATE TRIGGER tags_version_update AFTER UPDATE ON tags BEGIN
    UPDATE repositories SET version = version + 1 WHERE id IN (OLD.repo_id, NEW.repo_id);
END;
CREATE TRIGGER tags_version_delete AFTER DELETE ON tags BEGIN
    UPDATE repositories SET version = version + 1 WHERE id = OLD.repo_id;
END;
