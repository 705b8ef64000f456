use super::*;

const SEED: &str = "offset::0|limit::10|order_column::updated_at|order_type::desc|tag::v1";

const INVALID_FILTER: &str = "SVCSTG.SWR.4001035";
const INVALID_PARAM: &str = "SVCSTG.SWR.4001025";
const INVALID_PAGE_SIZE: &str = "SVCSTG.SWR.4000056";
const INVALID_TAG: &str = "SVCSTG.SWR.4009021";
const MISSING_PAIR: &str = "SVCSTG.SWR.4001072";

fn parse_err(s: &str) -> FilterError {
    s.parse::<TagFilter>()
        .expect_err(&format!("{s:?} should not parse"))
}

fn merge_err(q: RawQuery<'_>) -> FilterError {
    q.merge().expect_err(&format!("{q:?} should not merge"))
}

/// Asserts code, parameter and that the message mentions every `needle`.
fn check(e: &FilterError, code: &str, parameter: &str, needles: &[&str]) {
    assert_eq!(e.code(), code, "code of {e:?}");
    assert_eq!(e.parameter(), parameter, "parameter of {e:?}");
    let msg = e.to_string();
    for needle in needles {
        assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
    }
}

fn page(offset: u64, limit: u32) -> Option<Page> {
    Some(Page::new(offset, limit).unwrap())
}

fn order(column: OrderColumn, direction: OrderType) -> Option<Order> {
    Some(Order { column, direction })
}

fn seed_filter() -> TagFilter {
    TagFilter {
        page: page(0, 10),
        order: order(OrderColumn::UpdatedAt, OrderType::Desc),
        tag: Some("v1".into()),
    }
}

mod errors;
mod merge;
mod types;

// ---------------------------------------------------------------- parsing

#[test]
fn seed_parses_and_reformats_identically() {
    let f: TagFilter = SEED.parse().unwrap();
    assert_eq!(f, seed_filter());
    assert_eq!(f.to_string(), SEED);
}

#[test]
fn keys_in_any_order_parse() {
    let f: TagFilter = "tag::v1|order_type::desc|limit::10|order_column::updated_at|offset::0"
        .parse()
        .unwrap();
    assert_eq!(f, seed_filter());
    assert_eq!(f.to_string(), SEED);
}

#[test]
fn display_is_canonical_and_skips_absent_parts() {
    let mut f = TagFilter {
        tag: Some("latest".into()),
        order: order(OrderColumn::Tag, OrderType::Asc),
        page: page(5, 1000),
    };
    assert_eq!(
        f.to_string(),
        "offset::5|limit::1000|order_column::tag|order_type::asc|tag::latest"
    );
    f.order = None;
    assert_eq!(f.to_string(), "offset::5|limit::1000|tag::latest");
    f.page = None;
    assert_eq!(f.to_string(), "tag::latest");
    f.tag = None;
    assert!(f.is_empty());
    assert_eq!(f.to_string(), "");
}

#[test]
fn subsets_parse() {
    assert_eq!(
        "limit::100|offset::0".parse::<TagFilter>().unwrap(),
        TagFilter {
            page: page(0, 100),
            ..TagFilter::default()
        }
    );
    assert_eq!(
        "order_column::tag|order_type::asc"
            .parse::<TagFilter>()
            .unwrap(),
        TagFilter {
            order: order(OrderColumn::Tag, OrderType::Asc),
            ..TagFilter::default()
        }
    );
    let t: TagFilter = "tag::v1".parse().unwrap();
    assert_eq!(t.tag.as_deref(), Some("v1"));
    assert!(!t.is_empty());
}

#[test]
fn numbers_accept_leading_zeros_and_bounds() {
    let f: TagFilter = "offset::0009223372036854775807|limit::0001000"
        .parse()
        .unwrap();
    assert_eq!(f.page, page(MAX_OFFSET, MAX_LIMIT));
    assert_eq!(f.to_string(), "offset::9223372036854775807|limit::1000");
    let f: TagFilter = "offset::000|limit::1".parse().unwrap();
    assert_eq!(f.page, page(0, 1));
}

#[test]
fn tag_bounds() {
    let max = "a".repeat(128);
    let f: TagFilter = format!("tag::{max}").parse().unwrap();
    assert_eq!(f.tag.as_deref(), Some(max.as_str()));
    let f: TagFilter = "tag::A-z_0.9".parse().unwrap();
    assert_eq!(f.tag.as_deref(), Some("A-z_0.9"));
}
