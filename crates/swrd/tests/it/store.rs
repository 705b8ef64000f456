//! Store semantics, each scenario run on SQLite (a temp file) and on
//! PostgreSQL (a fresh database per test, created from the admin URL in
//! `SWRD_TEST_DATABASE_URL` and dropped afterwards, also after a failure).
//!
//! Without `SWRD_TEST_DATABASE_URL` the PostgreSQL variants print a skip
//! notice and pass, except under `CI=true`, where they fail: CI must never
//! pass by skipping.

use crate::common;

use std::collections::HashSet;

use common::Harness;
use futures_util::StreamExt as _;
use swr_filter::{Order, OrderColumn, OrderType, Page};
use swrd::fixtures::{self, Fixture, FixtureTag, Timestamp};
use swrd::store::{
    self, AnyStore, AuthLookups as _, Import as _, Maintenance as _, StoreError, TagQuery,
    TagReads as _, TagRecord,
};
use swrd::synth;

on_both_backends!(
    orders_and_tie_breaks,
    pages_and_offset_past_end,
    substring_filter,
    not_found_does_not_leak_other_domains,
    slash_in_repository_names,
    tokens_and_credentials,
    import_is_all_or_nothing,
    reimport_is_idempotent,
    stream_matches_list_and_total,
    stream_reads_one_snapshot,
    stream_can_be_dropped_early,
    two_handles_see_each_other,
    synth_creates_and_skips_existing,
    ping,
);

// ---------------------------------------------------------------------------
// Fixtures and helpers

const ACME: &str = "0503dda878000fed0f75c0096d70a960";
const OTHER: &str = "ffffdda878000fed0f75c0096d70ffff";
const DIGEST: &str = "sha256:57b605845a6367c34bfb6ea6477f16852f59aa1861a2b51d10ab77ae0a1dc9c3";

/// Two domains; `group/app` holds `tags` (name, updated) in this order, so
/// ids follow it.
fn fixture(tags: &[(&str, &str)]) -> Fixture {
    let mut f = fixtures::parse(
        &format!(
            r#"
domains:
  - {{id: "{ACME}", name: acme, tokens: [tok-acme], credentials: [{{ak: AKACME, sk: SKACME}}]}}
  - {{id: "{OTHER}", name: other, tokens: [tok-other]}}
namespaces:
  - name: group
    domain: "{ACME}"
    repositories: [{{name: app}}, {{name: empty}}]
  - name: theirs
    domain: "{OTHER}"
    repositories: [{{name: app}}]
"#
        ),
        "base.yaml",
    )
    .unwrap();
    f.namespaces[0].repositories[0].tags = tags
        .iter()
        .map(|(name, updated)| {
            let mut t = FixtureTag::new(*name, DIGEST);
            t.updated = Some(updated.parse::<Timestamp>().unwrap());
            t
        })
        .collect();
    f
}

fn q(repository: &str) -> TagQuery<'_> {
    TagQuery::new(ACME, "group", repository)
}

fn order(column: OrderColumn, direction: OrderType) -> Order {
    Order::new(column, direction)
}

fn names(records: &[TagRecord]) -> Vec<&str> {
    records.iter().map(|r| r.tag.as_str()).collect()
}

async fn list(store: &AnyStore, q: &TagQuery<'_>) -> (u64, Vec<TagRecord>) {
    let page = store.list_tags(q).await.unwrap();
    (page.total, page.records)
}

const T1: &str = "2024-01-01T00:00:00Z";
const T2: &str = "2024-06-01T00:00:00Z";
const T3: &str = "2024-12-01T00:00:00Z";

/// Names chosen so that byte order differs from any case-insensitive or
/// locale-aware collation: digits < uppercase < '_' < lowercase, '-' < '.'.
const MIXED: &[(&str, &str)] = &[
    ("latest", T2),
    ("Latest", T2),
    ("v1.0", T1),
    ("v1-0", T2),
    ("v1_0", T3),
    ("_x", T2),
    ("9", T1),
    ("a.b", T3),
];

// ---------------------------------------------------------------------------
// Scenarios

