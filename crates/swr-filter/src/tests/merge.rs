//! `RawQuery::merge`: the `filter` parameter and the separate ones combined.

use super::*;

#[test]
fn merge_nothing_is_empty() {
    assert!(RawQuery::default().merge().unwrap().is_empty());
}

#[test]
fn merge_filter_only() {
    let q = RawQuery {
        filter: Some(SEED),
        ..RawQuery::default()
    };
    assert_eq!(q.merge().unwrap(), seed_filter());
}

#[test]
fn merge_params_only() {
    let q = RawQuery {
        offset: Some("0"),
        limit: Some("10"),
        order_column: Some("updated_at"),
        order_type: Some("desc"),
        tag: Some("v1"),
        filter: None,
    };
    assert_eq!(q.merge().unwrap(), seed_filter());
}

#[test]
fn merge_both_equal() {
    let q = RawQuery {
        offset: Some("0"),
        limit: Some("10"),
        order_column: Some("updated_at"),
        order_type: Some("desc"),
        tag: Some("v1"),
        filter: Some(SEED),
    };
    assert_eq!(q.merge().unwrap(), seed_filter());
}

#[test]
fn merge_equal_numbers_with_leading_zeros_do_not_conflict() {
    let q = RawQuery {
        limit: Some("10"),
        filter: Some("offset::0|limit::010"),
        ..RawQuery::default()
    };
    assert_eq!(q.merge().unwrap().page, page(0, 10));
    let q = RawQuery {
        offset: Some("00"),
        limit: Some("010"),
        filter: Some("limit::10|offset::0"),
        ..RawQuery::default()
    };
    assert_eq!(q.merge().unwrap().page, page(0, 10));
}

#[test]
fn merge_pairs_across_sources() {
    let q = RawQuery {
        limit: Some("10"),
        filter: Some("offset::0"),
        ..RawQuery::default()
    };
    assert_eq!(q.merge().unwrap().page, page(0, 10));

    let q = RawQuery {
        offset: Some("30"),
        order_type: Some("asc"),
        filter: Some("limit::15|order_column::tag|tag::rc"),
        ..RawQuery::default()
    };
    assert_eq!(
        q.merge().unwrap(),
        TagFilter {
            page: page(30, 15),
            order: order(OrderColumn::Tag, OrderType::Asc),
            tag: Some("rc".into()),
        }
    );
}

#[test]
fn merge_reports_filter_errors_first() {
    let q = RawQuery {
        limit: Some("abc"),
        filter: Some("nope"),
        ..RawQuery::default()
    };
    assert!(matches!(merge_err(q), FilterError::Malformed { .. }));
    let q = RawQuery {
        filter: Some(""),
        ..RawQuery::default()
    };
    assert!(matches!(merge_err(q), FilterError::Malformed { .. }));
}
