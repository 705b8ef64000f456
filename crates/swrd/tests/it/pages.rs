//! The page cache (`swrd::listing`) against the SQL path, on both backends:
//! every page it serves is byte for byte the page SQL gives, after any
//! sequence of writes, and it never serves a page from before a write.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::Harness;
use swr_filter::{Order, OrderColumn, OrderType, Page};
use swrd::api::{Registry, render};
use swrd::listing::{CachedPage, PageCache};
use swrd::store::{
    AnyStore, ImageData, Import as _, RegistryChange, RegistryEvent, RegistryFeed as _,
    RepositoryVersion, TagQuery, TagReads as _,
};
use swrd::synth;

on_both_backends!(
    cached_pages_follow_random_writes,
    paginate_equals_sql_pages,
    cached_pages_equal_sql_pages,
    every_write_path_changes_the_version,
    nothing_built_before_a_write_is_served_after_it,
);

fn registry() -> Registry {
    Registry {
        host: "swr.example.com".into(),
        internal_host: "10.0.0.1:20202".into(),
    }
}

fn query(repository: &str) -> TagQuery<'_> {
    TagQuery::new(synth::DEMO_DOMAIN_ID, "demo", repository)
}

/// The cache's page of `q`: its index brought to the current version (or
/// later), then the page.
async fn cached(
    pages: &Arc<PageCache>,
    store: &Arc<AnyStore>,
    q: &TagQuery<'_>,
    page: Page,
) -> (RepositoryVersion, CachedPage) {
    let at = store.repository_version(q).await.unwrap();
    for _ in 0..3 {
        let index = pages
            .index_at_least(store, at, Duration::from_secs(10))
            .await
            .expect("the index is ready within 10 s");
        assert!(index.at().version >= at.version);
        if let Some(p) = pages
            .page(&**store, &registry(), q, &index, page)
            .await
            .unwrap()
        {
            return (index.at(), p);
        }
    }
    panic!("the cache did not answer at {at:?}");
}

/// The SQL path's page, serialized as the API does.
async fn sql_page(store: &AnyStore, q: &TagQuery<'_>) -> (u64, Vec<serde_json::Value>) {
    let p = store.list_tags(q).await.unwrap();
    let values = p
        .records
        .into_iter()
        .map(|r| serde_json::to_value(render(&registry(), r)).unwrap())
        .collect();
    (p.total, values)
}

async fn cached_pages_equal_sql_pages(h: Harness) {
    // 1,500 synthetic tags: ties on `updated`, `latest`, manifest lists.
    synth::synth(&h.store, None, "demo", "tools/busybox", 1500, 7)
        .await
        .unwrap();
    let store = Arc::new(h.store.clone());
    let pages = Arc::new(PageCache::default());
    let orders = [
        Order::new(OrderColumn::UpdatedAt, OrderType::Desc),
        Order::new(OrderColumn::UpdatedAt, OrderType::Asc),
        Order::new(OrderColumn::Tag, OrderType::Asc),
        Order::new(OrderColumn::Tag, OrderType::Desc),
    ];
    let mut compared = 0;
    for order in orders {
        for contains in [
            None,
            Some("1"),
            Some("v1."),
            Some("latest"),
            Some("no-such"),
        ] {
            for (offset, limit) in [
                (0, 100),
                (1, 10),
                (750, 100),
                (1450, 100),
                (1499, 5),
                (1500, 5),
                (9999, 1),
            ] {
                let page = Page::new(offset, limit).unwrap();
                let mut q = query("tools/busybox");
                q.order = order;
                q.tag_contains = contains;
                q.page = Some(page);
                let (at, got) = cached(&pages, &store, &q, page).await;
                // Asked again: the whole-body cache answers, with the same page.
                let (again_at, again) = cached(&pages, &store, &q, page).await;
                assert_eq!(again_at, at);
                assert_eq!(again.body, got.body);
                assert_eq!((again.total, again.count), (got.total, got.count));
                let got_values: Vec<serde_json::Value> = serde_json::from_slice(&got.body).unwrap();
                assert_eq!(got.count as usize, got_values.len());
                let (total, want) = sql_page(&store, &q).await;
                let what = format!("{order:?} contains {contains:?} offset {offset} limit {limit}");
                assert_eq!(got.total, total, "total, {what}");
                assert_eq!(got_values, want, "rows, {what}");
                compared += want.len();
            }
        }
    }
    assert!(compared > 1000, "the grid compared {compared} rows");
}

