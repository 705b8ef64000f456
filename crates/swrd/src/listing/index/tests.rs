//! The index against the SQL rules, and deltas against builds.

use super::*;

fn rows(version: i64, tags: &[(i64, &str, i64)]) -> IndexRows {
    let mut rows = IndexRows::new(version);
    for &(id, name, updated) in tags {
        rows.push(id, name, updated).unwrap();
    }
    rows
}

fn page(offset: u64, limit: u32) -> Page {
    Page::new(offset, limit).unwrap()
}

fn ids(idx: &RepoIndex, order: Order, contains: Option<&str>, p: Page) -> (u64, Vec<i64>) {
    let s = idx.select(order, contains, p);
    (s.total, s.tags.into_iter().map(|(id, _)| id).collect())
}

const TAGS: &[(i64, &str, i64)] = &[
    (1, "v1", 100),
    (2, "v10", 300),
    (3, "latest", 300),
    (4, "v2", 200),
    (5, "B", 50),
];
const UPDATED_DESC: Order = Order::new(OrderColumn::UpdatedAt, OrderType::Desc);
const UPDATED_ASC: Order = Order::new(OrderColumn::UpdatedAt, OrderType::Asc);
const TAG_ASC: Order = Order::new(OrderColumn::Tag, OrderType::Asc);
const TAG_DESC: Order = Order::new(OrderColumn::Tag, OrderType::Desc);

#[test]
fn orders_match_the_sql_rules() {
    let idx = RepoIndex::build(1, rows(7, TAGS));
    let all = page(0, 100);
    // Ties on `updated` break by id, in the same direction.
    assert_eq!(ids(&idx, UPDATED_DESC, None, all).1, [3, 2, 4, 1, 5]);
    assert_eq!(ids(&idx, UPDATED_ASC, None, all).1, [5, 1, 4, 2, 3]);
    // Byte order: upper case before lower case.
    assert_eq!(ids(&idx, TAG_ASC, None, all).1, [5, 3, 1, 2, 4]);
    assert_eq!(ids(&idx, TAG_DESC, None, all).1, [4, 2, 1, 3, 5]);
}

#[test]
fn pages_and_filters_count_every_match() {
    let idx = RepoIndex::build(1, rows(7, TAGS));
    assert_eq!(ids(&idx, TAG_ASC, None, page(1, 2)), (5, vec![3, 1]));
    assert_eq!(ids(&idx, TAG_ASC, None, page(9, 2)), (5, vec![]));
    assert_eq!(ids(&idx, UPDATED_DESC, None, page(4, 2)), (5, vec![5]));
    assert_eq!(ids(&idx, TAG_ASC, Some("v1"), page(0, 1)), (2, vec![1]));
    assert_eq!(ids(&idx, TAG_ASC, Some("v1"), page(1, 5)), (2, vec![2]));
    // Case-sensitive, like instr/strpos.
    assert_eq!(ids(&idx, TAG_ASC, Some("b"), page(0, 5)), (0, vec![]));
    let empty = RepoIndex::build(1, rows(1, &[]));
    assert_eq!(
        ids(&empty, UPDATED_DESC, Some("x"), page(0, 10)),
        (0, vec![])
    );
    assert_eq!(ids(&empty, UPDATED_DESC, None, page(0, 10)), (0, vec![]));
}

#[test]
fn a_delta_equals_a_build_at_the_new_version() {
    let before = RepoIndex::build(1, rows(7, TAGS));
    // v10 re-pushed (newest), latest deleted, v3 new, B renamed to A.
    let delta = IndexDelta {
        version: 9,
        changed: vec![2, 3, 5, 6],
        rows: rows(9, &[(2, "v10", 400), (5, "A", 50), (6, "v3", 250)]),
    };
    let after = before.apply(&delta).unwrap();
    let rebuilt = RepoIndex::build(
        1,
        rows(
            9,
            &[
                (1, "v1", 100),
                (2, "v10", 400),
                (4, "v2", 200),
                (5, "A", 50),
                (6, "v3", 250),
            ],
        ),
    );
    for order in [UPDATED_DESC, UPDATED_ASC, TAG_ASC, TAG_DESC] {
        for contains in [None, Some("v"), Some("A")] {
            for p in [page(0, 10), page(1, 2), page(4, 3)] {
                assert_eq!(
                    ids(&after, order, contains, p),
                    ids(&rebuilt, order, contains, p),
                    "{order:?} {contains:?} {p:?}"
                );
            }
        }
    }
    // Unchanged tags keep their stamp (their cached JSON stays valid).
    let stamps: Vec<(i64, i64)> = after.select(TAG_ASC, None, page(0, 10)).tags;
    assert!(
        stamps.contains(&(1, 7)) && stamps.contains(&(2, 9)) && stamps.contains(&(6, 9)),
        "{stamps:?}"
    );
    // The names' bytes are kept, not summed (tombstones keep theirs).
    let names: usize = after
        .slots
        .iter()
        .flat_map(|c| c.iter())
        .map(|s| s.name.len())
        .sum();
    assert_eq!(after.name_bytes, names);
    // The old version is untouched.
    assert_eq!(
        ids(&before, UPDATED_DESC, None, page(0, 10)).1,
        [3, 2, 4, 1, 5]
    );
    // An id below the last one cannot be appended.
    let late = IndexDelta {
        version: 10,
        changed: vec![0],
        rows: rows(10, &[(0, "old", 1)]),
    };
    assert_eq!(after.apply(&late).unwrap_err(), NeedsRebuild);
}

#[test]
fn a_large_build_sorts_like_the_sql_rules() {
    // Past PARALLEL_SORT (the threaded path), names sharing their first 8
    // bytes and names shorter than 8, ids out of order, `updated` ties.
    let mut tags: Vec<(i64, String, i64)> = (0..PARALLEL_SORT as i64 + 500)
        .map(|i| {
            (
                i * 7 % 60_013 + 1,
                format!("release-{:05}", i * 13 % 60_013),
                i % 97,
            )
        })
        .collect();
    tags.extend([
        (70_001, "a".into(), 5),
        (70_002, "ab".into(), 5),
        (70_003, "release".into(), 5),
    ]);
    tags.reverse();
    let mut rows = IndexRows::new(1);
    for (id, name, updated) in &tags {
        rows.push(*id, name, *updated).unwrap();
    }
    let idx = RepoIndex::build(1, rows);
    let all = |order| -> Vec<i64> {
        (0..tags.len() as u64)
            .step_by(1000)
            .flat_map(|offset| ids(&idx, order, None, page(offset, 1000)).1)
            .collect()
    };
    let mut by_tag = tags.clone();
    by_tag.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
    assert_eq!(all(TAG_ASC), by_tag.iter().map(|t| t.0).collect::<Vec<_>>());
    let mut by_updated = tags.clone();
    by_updated.sort_by_key(|t| (t.2, t.0));
    assert_eq!(
        all(UPDATED_ASC),
        by_updated.iter().map(|t| t.0).collect::<Vec<_>>()
    );
}
