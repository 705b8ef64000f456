//! Property tests: formatting round-trips, the published PATTERN agrees with
//! the parser, and no input makes parsing or merging panic.

use std::sync::LazyLock;

use proptest::prelude::*;
use regex::Regex;
use swr_filter::{
    Key, MAX_LIMIT, MAX_OFFSET, Order, OrderColumn, OrderType, PATTERN, Page, RawQuery,
    TAG_PATTERN, TagFilter,
};

static FILTER_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(PATTERN).unwrap());
static TAG_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(TAG_PATTERN).unwrap());

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,128}"
}

fn page() -> impl Strategy<Value = Page> {
    (
        prop_oneof![0..=100u64, 0..=MAX_OFFSET, Just(MAX_OFFSET)],
        prop_oneof![1..=MAX_LIMIT, Just(MAX_LIMIT)],
    )
        .prop_map(|(offset, limit)| Page::new(offset, limit).unwrap())
}

fn order() -> impl Strategy<Value = Order> {
    (
        prop::sample::select(OrderColumn::ALL.to_vec()),
        prop::sample::select(OrderType::ALL.to_vec()),
    )
        .prop_map(|(column, direction)| Order { column, direction })
}

fn valid_filter() -> impl Strategy<Value = TagFilter> {
    (
        prop::option::of(page()),
        prop::option::of(order()),
        prop::option::of(tag()),
    )
        .prop_map(|(page, order, tag)| TagFilter { page, order, tag })
        .prop_filter("non-empty", |f| !f.is_empty())
}

/// Numbers that stress the integer rules: small, boundary, leading zeros,
/// overflowing, signed, decimal.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[0-9]{1,4}",
        1 => "0{0,30}[0-9]{1,25}",
        1 => "[0-9]{18,40}",
        1 => "[0-9]{200,400}",
        1 => Just(MAX_OFFSET.to_string()),
        1 => Just((u128::from(MAX_OFFSET) + 1).to_string()),
        1 => Just(u64::MAX.to_string()),
        1 => "[-+ ]?[0-9]{1,3}(\\.[0-9])?",
    ]
}

/// Values a key might carry: its valid vocabulary, near-misses, and noise.
fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        number_text(),
        prop::sample::select(vec![
            "updated_at",
            "tag",
            "desc",
            "asc",
            "UPDATED_AT",
            "Asc",
            ""
        ])
        .prop_map(String::from),
        "[A-Za-z0-9_.:| -]{0,12}",
        tag(),
        any::<String>(),
    ]
}

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(Key::ALL.to_vec()).prop_map(|k| k.to_string()),
        1 => prop::sample::select(vec!["", "Offset", " tag", "foo", "limit ", "order"])
            .prop_map(String::from),
    ]
}

/// A value that is usually valid for `key`, sometimes noise.
fn value_for(key: Key) -> BoxedStrategy<String> {
    let valid = match key {
        Key::Offset => number_text().boxed(),
        Key::Limit => prop_oneof!["0{0,3}[1-9][0-9]{0,2}", number_text()].boxed(),
        Key::OrderColumn => prop::sample::select(OrderColumn::ALL.to_vec())
            .prop_map(|c| c.to_string())
            .boxed(),
        Key::OrderType => prop::sample::select(OrderType::ALL.to_vec())
            .prop_map(|t| t.to_string())
            .boxed(),
        Key::Tag => tag().boxed(),
    };
    prop_oneof![4 => valid, 1 => value_text()].boxed()
}

/// Parts built from key names, "::" and values: mostly `key::value` with a
/// plausible value, sometimes a wrong key, separator or value.
fn part_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(Key::ALL.to_vec())
            .prop_flat_map(|k| value_for(k).prop_map(move |v| format!("{k}::{v}"))),
        1 => (key_text(), prop::sample::select(vec!["::", ":", "", "::::"]), value_text())
            .prop_map(|(k, sep, v)| format!("{k}{sep}{v}")),
    ]
}

