//! A sync's batched writes (more tags than one statement takes, a tag seen
//! twice, removals and their tombstones), on SQLite and, with
//! `SWRD_TEST_DATABASE_URL`, on PostgreSQL. The rules themselves are tested
//! through the public API in `tests/registry.rs`.

use sqlx::{Connection as _, Executor as _};

use crate::store::{
    AnyStore, ImageData, Maintenance as _, Observation, RegistryFeed as _, open, sql,
};

const DOMAIN: &str = "feed-batches";

fn observe(tag: &str, digest: &str, at: i64) -> Observation {
    Observation {
        tag: tag.to_owned(),
        digest: digest.to_owned(),
        at,
        image: Some(ImageData {
            digest: digest.to_owned(),
            image_id: String::new(),
            manifest: "{}".to_owned(),
            schema: 2,
            size: 1,
            tag_type: 0,
        }),
    }
}

async fn batches(store: &AnyStore) {
    let n = 2 * sql::FEED_ROWS + 7;
    let tags: Vec<String> = (0..n).map(|i| format!("t{i:05}")).collect();
    let mut observed: Vec<Observation> = tags.iter().map(|t| observe(t, "sha256:a", 200)).collect();
    // Seen twice: the later observation wins, as written one by one.
    observed.insert(5, observe(&tags[3], "sha256:b", 200));
    let r = store
        .reconcile_repository("ns", "r", Some(DOMAIN), 200, &observed)
        .await
        .unwrap();
    assert_eq!(
        (r.added, r.updated, r.removed, r.stale),
        (n as u64 + 1, 0, 0, 0)
    );
    let digests = store.repository_digests("ns", "r").await.unwrap();
    assert_eq!(digests.len(), n);
    assert_eq!(digests[3], (tags[3].clone(), "sha256:b".to_owned()));
    assert!(
        digests
            .iter()
            .enumerate()
            .all(|(i, (_, d))| i == 3 || d == "sha256:a")
    );

    // As stored now, at `at`.
    let digest = |i: usize| if i == 3 { "sha256:b" } else { "sha256:a" };
    let stored = |range: std::ops::Range<usize>, at: i64| -> Vec<Observation> {
        range.map(|i| observe(&tags[i], digest(i), at)).collect()
    };

    // All but ten go, each leaving a tombstone at 300.
    let r = store
        .reconcile_repository("ns", "r", Some(DOMAIN), 300, &stored(0..10, 300))
        .await
        .unwrap();
    assert_eq!((r.removed, r.unchanged), (n as u64 - 10, 10));
    assert_eq!(store.repository_digests("ns", "r").await.unwrap().len(), 10);

    // Older than the tombstones: nothing comes back.
    let r = store
        .reconcile_repository("ns", "r", Some(DOMAIN), 250, &stored(0..n, 250))
        .await
        .unwrap();
    assert_eq!((r.stale, r.unchanged, r.added), (n as u64 - 10, 10, 0));

    // Newer: everything comes back, and the tombstones are cleared, so a
    // later removal leaves new ones.
    let newer: Vec<Observation> = tags.iter().map(|t| observe(t, "sha256:c", 400)).collect();
    let r = store
        .reconcile_repository("ns", "r", Some(DOMAIN), 400, &newer)
        .await
        .unwrap();
    assert_eq!((r.added, r.updated), (n as u64 - 10, 10));
    assert_eq!(store.repository_digests("ns", "r").await.unwrap().len(), n);

    // The change log those writes filled prunes whole (PostgreSQL then
    // vacuums it, outside any transaction), and then there is nothing left.
    let later = crate::store::time::now() + 3600;
    assert!(store.prune_change_log(later).await.unwrap() > n as u64);
    assert_eq!(store.prune_change_log(later).await.unwrap(), 0);
}

#[tokio::test]
async fn batches_on_sqlite() {
    let store = open("sqlite::memory:").await.unwrap();
    batches(&store).await;
}

#[tokio::test]
async fn batches_on_postgres() {
    let Ok(admin_url) = std::env::var("SWRD_TEST_DATABASE_URL") else {
        return;
    };
    let name = format!("swrd_feed_batches_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    admin
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let store = open(&url).await.unwrap();
    batches(&store).await;
    drop(store);
    // The prunes vacuumed the log themselves (`vacuum_count` counts only
    // explicit vacuums, not autovacuum's).
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    let (vacuums,): (i64,) = sqlx::query_as(
        "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'tag_changes'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert!(vacuums >= 1, "tag_changes was not vacuumed");
    drop(db);
    admin
        .execute(format!("DROP DATABASE \"{name}\" WITH (FORCE)").as_str())
        .await
        .unwrap();
}