async fn orders_and_tie_breaks(h: Harness) {
    h.store.import(&fixture(MIXED)).await.unwrap();
    let mut query = q("app");

    // Default: updated desc, ties by id desc (later insert first).
    let (total, recs) = list(&h.store, &query).await;
    assert_eq!(total, 8);
    assert_eq!(
        names(&recs),
        ["a.b", "v1_0", "_x", "v1-0", "Latest", "latest", "9", "v1.0"]
    );

    query.order = order(OrderColumn::UpdatedAt, OrderType::Desc);
    assert_eq!(names(&list(&h.store, &query).await.1), names(&recs));

    query.order = order(OrderColumn::UpdatedAt, OrderType::Asc);
    let (_, asc) = list(&h.store, &query).await;
    assert_eq!(
        names(&asc),
        ["v1.0", "9", "latest", "Latest", "v1-0", "_x", "v1_0", "a.b"]
    );

    query.order = order(OrderColumn::Tag, OrderType::Asc);
    let (_, by_tag) = list(&h.store, &query).await;
    assert_eq!(
        names(&by_tag),
        ["9", "Latest", "_x", "a.b", "latest", "v1-0", "v1.0", "v1_0"]
    );

    query.order = order(OrderColumn::Tag, OrderType::Desc);
    let (_, by_tag_desc) = list(&h.store, &query).await;
    assert_eq!(
        names(&by_tag_desc),
        ["v1_0", "v1.0", "v1-0", "latest", "a.b", "_x", "Latest", "9"]
    );

    // The records carry what was imported, timestamps in the API's shape.
    let latest = recs.iter().find(|r| r.tag == "latest").unwrap();
    assert_eq!(latest.updated, T2);
    assert_eq!(latest.created, T2, "created defaults to updated");
    assert_eq!(latest.deleted, None);
    assert_eq!((latest.schema, latest.size, latest.tag_type), (2, 0, 0));
    assert_eq!(
        (latest.digest.as_str(), latest.domain_id.as_str()),
        (DIGEST, ACME)
    );
    assert_eq!(
        (latest.namespace.as_str(), latest.repository.as_str()),
        ("group", "app")
    );
    assert!(recs.iter().all(|r| r.repo_id == latest.repo_id));
    let ids: HashSet<i64> = recs.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 8);
}

async fn pages_and_offset_past_end(h: Harness) {
    let tags: Vec<(String, &str)> = (0..23)
        .map(|i| (format!("t{i:02}"), if i % 3 == 0 { T1 } else { T2 }))
        .collect();
    let tags: Vec<(&str, &str)> = tags.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    h.store.import(&fixture(&tags)).await.unwrap();

    for (column, direction) in [
        (OrderColumn::UpdatedAt, OrderType::Desc),
        (OrderColumn::UpdatedAt, OrderType::Asc),
        (OrderColumn::Tag, OrderType::Asc),
        (OrderColumn::Tag, OrderType::Desc),
    ] {
        let mut query = q("app");
        query.order = order(column, direction);
        let (_, all) = list(&h.store, &query).await;
        let mut paged = Vec::new();
        for offset in (0..23).step_by(5) {
            query.page = Some(Page::new(offset, 5).unwrap());
            let (total, recs) = list(&h.store, &query).await;
            assert_eq!(total, 23);
            assert_eq!(recs.len(), 5.min(23 - offset as usize));
            paged.extend(recs);
        }
        assert_eq!(
            paged, all,
            "pages of {column:?} {direction:?} concatenate to the whole list"
        );
    }

    let mut query = q("app");
    for offset in [23, 24, 1000, i64::MAX as u64] {
        query.page = Some(Page::new(offset, 10).unwrap());
        let (total, recs) = list(&h.store, &query).await;
        assert_eq!((total, recs.len()), (23, 0), "offset {offset}");
    }
    query.page = Some(Page::new(20, 1000).unwrap());
    assert_eq!(list(&h.store, &query).await.1.len(), 3);

    // An existing but empty repository.
    let (total, recs) = list(&h.store, &q("empty")).await;
    assert_eq!((total, recs.len()), (0, 0));
}