async fn version(h: &Harness) -> i64 {
    h.store
        .repository_version(&query("tools/busybox"))
        .await
        .unwrap()
        .version
}

fn push(id: &str, at: i64, tag: &str) -> RegistryEvent {
    RegistryEvent {
        id: id.into(),
        at,
        namespace: "demo".into(),
        repository: "tools/busybox".into(),
        change: RegistryChange::Push {
            tag: tag.into(),
            image: ImageData {
                digest: format!("sha256:{}", "e".repeat(64)),
                image_id: "f".repeat(64),
                manifest: "{}".into(),
                schema: 2,
                size: 10,
                tag_type: 0,
            },
        },
    }
}

async fn every_write_path_changes_the_version(h: Harness) {
    synth::synth(&h.store, None, "demo", "tools/busybox", 10, 1)
        .await
        .unwrap();
    let mut last = version(&h).await;
    let mut changed = |now: i64, what: &str| {
        assert!(now > last, "{what}: version {now} after {last}");
        last = now;
    };
    // Bulk load of more tags.
    synth::synth(&h.store, None, "demo", "tools/busybox", 20, 1)
        .await
        .unwrap();
    changed(version(&h).await, "synth");
    // Registry feed: a push (insert), a push again (update), a delete.
    let now = 1_700_000_000_000_000_000;
    let events = [push("e1", now, "fresh")];
    h.store.apply_registry_events(&events, None).await.unwrap();
    changed(version(&h).await, "registry push");
    let events = [push("e2", now + 1, "fresh")];
    h.store.apply_registry_events(&events, None).await.unwrap();
    changed(version(&h).await, "registry re-push");
    let delete = RegistryEvent {
        id: "e3".into(),
        at: now + 2,
        namespace: "demo".into(),
        repository: "tools/busybox".into(),
        change: RegistryChange::DeleteTag {
            tag: "fresh".into(),
        },
    };
    h.store
        .apply_registry_events(&[delete], None)
        .await
        .unwrap();
    changed(version(&h).await, "registry delete");
    // An operator's SQL, bypassing swrd.
    h.raw_count("UPDATE tags SET size = size + 1 WHERE tag = 'latest' RETURNING id")
        .await;
    changed(version(&h).await, "SQL update");
    h.raw_count("DELETE FROM tags WHERE tag = 'latest' RETURNING id")
        .await;
    changed(version(&h).await, "SQL delete");
    // A read changes nothing.
    h.store.list_tags(&query("tools/busybox")).await.unwrap();
    assert_eq!(version(&h).await, last, "a read");
}

async fn nothing_built_before_a_write_is_served_after_it(h: Harness) {
    synth::synth(&h.store, None, "demo", "tools/busybox", 300, 3)
        .await
        .unwrap();
    let store = Arc::new(h.store.clone());
    let pages = Arc::new(PageCache::default());
    let page = Page::new(0, 5).unwrap();
    let mut q = query("tools/busybox");
    q.page = Some(page);
    let (before, first) = cached(&pages, &store, &q, page).await;
    assert_eq!(first.total, 300);
    let first_ids: Vec<i64> = serde_json::from_slice::<Vec<serde_json::Value>>(&first.body)
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();

    // Another handle (as another replica would) pushes the newest tag.
    let other = h.another().await;
    let events = [push("n1", 4_000_000_000_000_000_000, "newest")];
    other.apply_registry_events(&events, None).await.unwrap();

    let after = store.repository_version(&q).await.unwrap();
    assert_ne!(after, before);
    // Rows unchanged since the old version may still be read for it, the
    // new tag not (it changed after that version).
    let unchanged = store.tags_by_id(&q, before, &first_ids).await.unwrap();
    assert_eq!(unchanged.map(|r| r.len()), Some(5));
    let newest = store
        .list_tags(&{
            let mut n = q;
            n.page = Some(Page::new(0, 1).unwrap());
            n
        })
        .await
        .unwrap();
    let rows = store
        .tags_by_id(&q, before, &[newest.records[0].id])
        .await
        .unwrap();
    assert!(
        rows.is_none(),
        "a row that changed after the version was read for it"
    );
    // The very next page has the new tag and the new total, brought forward
    // by a delta, not rebuilt.
    let (now_at, now) = cached(&pages, &store, &q, page).await;
    assert!(now_at.version >= after.version);
    assert_eq!(now.total, 301);
    let page: Vec<serde_json::Value> = serde_json::from_slice(&now.body).unwrap();
    assert_eq!(page[0]["Tag"], "newest");
    assert_eq!(pages.stats().builds, 1, "{:?}", pages.stats());
    assert!(pages.stats().deltas >= 1, "{:?}", pages.stats());
}