/// Whole near-valid filter strings, joined by "|" with occasional empty parts.
fn near_valid_filter() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(part_text(), 0..6),
        prop::sample::select(vec!["|", "|", "|", "|", "|", "||"]),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(parts, sep, trailing)| {
            let mut s = parts.join(sep);
            if trailing {
                s.push('|');
            }
            s
        })
}

fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![
        near_valid_filter(),
        valid_filter().prop_map(|f| f.to_string()),
        any::<String>(),
        "[a-z_:|0-9]{0,60}",
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![value_text(), number_text()])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn format_then_parse_round_trips(f in valid_filter()) {
        let s = f.to_string();
        prop_assert!(FILTER_RE.is_match(&s), "{s:?} does not match PATTERN");
        prop_assert_eq!(s.parse::<TagFilter>(), Ok(f.clone()));
        // The same string through serde.
        let json = serde_json::to_string(&f).unwrap();
        prop_assert_eq!(serde_json::from_str::<TagFilter>(&json).unwrap(), f);
    }

    #[test]
    fn parse_never_panics_and_is_stable(s in any_input()) {
        if let Ok(f) = s.parse::<TagFilter>() {
            // Whatever the parser accepts, the published pattern accepts too.
            prop_assert!(FILTER_RE.is_match(&s), "{s:?} parsed but does not match PATTERN");
            let canonical = f.to_string();
            prop_assert!(FILTER_RE.is_match(&canonical));
            prop_assert_eq!(canonical.parse::<TagFilter>(), Ok(f));
        }
    }

    #[test]
    fn errors_are_always_describable(s in any_input()) {
        if let Err(e) = s.parse::<TagFilter>() {
            prop_assert!(e.code().starts_with("SVCSTG.SWR."));
            prop_assert!(!e.parameter().is_empty());
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn tag_validation_agrees_with_tag_pattern(s in prop_oneof![tag(), any::<String>(), "[A-Za-z0-9_. -]{0,130}"]) {
        prop_assert_eq!(swr_filter::is_valid_tag(&s), TAG_RE.is_match(&s));
    }

    #[test]
    fn merge_never_panics(
        offset in opt_text(),
        limit in opt_text(),
        order_column in opt_text(),
        order_type in opt_text(),
        tag in opt_text(),
        filter in prop::option::of(any_input()),
    ) {
        let q = RawQuery {
            offset: offset.as_deref(),
            limit: limit.as_deref(),
            order_column: order_column.as_deref(),
            order_type: order_type.as_deref(),
            tag: tag.as_deref(),
            filter: filter.as_deref(),
        };
        match q.merge() {
            Ok(f) => {
                if !f.is_empty() {
                    prop_assert_eq!(f.to_string().parse::<TagFilter>(), Ok(f));
                }
            }
            Err(e) => {
                prop_assert!(e.code().starts_with("SVCSTG.SWR."));
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn key_order_does_not_matter(
        (f, parts) in valid_filter().prop_flat_map(|f| {
            let parts: Vec<String> = f.to_string().split('|').map(String::from).collect();
            (Just(f), Just(parts).prop_shuffle())
        })
    ) {
        prop_assert_eq!(parts.join("|").parse::<TagFilter>(), Ok(f));
    }

    #[test]
    fn merge_of_filter_alone_equals_parse(s in any_input()) {
        let q = RawQuery { filter: Some(&s), ..RawQuery::default() };
        prop_assert_eq!(q.merge(), s.parse::<TagFilter>());
    }

    #[test]
    fn params_equivalent_to_filter(f in valid_filter()) {
        let offset = f.page.map(|p| p.offset().to_string());
        let limit = f.page.map(|p| p.limit().to_string());
        let q = RawQuery {
            offset: offset.as_deref(),
            limit: limit.as_deref(),
            order_column: f.order.map(|o| o.column.as_str()),
            order_type: f.order.map(|o| o.direction.as_str()),
            tag: f.tag.as_deref(),
            filter: None,
        };
        prop_assert_eq!(q.merge(), Ok(f.clone()));
        let s = f.to_string();
        let both = RawQuery { filter: Some(&s), ..q };
        prop_assert_eq!(both.merge(), Ok(f));
    }
}