async fn substring_filter(h: Harness) {
    h.store.import(&fixture(MIXED)).await.unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("atest", &["Latest", "latest"]),
        ("Lat", &["Latest"]),
        ("lat", &["latest"]),
        ("LATEST", &[]),
        // `_` and `%` are literal (LIKE would make them wildcards).
        ("_", &["_x", "v1_0"]),
        ("%", &[]),
        // `.` is literal (a regex would match any character).
        (".", &["a.b", "v1.0"]),
        ("v1", &["v1-0", "v1.0", "v1_0"]),
        ("9", &["9"]),
        ("nothing", &[]),
    ];
    for (needle, expected) in cases {
        let mut query = q("app");
        query.tag_contains = Some(needle);
        query.order = order(OrderColumn::Tag, OrderType::Asc);
        let (total, recs) = list(&h.store, &query).await;
        assert_eq!(names(&recs), *expected, "tag contains {needle:?}");
        assert_eq!(total, expected.len() as u64, "total for {needle:?}");
    }

    // The total counts the filtered rows, not the page.
    let mut query = q("app");
    query.tag_contains = Some("v1");
    query.page = Some(Page::new(1, 1).unwrap());
    query.order = order(OrderColumn::Tag, OrderType::Asc);
    let (total, recs) = list(&h.store, &query).await;
    assert_eq!((total, names(&recs)), (3, vec!["v1.0"]));
    query.page = Some(Page::new(3, 1).unwrap());
    assert_eq!(list(&h.store, &query).await, (3, vec![]));
}

async fn not_found_does_not_leak_other_domains(h: Harness) {
    h.store.import(&fixture(MIXED)).await.unwrap();

    let missing = TagQuery::new(ACME, "ghost", "app");
    let foreign = TagQuery::new(ACME, "theirs", "app");
    for query in [&missing, &foreign] {
        let err = h.store.list_tags(query).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::NamespaceNotFound(n) if n == query.namespace),
            "{err:?}"
        );
        let err = h.store.stream_tags(query).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::NamespaceNotFound(n) if n == query.namespace),
            "{err:?}"
        );
    }
    // Same message shape either way.
    assert_eq!(
        h.store
            .list_tags(&missing)
            .await
            .unwrap_err()
            .to_string()
            .replace("ghost", "X"),
        h.store
            .list_tags(&foreign)
            .await
            .unwrap_err()
            .to_string()
            .replace("theirs", "X"),
    );
    // Another domain's repository of the same name as ours: still not found.
    let err = h
        .store
        .list_tags(&TagQuery::new(OTHER, "group", "app"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NamespaceNotFound(_)), "{err:?}");
    // The owner sees it.
    assert!(
        h.store
            .list_tags(&TagQuery::new(OTHER, "theirs", "app"))
            .await
            .is_ok()
    );

    for query in [q("nope"), q("app/sub")] {
        let err = h.store.list_tags(&query).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::RepositoryNotFound { namespace, repository }
            if namespace == "group" && repository == query.repository),
            "{err:?}"
        );
        let err = h.store.stream_tags(&query).await.unwrap_err();
        assert!(
            matches!(err, StoreError::RepositoryNotFound { .. }),
            "{err:?}"
        );
    }
}

async fn slash_in_repository_names(h: Harness) {
    h.import_yaml(&format!(
        r#"
domains: [{{id: "{ACME}", name: acme}}]
namespaces:
  - name: group
    domain: "{ACME}"
    repositories:
      - {{name: tools, tags: [{{tag: a, digest: "{DIGEST}"}}]}}
      - {{name: tools/busybox, tags: [{{tag: b, digest: "{DIGEST}"}}, {{tag: c, digest: "{DIGEST}"}}]}}
      - {{name: tools/busybox/musl, tags: [{{tag: d, digest: "{DIGEST}"}}]}}
"#
    ))
    .await;
    let (total, recs) = list(&h.store, &q("tools/busybox")).await;
    assert_eq!(total, 2);
    assert!(recs.iter().all(|r| r.repository == "tools/busybox"));
    assert_eq!(list(&h.store, &q("tools")).await.0, 1);
    assert_eq!(list(&h.store, &q("tools/busybox/musl")).await.0, 1);
    // The wire form is translated by the HTTP layer, never stored.
    assert!(matches!(
        h.store.list_tags(&q("tools$busybox")).await.unwrap_err(),
        StoreError::RepositoryNotFound { .. }
    ));
}