/// A fixed pseudo-random sequence (a linear congruential generator).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// 60 random writes (insert, re-push with a new digest and time, delete,
/// re-tag and time changes by plain SQL), half of them through another
/// handle, each followed by reads: every cached page equals the SQL page
/// (orders, ties, byte-order names, filters, totals), and the index follows
/// by deltas.
async fn cached_pages_follow_random_writes(h: Harness) {
    synth::synth(&h.store, None, "demo", "tools/busybox", 400, 11)
        .await
        .unwrap();
    let store = Arc::new(h.store.clone());
    let other = h.another().await;
    let pages = Arc::new(PageCache::default());
    let mut rng = Lcg(42);
    let base = 1_800_000_000_000_000_000_i64;
    let orders = [
        Order::new(OrderColumn::UpdatedAt, OrderType::Desc),
        Order::new(OrderColumn::UpdatedAt, OrderType::Asc),
        Order::new(OrderColumn::Tag, OrderType::Asc),
        Order::new(OrderColumn::Tag, OrderType::Desc),
    ];
    for step in 0..60_i64 {
        let writer = if step % 2 == 0 { &*store } else { &other };
        let all = store
            .list_tags(&query("tools/busybox"))
            .await
            .unwrap()
            .records;
        let victim = &all[rng.below(all.len() as u64) as usize];
        let at = base + step * 1_000_000_000;
        match rng.below(5) {
            0 => {
                let events = [push(&format!("w{step}"), at, &format!("New-{step}"))];
                writer.apply_registry_events(&events, None).await.unwrap();
            }
            1 => {
                let mut event = push(&format!("w{step}"), at, &victim.tag);
                if let RegistryChange::Push { image, .. } = &mut event.change {
                    image.digest = format!("sha256:{:064x}", step);
                }
                writer.apply_registry_events(&[event], None).await.unwrap();
            }
            2 => {
                let delete = RegistryEvent {
                    id: format!("w{step}"),
                    at,
                    namespace: "demo".into(),
                    repository: "tools/busybox".into(),
                    change: RegistryChange::DeleteTag {
                        tag: victim.tag.clone(),
                    },
                };
                writer.apply_registry_events(&[delete], None).await.unwrap();
            }
            3 => {
                // An operator renames a tag (re-tag) behind swrd's back.
                h.raw_count(&format!(
                    "UPDATE tags SET tag = 'Re{step}' WHERE id = {} RETURNING id",
                    victim.id
                ))
                .await;
            }
            _ => {
                // ... or moves its time onto another tag's (a tie).
                let tie = &all[rng.below(all.len() as u64) as usize];
                h.raw_count(&format!(
                    "UPDATE tags SET updated = (SELECT updated FROM tags WHERE id = {}) WHERE id = {} RETURNING id",
                    tie.id, victim.id
                ))
                .await;
            }
        }
        let order = orders[rng.below(4) as usize];
        let contains = [None, Some("1"), Some("New"), Some("Re")][rng.below(4) as usize];
        let offset = rng.below(420);
        for (offset, limit) in [(0, 10), (offset, 25)] {
            let page = Page::new(offset, limit).unwrap();
            let mut q = query("tools/busybox");
            (q.order, q.tag_contains, q.page) = (order, contains, Some(page));
            let (_, got) = cached(&pages, &store, &q, page).await;
            let got_values: Vec<serde_json::Value> = serde_json::from_slice(&got.body).unwrap();
            let (total, want) = sql_page(&store, &q).await;
            let what = format!(
                "step {step}: {order:?} contains {contains:?} offset {offset} limit {limit}"
            );
            assert_eq!(got.total, total, "total, {what}");
            assert_eq!(got_values, want, "rows, {what}");
        }
    }
    let stats = pages.stats();
    assert!(
        stats.deltas >= 30,
        "the index followed by deltas: {stats:?}"
    );
    assert!(stats.builds <= 3, "and was rarely rebuilt: {stats:?}");
}

