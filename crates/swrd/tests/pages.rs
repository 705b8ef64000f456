//! The page cache (`swrd::pages`) against the SQL path, on both backends:
//! every page it serves is byte for byte the page SQL gives, and after any
//! write it serves nothing built before the write.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Harness;
use swr_filter::{Order, OrderColumn, OrderType, Page};
use swrd::api::{Registry, render};
use swrd::pages::{CachedPage, PageCache};
use swrd::store::{
    AnyStore, ImageData, RegistryChange, RegistryEvent, RepositoryVersion, Store, TagQuery,
};
use swrd::synth;

on_both_backends!(
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

/// Asks the cache until it answers (the index builds in the background).
async fn cached(
    pages: &Arc<PageCache>,
    store: &Arc<AnyStore>,
    q: &TagQuery<'_>,
    page: Page,
) -> (RepositoryVersion, CachedPage) {
    let at = store.repository_version(q).await.unwrap();
    for _ in 0..500 {
        if let Some(p) = pages
            .page(&**store, &registry(), q, at, page)
            .await
            .unwrap()
        {
            return (at, p);
        }
        pages.refresh(store.clone(), at);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the page index of {at:?} was not built within 5 s");
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
                let again = pages
                    .page(&*store, &registry(), &q, at, page)
                    .await
                    .unwrap()
                    .expect("a page just served is cached");
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

    // Another handle (as another replica would) pushes the newest tag.
    let other = h.another().await;
    let events = [push("n1", 4_000_000_000_000_000_000, "newest")];
    other.apply_registry_events(&events, None).await.unwrap();

    let after = store.repository_version(&q).await.unwrap();
    assert_ne!(after, before);
    // The old index does not answer for the new version ...
    let miss = pages
        .page(&*store, &registry(), &q, after, page)
        .await
        .unwrap();
    assert!(miss.is_none(), "an index built before the write answered");
    // ... nor can rows be read at the old version any more.
    let rows = store.tags_by_id(&q, before, &[1]).await.unwrap();
    assert!(rows.is_none(), "rows read at a version that has passed");
    // Once rebuilt, the page has the new tag and the new total.
    let (_, now) = cached(&pages, &store, &q, page).await;
    assert_eq!(now.total, 301);
    let page: Vec<serde_json::Value> = serde_json::from_slice(&now.body).unwrap();
    assert_eq!(page[0]["Tag"], "newest");
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