async fn tokens_and_credentials(h: Harness) {
    h.store.import(&fixture(&[])).await.unwrap();
    assert_eq!(
        h.store
            .domain_for_token("tok-acme")
            .await
            .unwrap()
            .as_deref(),
        Some(ACME)
    );
    assert_eq!(
        h.store
            .domain_for_token("tok-other")
            .await
            .unwrap()
            .as_deref(),
        Some(OTHER)
    );
    assert_eq!(h.store.domain_for_token("tok-acm").await.unwrap(), None);
    assert_eq!(h.store.domain_for_token("").await.unwrap(), None);
    // Only the hash is stored.
    assert_eq!(
        h.raw_count("SELECT count(*) FROM tokens WHERE hash = 'tok-acme'")
            .await,
        0
    );
    let hash = store::token_hash("tok-acme");
    assert_eq!(hash.len(), 64);
    assert_eq!(
        h.raw_count(&format!(
            "SELECT count(*) FROM tokens WHERE hash = '{hash}'"
        ))
        .await,
        1
    );

    let c = h.store.credential("AKACME").await.unwrap().unwrap();
    assert_eq!(
        (c.domain_id.as_str(), c.secret_key.as_str()),
        (ACME, "SKACME")
    );
    assert!(
        !format!("{c:?}").contains("SKACME"),
        "Debug redacts the secret"
    );
    assert_eq!(h.store.credential("akacme").await.unwrap(), None);
    assert_eq!(h.store.credential("AKOTHER").await.unwrap(), None);
}

async fn import_is_all_or_nothing(h: Harness) {
    h.store.import(&fixture(MIXED)).await.unwrap();
    let before = list(&h.store, &q("app")).await;

    // Valid by itself, but its last namespace belongs to ACME in the store:
    // the domain, token, namespace and tags written before that must vanish.
    let intruder = fixtures::parse(
        &format!(
            r#"
domains: [{{id: newcomer, name: new, tokens: [tok-new], credentials: [{{ak: AKNEW, sk: SKNEW}}]}}]
namespaces:
  - name: fresh
    domain: newcomer
    repositories: [{{name: app, tags: [{{tag: one, digest: "{DIGEST}"}}, {{tag: two, digest: "{DIGEST}"}}]}}]
  - name: group
    domain: newcomer
    repositories: [{{name: app, tags: [{{tag: latest, digest: "{DIGEST}", size: 5}}]}}]
"#
        ),
        "intruder.yaml",
    )
    .unwrap();
    let err = h.store.import(&intruder).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("group")),
        "{err:?}"
    );
    assert_eq!(h.store.domain_for_token("tok-new").await.unwrap(), None);
    assert_eq!(h.store.credential("AKNEW").await.unwrap(), None);
    let err = h
        .store
        .list_tags(&TagQuery::new("newcomer", "fresh", "app"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NamespaceNotFound(_)), "{err:?}");
    assert_eq!(list(&h.store, &q("app")).await, before);
    assert_eq!(h.raw_count("SELECT count(*) FROM domains").await, 2);

    // A token already owned by another domain: same all-or-nothing.
    let thief = fixtures::parse(
        r#"{"domains": [{"id": "thief", "name": "thief", "tokens": ["tok-x", "tok-acme"]}]}"#,
        "thief.json",
    )
    .unwrap();
    assert!(matches!(
        h.store.import(&thief).await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    assert_eq!(h.store.domain_for_token("tok-x").await.unwrap(), None);
    assert_eq!(
        h.store
            .domain_for_token("tok-acme")
            .await
            .unwrap()
            .as_deref(),
        Some(ACME)
    );

    // A fixture built in code that breaks a rule is refused before any write.
    let bad = fixture(&[("dup", T1), ("dup", T2)]);
    let err = h.store.import(&bad).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::InvalidFixture(e) if e.path == "namespaces[0].repositories[0].tags[1].tag"),
        "{err}"
    );
    let mut bad = fixture(&[("ok", T1)]);
    bad.namespaces[0].repositories[0].tags[0].size = -1;
    assert!(matches!(
        h.store.import(&bad).await.unwrap_err(),
        StoreError::InvalidFixture(_)
    ));
    assert_eq!(list(&h.store, &q("app")).await, before);
}