/// `swr_api::server::paging::paginate` (what the reference in-memory server
/// and implementers use) gives exactly swrd's SQL pages: generated queries
/// (order, case-sensitive substring, offset, limit) over 400 tags whose names
/// make byte order differ from a case-insensitive one and whose times tie.
async fn paginate_equals_sql_pages(h: Harness) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use swr_api::fixture::{
        Fixture, FixtureDomain, FixtureNamespace, FixtureRepository, FixtureTag, Timestamp,
    };
    use swr_api::server::ListQuery;
    use swr_api::server::paging::paginate;

    let stems = ["B", "a", "_x", "V1.", "v1.", "Z", "z-", "0"];
    let tags = (0..400)
        .map(|i| {
            let mut t = FixtureTag::new(
                format!("{}{i}", stems[i % stems.len()]),
                format!("sha256:{i:064}"),
            );
            // Groups of four share an update time: ties everywhere.
            t.updated = Some(Timestamp(1_600_000_000 + (i as i64 / 4) * 60));
            t
        })
        .collect();
    let domain = "pagedomain";
    let fixture = Fixture {
        domains: vec![FixtureDomain {
            id: domain.into(),
            name: "paging".into(),
            tokens: vec![],
            expiring_tokens: vec![],
            credentials: vec![],
        }],
        namespaces: vec![FixtureNamespace {
            name: "paging".into(),
            domain: domain.into(),
            repositories: vec![FixtureRepository {
                name: "ties/mixed".into(),
                tags,
            }],
        }],
    };
    h.store.import(&fixture).await.unwrap();
    let all_rows = h
        .store
        .list_tags(&TagQuery::new(domain, "paging", "ties/mixed"))
        .await
        .unwrap();
    let all: Vec<_> = all_rows
        .records
        .into_iter()
        .map(|r| render(&registry(), r))
        .collect();
    assert_eq!(all.len(), 400);

    let order = prop_oneof![
        Just(Order::new(OrderColumn::UpdatedAt, OrderType::Desc)),
        Just(Order::new(OrderColumn::UpdatedAt, OrderType::Asc)),
        Just(Order::new(OrderColumn::Tag, OrderType::Asc)),
        Just(Order::new(OrderColumn::Tag, OrderType::Desc)),
    ];
    let contains = prop::option::of(prop::sample::select(vec![
        "1", "v1", "V1", "_", "a", "A", "z-", "9", "nothing",
    ]));
    let page = prop::option::of((0u64..450, 1u32..=120));
    let strategy = (order, contains, page);
    let mut runner = TestRunner::deterministic();
    for case in 0..200 {
        let (order, contains, page) = strategy.new_tree(&mut runner).unwrap().current();
        let page = page.map(|(o, l)| Page::new(o, l).unwrap());
        let query = ListQuery {
            page,
            order,
            tag: contains.map(str::to_owned),
        };
        let want = paginate(&all, &query);
        let mut q = TagQuery::new(domain, "paging", "ties/mixed");
        (q.order, q.tag_contains, q.page) = (order, contains, page);
        let got = h.store.list_tags(&q).await.unwrap();
        let got_ids: Vec<i64> = got.records.iter().map(|r| r.id).collect();
        let want_ids: Vec<i64> = want.items.iter().map(|t| t.id).collect();
        assert_eq!(got_ids, want_ids, "case {case}: {query:?}");
        assert_eq!(
            got.total, want.content_range.total,
            "case {case}: {query:?}"
        );
    }
}
