-- A per-repository change counter, bumped in the same transaction as any
-- write to the repository's tags, by triggers, so every write path (fixture
-- import, registry feed, bulk load, an operator's SQL) counts. swrd keeps an
-- in-memory order index per repository and trusts it only while the version it
-- was built at is the version a request reads: replicas never serve a stale
-- page. Keep in step with ../sqlite/0004_repository_version.sql.
ALTER TABLE repositories ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- Statement triggers with transition tables: a 1,000-row INSERT bumps each
-- repository once, not 1,000 times (a row trigger would leave a dead
-- repositories tuple per tag written).
CREATE FUNCTION tags_bump_repository_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE repositories SET version = version + 1
         WHERE id IN (SELECT DISTINCT repo_id FROM changed_new);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE repositories SET version = version + 1
         WHERE id IN (SELECT repo_id FROM changed_new UNION SELECT repo_id FROM changed_old);
    ELSE
        UPDATE repositories SET version = version + 1
         WHERE id IN (SELECT DISTINCT repo_id FROM changed_old);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tags_version_insert AFTER INSERT ON tags
    REFERENCING NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION tags_bump_repository_version();
CREATE TRIGGER tags_version_update AFTER UPDATE ON tags
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION tags_bump_repository_version();
CREATE TRIGGER tags_version_delete AFTER DELETE ON tags
    REFERENCING OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION tags_bump_repository_version();