async fn reimport_is_idempotent(h: Harness) {
    let f = fixture(MIXED);
    let first = h.store.import(&f).await.unwrap();
    assert_eq!((first.domains, first.tokens, first.credentials), (2, 2, 1));
    assert_eq!((first.namespaces, first.repositories), (2, 3));
    assert_eq!((first.tags_inserted, first.tags_updated), (8, 0));
    let before = list(&h.store, &q("app")).await;

    let second = h.store.import(&f).await.unwrap();
    assert_eq!((second.tags_inserted, second.tags_updated), (0, 8));
    assert_eq!(
        list(&h.store, &q("app")).await,
        before,
        "same file, same data, same ids"
    );

    // Same tag with new data: updated in place, id kept; a new tag is added.
    let mut g = fixture(MIXED);
    let tags = &mut g.namespaces[0].repositories[0].tags;
    tags[0].size = 42;
    tags[0].updated = Some("2025-01-01T00:00:00Z".parse().unwrap());
    tags.push(FixtureTag::new("new", DIGEST));
    let third = h.store.import(&g).await.unwrap();
    assert_eq!((third.tags_inserted, third.tags_updated), (1, 8));
    let (total, after) = list(&h.store, &q("app")).await;
    assert_eq!(total, 9);
    let old = before.1.iter().find(|r| r.tag == "latest").unwrap();
    let new = after.iter().find(|r| r.tag == "latest").unwrap();
    assert_eq!(
        (new.id, new.size, new.updated.as_str()),
        (old.id, 42, "2025-01-01T00:00:00Z")
    );
    assert!(
        after.iter().find(|r| r.tag == "new").unwrap().id
            > before.1.iter().map(|r| r.id).max().unwrap()
    );
}

async fn stream_matches_list_and_total(h: Harness) {
    // More records than the stream's channel holds.
    let report = synth::synth(&h.store, Some(ACME), "group", "big", 1500, 3)
        .await
        .unwrap();
    assert_eq!(report.inserted, 1500);
    for (column, direction, filter) in [
        (OrderColumn::UpdatedAt, OrderType::Desc, None),
        (OrderColumn::UpdatedAt, OrderType::Asc, None),
        (OrderColumn::Tag, OrderType::Asc, Some("build")),
        (OrderColumn::Tag, OrderType::Desc, Some("v1")),
    ] {
        let mut query = q("big");
        query.order = order(column, direction);
        query.tag_contains = filter;
        let stream = h.store.stream_tags(&query).await.unwrap();
        let total = stream.total();
        let streamed: Vec<TagRecord> = stream.map(Result::unwrap).collect().await;
        assert_eq!(streamed.len() as u64, total);
        let (list_total, listed) = list(&h.store, &query).await;
        assert_eq!(total, list_total);
        assert_eq!(streamed, listed);
        if filter.is_none() {
            assert_eq!(total, 1500);
        }
    }
    // A page through the stream too.
    let mut query = q("big");
    query.page = Some(Page::new(1490, 100).unwrap());
    let stream = h.store.stream_tags(&query).await.unwrap();
    assert_eq!(stream.total(), 1500);
    assert_eq!(stream.count().await, 10);
}

async fn stream_reads_one_snapshot(h: Harness) {
    synth::synth(&h.store, Some(ACME), "group", "big", 1000, 5)
        .await
        .unwrap();
    let stream = h.store.stream_tags(&q("big")).await.unwrap();
    assert_eq!(stream.total(), 1000);

    // The count is done; the rows query runs in a task that has not started
    // (this test's runtime is single-threaded and has not yielded since).
    // Block it while another thread writes 1000 more tags through another
    // handle: the rows must still come from the count's snapshot (this fails
    // under PostgreSQL's default READ COMMITTED).
    let url = h.url.clone();
    let inserted = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let other = store::open(&url).await.unwrap();
            let report = synth::synth(&other, Some(ACME), "group", "big", 2000, 5)
                .await
                .unwrap();
            assert_eq!(list(&other, &q("big")).await.0, 2000);
            report.inserted
        })
    })
    .join()
    .unwrap();
    assert_eq!(inserted, 1000);

    let rows: Vec<TagRecord> = stream.map(Result::unwrap).collect().await;
    assert_eq!(rows.len(), 1000);
    assert_eq!(list(&h.store, &q("big")).await.0, 2000);
}

async fn stream_can_be_dropped_early(h: Harness) {
    synth::synth(&h.store, Some(ACME), "group", "big", 1200, 9)
        .await
        .unwrap();
    for _ in 0..20 {
        // More streams abandoned than the pool has connections: each must
        // give its connection back.
        let mut stream = h.store.stream_tags(&q("big")).await.unwrap();
        let _ = stream.next().await;
    }
    let report = h.store.import(&fixture(&[("after", T1)])).await.unwrap();
    assert_eq!(report.tags_inserted, 1);
    assert_eq!(list(&h.store, &q("big")).await.0, 1200);
}

async fn two_handles_see_each_other(h: Harness) {
    let a = h.another().await;
    let b = h.another().await;
    a.import(&fixture(&[("one", T1)])).await.unwrap();
    assert_eq!(names(&list(&b, &q("app")).await.1), ["one"]);
    assert_eq!(
        b.domain_for_token("tok-acme").await.unwrap().as_deref(),
        Some(ACME)
    );
    b.import(&fixture(&[("one", T1), ("two", T2)]))
        .await
        .unwrap();
    assert_eq!(names(&list(&a, &q("app")).await.1), ["two", "one"]);
    assert_eq!(names(&list(&h.store, &q("app")).await.1), ["two", "one"]);
}

async fn synth_creates_and_skips_existing(h: Harness) {
    let r = synth::synth(&h.store, None, "demo", "tools/busybox", 2500, 1)
        .await
        .unwrap();
    assert_eq!((r.generated, r.inserted), (2500, 2500));
    let query = TagQuery::new(synth::DEMO_DOMAIN_ID, "demo", "tools/busybox");
    let (total, recs) = list(&h.store, &query).await;
    assert_eq!(total, 2500);
    assert!(recs.iter().all(|r| swr_api::names::is_valid_tag(&r.tag)));
    assert!(recs.iter().any(|r| r.tag == "latest"));
    assert!(recs.iter().any(|r| r.tag_type == 1));
    assert!(
        recs.windows(2).any(|w| w[0].updated == w[1].updated),
        "some ties"
    );
    assert!(
        recs.windows(2)
            .all(|w| (&w[0].updated, w[0].id) > (&w[1].updated, w[1].id))
    );

    let again = synth::synth(&h.store, None, "demo", "tools/busybox", 2500, 1)
        .await
        .unwrap();
    assert_eq!((again.repo_id, again.inserted), (r.repo_id, 0));
    let more = synth::synth(&h.store, None, "demo", "tools/busybox", 3000, 1)
        .await
        .unwrap();
    assert_eq!(more.inserted, 500);

    // Someone else's namespace, or a bad name: refused.
    h.store.import(&fixture(&[])).await.unwrap();
    let err = synth::synth(&h.store, None, "theirs", "x", 1, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = synth::synth(&h.store, None, "Bad", "x", 1, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
}

async fn ping(h: Harness) {
    h.store.ping().await.unwrap();
    assert!(matches!(
        (&h.store, h.store.backend()),
        (AnyStore::Sqlite(_), "sqlite") | (AnyStore::Postgres(_), "postgres")
    ));
}

// ---------------------------------------------------------------------------
// Backend-independent

#[tokio::test]
async fn ephemeral_sqlite_serves_concurrent_requests() {
    let store = store::open("sqlite::memory:").await.unwrap();
    store.import(&fixture(MIXED)).await.unwrap();
    // An open stream must not block other requests (a true :memory:
    // database would be one connection).
    let stream = store.stream_tags(&q("app")).await.unwrap();
    assert_eq!(list(&store, &q("app")).await.0, 8);
    store.import(&fixture(&[("x", T1)])).await.unwrap();
    assert_eq!(stream.count().await, 8);
}

#[tokio::test]
async fn open_rejects_other_urls_without_echoing_them() {
    let err = store::open("mysql://root:hunter2@db/swr")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)));
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// `text` must fail to parse with exactly `expected` (Display form).
#[track_caller]
fn parse_error(text: &str, expected: &str) {
    let err = fixtures::parse(text, "fixtures.yaml").unwrap_err();
    assert_eq!(err.to_string(), expected);
}

const FIXTURE_HEAD: &str = r#"domains:
  - id: "0503dda878000fed0f75c0096d70a960"
    name: acme
namespaces:
  - name: group
    domain: "0503dda878000fed0f75c0096d70a960"
    repositories:
      - name: busybox
        tags:
"#;

#[test]
fn fixture_errors_name_path_and_line() {
    let tag = |i: usize| format!("          - {{tag: t{i}, digest: \"{DIGEST}\"}}\n");
    let with_last = |last: &str| format!("{FIXTURE_HEAD}{}{}{last}\n", tag(0), tag(1));

    parse_error(
        &with_last(&format!(
            "          - {{tag: t2, digest: \"{DIGEST}\", size: -1}}"
        )),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2].size: invalid value: integer `-1`, \
         expected a size >= 0 (line 12, column 112)",
    );
    parse_error(
        &with_last(&format!("          - {{tag: t1, digest: \"{DIGEST}\"}}")),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2].tag: tag \"t1\" is listed twice in \
         this repository (line 12, column 19)",
    );
    parse_error(
        &with_last(&format!("          - {{tag: .bad, digest: \"{DIGEST}\"}}")),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2].tag: invalid value: string \".bad\", \
         expected a tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (line 12, column 19)",
    );
    parse_error(
        &with_last(&format!(
            "          - {{tag: t2, digest: \"{DIGEST}\", updated: \"2024-02-30T00:00:00Z\"}}"
        )),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2].updated: invalid value: string \
         \"2024-02-30T00:00:00Z\", expected an RFC 3339 date-time such as \"2018-07-06T06:18:55Z\" \
         (line 12, column 115)",
    );
    parse_error(
        &with_last(&format!(
            "          - {{tag: t2, digest: \"{DIGEST}\", sise: 1}}"
        )),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2].sise: unknown field `sise`, expected one of \
         `tag`, `digest`, `image_id`, `manifest`, `schema`, `size`, `is_trusted`, `scanned`, `tag_type`, \
         `created`, `updated`, `deleted` (line 12, column 106)",
    );
    parse_error(
        &with_last("          - {tag: t2}"),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2]: missing field `digest` (line 12, column 13)",
    );
    parse_error(
        &with_last(&format!(
            "          - {{tag: t2, digest: \"{DIGEST}\", tag_type: 2}}"
        )),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2].tag_type: invalid value: integer `2`, \
         expected a tag type, 0 (manifest) or 1 (manifest list) (line 12, column 116)",
    );
    parse_error(
        &with_last(&format!(
            "          - {{tag: t2, digest: \"{DIGEST}\", manifest: \"{{nope\"}}"
        )),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2].manifest: invalid value: string \"{nope\", \
         expected a manifest: a JSON document in a string (or empty) (line 12, column 116)",
    );
    parse_error(
        &with_last(&format!(
            "          - {{tag: t2, digest: \"{DIGEST}\", size: big}}"
        )),
        "fixtures.yaml: namespaces[0].repositories[0].tags[2].size: invalid type: string \"big\", \
         expected a size >= 0 (line 12, column 112)",
    );
}

#[test]
fn fixture_cross_references_name_path_and_line() {
    // The unknown domain is found even though `domains` comes last.
    parse_error(
        "namespaces:\n  - name: group\n    domain: nobody\ndomains:\n  - {id: acme, name: acme}\n",
        "fixtures.yaml: namespaces[0].domain: unknown domain \"nobody\": a namespace's domain must be \
         listed under `domains` (line 3, column 13)",
    );
    parse_error(
        "domains:\n  - {id: a, name: a, tokens: [t1]}\n  - {id: b, name: b, tokens: [t2, t1]}\n",
        "fixtures.yaml: domains[1].tokens[1]: token is listed twice (tokens are unique across domains) \
         (line 3, column 35)",
    );
    parse_error(
        "domains:\n  - {id: a, name: a}\nnamespaces:\n  - {name: g, domain: a, repositories: [{name: r}, {name: r}]}\n",
        "fixtures.yaml: namespaces[0].repositories[1].name: repository \"r\" is listed twice in this \
         namespace (line 4, column 59)",
    );
    // Same repository name in two namespaces is fine, and so is JSON.
    let f = fixtures::parse(
        r#"{"domains": [{"id": "a", "name": "a"}],
            "namespaces": [{"name": "g", "domain": "a", "repositories": [{"name": "r"}]},
                           {"name": "h", "domain": "a", "repositories": [{"name": "r"}]}]}"#,
        "f.json",
    )
    .unwrap();
    assert_eq!(f.namespaces.len(), 2);
    parse_error(
        "domains:\n  - {id: a, name: a}\nnamespaces:\n  - {name: Group, domain: a}\n",
        "fixtures.yaml: namespaces[0].name: invalid value: string \"Group\", expected a namespace name: \
         1 to 64 of a-z 0-9 . _ -, starting with a letter, ending with a letter or digit, no two \
         separators in a row except __ (line 4, column 12)",
    );
    // A token that breaks the rule is not echoed.
    let err = fixtures::parse(
        "domains:\n  - {id: a, name: a, tokens: [\"sec ret\"]}\n",
        "f.yaml",
    )
    .unwrap_err();
    assert!(!err.to_string().contains("sec ret"), "{err}");
    // Syntax errors have a position too.
    let err = fixtures::parse("domains: [\n", "f.yaml").unwrap_err();
    assert!(err.line.is_some(), "{err}");
}

#[test]
fn fixture_defaults_and_round_trip() {
    let text = format!("{FIXTURE_HEAD}          - {{tag: latest, digest: \"{DIGEST}\"}}\n");
    let f = fixtures::parse(&text, "f.yaml").unwrap();
    let t = &f.namespaces[0].repositories[0].tags[0];
    assert_eq!(*t, FixtureTag::new("latest", DIGEST));
    assert_eq!(f.domains[0].tokens, Vec::<String>::new());
    // What we write, we read back.
    let again = fixtures::parse(&yaml_serde::to_string(&f).unwrap(), "again.yaml").unwrap();
    assert_eq!(again, f);
    // The documented example of the module doc parses.
    let full = format!(
        "{FIXTURE_HEAD}          - {{tag: latest, image_id: \"{}\", digest: \"{DIGEST}\", manifest: '{{\"schemaVersion\":2}}', \
         schema: 2, size: 1304902, is_trusted: false, scanned: false, tag_type: 0, created: \"2018-07-06T06:18:55Z\", \
         updated: \"2018-07-06T14:18:55+08:00\", deleted: null}}\n",
        "741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6"
    );
    let f = fixtures::parse(&full, "full.yaml").unwrap();
    let t = &f.namespaces[0].repositories[0].tags[0];
    assert_eq!(t.created, t.updated, "offsets are normalised to UTC");
    assert_eq!(t.updated.unwrap().to_string(), "2018-07-06T06:18:55Z");
}

#[test]
fn fixture_load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.yaml");
    std::fs::write(&path, "domains: 3\n").unwrap();
    let err = fixtures::load(&path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: domains: invalid type", path.display())),
        "{err}"
    );
    assert!(
        fixtures::load(dir.path().join("missing.yaml"))
            .unwrap_err()
            .to_string()
            .contains("cannot read")
    );
}
