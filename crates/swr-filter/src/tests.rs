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

// ---------------------------------------------------------- error kinds

#[test]
fn error_malformed() {
    let e = parse_err("foo");
    assert_eq!(e, FilterError::Malformed { part: "foo".into() });
    check(
        &e,
        INVALID_FILTER,
        "filter",
        &["filter", "\"foo\"", "key::value"],
    );
    assert_eq!(
        e.to_string(),
        r#"filter: part "foo" is not of the form key::value"#
    );

    // Empty parts and the empty filter.
    for s in ["", "|", "offset::0||limit::10", "tag::v1|", "|tag::v1"] {
        let e = parse_err(s);
        assert_eq!(
            e,
            FilterError::Malformed {
                part: String::new()
            },
            "{s:?}"
        );
        check(&e, INVALID_FILTER, "filter", &["filter", "empty part"]);
    }
    // A single ':' is not a separator.
    assert_eq!(
        parse_err("tag:v1"),
        FilterError::Malformed {
            part: "tag:v1".into()
        }
    );
}

#[test]
fn error_unknown_key() {
    let e = parse_err("foo::1");
    assert_eq!(e, FilterError::UnknownKey { key: "foo".into() });
    check(&e, INVALID_FILTER, "filter", &["\"foo\""]);
    assert_eq!(
        e.to_string(),
        r#"filter: unknown key "foo"; expected one of offset, limit, order_column, order_type, tag"#
    );
    // Keys are case-sensitive and untrimmed.
    for (s, key) in [("Offset::0", "Offset"), (" tag::v1", " tag"), ("::v1", "")] {
        assert_eq!(parse_err(s), FilterError::UnknownKey { key: key.into() });
    }
}

#[test]
fn error_duplicate_key() {
    let e = parse_err("limit::10|offset::0|limit::10");
    assert_eq!(e, FilterError::DuplicateKey { key: Key::Limit });
    check(&e, INVALID_FILTER, "filter", &["\"limit\""]);
    assert_eq!(
        e.to_string(),
        r#"filter: key "limit" appears more than once"#
    );
    // Detected before the repeated value is looked at.
    assert_eq!(
        parse_err("tag::v1|tag::"),
        FilterError::DuplicateKey { key: Key::Tag }
    );
}

#[test]
fn error_empty_value() {
    let e = parse_err("offset::0|limit::");
    assert_eq!(
        e,
        FilterError::EmptyValue {
            key: Key::Limit,
            source: Source::Filter
        }
    );
    check(&e, INVALID_PARAM, "filter", &["\"limit\""]);
    assert_eq!(e.to_string(), r#"filter: key "limit" has an empty value"#);

    let e = merge_err(RawQuery {
        offset: Some("0"),
        limit: Some(""),
        ..RawQuery::default()
    });
    assert_eq!(
        e,
        FilterError::EmptyValue {
            key: Key::Limit,
            source: Source::Param
        }
    );
    check(&e, INVALID_PARAM, "limit", &["limit"]);
    assert_eq!(e.to_string(), "limit: value is empty");

    for key in Key::ALL {
        let e = parse_err(&format!("{key}::"));
        assert_eq!(
            e,
            FilterError::EmptyValue {
                key,
                source: Source::Filter
            }
        );
    }
}

#[test]
fn error_invalid_integer() {
    let e = merge_err(RawQuery {
        offset: Some("abc"),
        limit: Some("10"),
        ..RawQuery::default()
    });
    assert_eq!(
        e,
        FilterError::InvalidInteger {
            key: Key::Offset,
            value: "abc".into(),
            source: Source::Param
        }
    );
    check(&e, INVALID_PARAM, "offset", &["offset", "\"abc\""]);
    assert_eq!(
        e.to_string(),
        r#"offset: "abc" is not a base-10 integer between 0 and 9223372036854775807"#
    );

    let e = parse_err("offset::abc|limit::10");
    check(&e, INVALID_PARAM, "filter", &["\"abc\""]);
    assert_eq!(
        e.to_string(),
        r#"filter: key "offset": "abc" is not a base-10 integer between 0 and 9223372036854775807"#
    );

    let huge = "9".repeat(1000);
    for bad in [
        "-1",
        "+1",
        "1.0",
        " 1",
        "1 ",
        "1e3",
        "0x10",
        "١",
        "100000000000000000000000",
        "9223372036854775808",
        "18446744073709551616",
        &huge,
    ] {
        for key in [Key::Offset, Key::Limit] {
            let e = parse_err(&format!("{key}::{bad}"));
            assert_eq!(
                e,
                FilterError::InvalidInteger {
                    key,
                    value: bad.into(),
                    source: Source::Filter
                },
                "{key}::{bad}"
            );
        }
    }

    // Bad limits use the page-size code.
    let e = merge_err(RawQuery {
        offset: Some("0"),
        limit: Some("-1"),
        ..RawQuery::default()
    });
    check(&e, INVALID_PAGE_SIZE, "limit", &["limit", "\"-1\""]);
}

#[test]
fn error_limit_out_of_range() {
    let e = parse_err("offset::0|limit::1001");
    assert_eq!(
        e,
        FilterError::LimitOutOfRange {
            value: 1001,
            source: Source::Filter
        }
    );
    check(&e, INVALID_PAGE_SIZE, "filter", &["limit", "1001"]);

    let e = merge_err(RawQuery {
        offset: Some("0"),
        limit: Some("1001"),
        ..RawQuery::default()
    });
    check(&e, INVALID_PAGE_SIZE, "limit", &["limit", "1001"]);
    assert_eq!(e.to_string(), "limit: 1001 is outside 1..=1000");

    for (raw, value) in [
        ("0", 0),
        ("000", 0),
        ("5000000000", 5_000_000_000),
        ("9223372036854775807", MAX_OFFSET),
    ] {
        assert_eq!(
            parse_err(&format!("offset::0|limit::{raw}")),
            FilterError::LimitOutOfRange {
                value,
                source: Source::Filter
            }
        );
    }
}

#[test]
fn error_invalid_order_column() {
    let e = parse_err("order_column::size|order_type::asc");
    assert_eq!(
        e,
        FilterError::InvalidOrderColumn {
            value: "size".into(),
            source: Source::Filter
        }
    );
    check(&e, INVALID_FILTER, "filter", &["order_column", "\"size\""]);

    let e = merge_err(RawQuery {
        order_column: Some("size"),
        order_type: Some("asc"),
        ..RawQuery::default()
    });
    check(
        &e,
        INVALID_FILTER,
        "order_column",
        &["order_column", "\"size\""],
    );
    assert_eq!(
        e.to_string(),
        r#"order_column: "size" is not one of updated_at, tag"#
    );

    // Split on the first "::" only; the rest is an invalid value.
    assert_eq!(
        parse_err("order_column::tag::x"),
        FilterError::InvalidOrderColumn {
            value: "tag::x".into(),
            source: Source::Filter
        }
    );
    assert!(matches!(
        "UPDATED_AT".parse::<OrderColumn>(),
        Err(FilterError::InvalidOrderColumn { .. })
    ));
}

#[test]
fn error_invalid_order_type() {
    let e = parse_err("order_column::tag|order_type::up");
    assert_eq!(
        e,
        FilterError::InvalidOrderType {
            value: "up".into(),
            source: Source::Filter
        }
    );
    check(&e, INVALID_FILTER, "filter", &["order_type", "\"up\""]);

    let e = merge_err(RawQuery {
        order_column: Some("tag"),
        order_type: Some("up"),
        ..RawQuery::default()
    });
    check(&e, INVALID_FILTER, "order_type", &["order_type", "\"up\""]);
    assert_eq!(e.to_string(), r#"order_type: "up" is not one of desc, asc"#);
}

#[test]
fn error_invalid_tag() {
    let e = merge_err(RawQuery {
        tag: Some("a b"),
        ..RawQuery::default()
    });
    assert_eq!(
        e,
        FilterError::InvalidTag {
            value: "a b".into(),
            source: Source::Param
        }
    );
    check(&e, INVALID_TAG, "tag", &["tag", "\"a b\""]);
    assert_eq!(
        e.to_string(),
        r#"tag: "a b" is not a valid tag (1-128 of A-Z a-z 0-9 _ . -)"#
    );

    let e = parse_err("tag::a::b");
    assert_eq!(
        e,
        FilterError::InvalidTag {
            value: "a::b".into(),
            source: Source::Filter
        }
    );
    check(&e, INVALID_TAG, "filter", &["tag", "\"a::b\""]);

    let long = "a".repeat(129);
    for bad in [long.as_str(), "тег", "v1\n", "v1\0", "v/1", "v:1"] {
        assert!(
            matches!(
                parse_err(&format!("tag::{bad}")),
                FilterError::InvalidTag { .. }
            ),
            "{bad:?}"
        );
    }
    // Control characters are escaped, not echoed raw.
    assert!(parse_err("tag::v\n1").to_string().contains(r#""v\n1""#));
}

#[test]
fn error_missing_pair() {
    let cases = [
        (Key::Offset, Key::Limit, "offset::0"),
        (Key::Limit, Key::Offset, "limit::10"),
        (Key::OrderColumn, Key::OrderType, "order_column::tag"),
        (Key::OrderType, Key::OrderColumn, "order_type::asc"),
    ];
    for (present, missing, filter) in cases {
        let expected = FilterError::MissingPair { present, missing };
        let e = parse_err(filter);
        assert_eq!(e, expected);
        check(
            &e,
            MISSING_PAIR,
            missing.as_str(),
            &[present.as_str(), missing.as_str()],
        );

        // Same through merge, from either source.
        assert_eq!(
            merge_err(RawQuery {
                filter: Some(filter),
                ..RawQuery::default()
            }),
            expected
        );
        let value = filter.split_once("::").unwrap().1;
        let mut q = RawQuery::default();
        match present {
            Key::Offset => q.offset = Some(value),
            Key::Limit => q.limit = Some(value),
            Key::OrderColumn => q.order_column = Some(value),
            Key::OrderType => q.order_type = Some(value),
            Key::Tag => unreachable!(),
        }
        assert_eq!(merge_err(q), expected);
    }
    assert_eq!(
        FilterError::MissingPair {
            present: Key::Limit,
            missing: Key::Offset
        }
        .to_string(),
        "limit was sent without offset; offset and limit must be sent together"
    );
    assert_eq!(
        FilterError::MissingPair {
            present: Key::OrderColumn,
            missing: Key::OrderType
        }
        .to_string(),
        "order_column was sent without order_type; order_column and order_type must be sent together"
    );
}

#[test]
fn error_conflict() {
    let e = merge_err(RawQuery {
        tag: Some("v2"),
        filter: Some("tag::v1"),
        ..RawQuery::default()
    });
    assert_eq!(
        e,
        FilterError::Conflict {
            key: Key::Tag,
            filter_value: "v1".into(),
            param_value: "v2".into()
        }
    );
    check(&e, INVALID_FILTER, "tag", &["tag", "\"v1\"", "\"v2\""]);
    assert_eq!(
        e.to_string(),
        r#"tag: "v1" in filter conflicts with "v2" in the tag parameter"#
    );

    // Raw values are quoted even when the numbers are compared.
    let e = merge_err(RawQuery {
        offset: Some("11"),
        filter: Some("offset::010|limit::10"),
        ..RawQuery::default()
    });
    assert_eq!(
        e,
        FilterError::Conflict {
            key: Key::Offset,
            filter_value: "010".into(),
            param_value: "11".into()
        }
    );
    check(
        &e,
        INVALID_FILTER,
        "offset",
        &["offset", "\"010\"", "\"11\""],
    );

    let e = merge_err(RawQuery {
        order_column: Some("tag"),
        order_type: Some("asc"),
        filter: Some("order_column::tag|order_type::desc"),
        ..RawQuery::default()
    });
    assert_eq!(e.parameter(), "order_type");
}

// ---------------------------------------------------------------- merge

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

// ---------------------------------------------------------------- types

#[test]
fn page_new_enforces_invariant() {
    let p = Page::new(MAX_OFFSET, MAX_LIMIT).unwrap();
    assert_eq!((p.offset(), p.limit()), (MAX_OFFSET, MAX_LIMIT));
    assert_eq!(
        Page::new(0, 0),
        Err(FilterError::LimitOutOfRange {
            value: 0,
            source: Source::Param
        })
    );
    assert!(matches!(
        Page::new(0, 1001),
        Err(FilterError::LimitOutOfRange { value: 1001, .. })
    ));
    assert!(matches!(
        Page::new(MAX_OFFSET + 1, 10),
        Err(FilterError::InvalidInteger {
            key: Key::Offset,
            ..
        })
    ));
}

#[test]
fn set_tag_validates() {
    let mut f = TagFilter::default();
    f.set_tag("v1.2-rc_3").unwrap();
    assert_eq!(f.tag.as_deref(), Some("v1.2-rc_3"));
    assert!(matches!(
        f.set_tag("bad tag"),
        Err(FilterError::InvalidTag { .. })
    ));
    assert!(matches!(
        f.set_tag(""),
        Err(FilterError::EmptyValue { key: Key::Tag, .. })
    ));
    assert_eq!(f.tag.as_deref(), Some("v1.2-rc_3"), "unchanged on error");
    let f = TagFilter::default().with_tag("latest").unwrap();
    assert_eq!(f.to_string(), "tag::latest");
    assert!(is_valid_tag("latest") && !is_valid_tag("") && !is_valid_tag("a|b"));
}

#[test]
fn enums_round_trip() {
    for c in OrderColumn::ALL {
        assert_eq!(c.as_str().parse::<OrderColumn>().unwrap(), c);
        assert_eq!(c.to_string(), c.as_str());
        assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        assert_eq!(
            serde_json::from_str::<OrderColumn>(&format!("\"{c}\"")).unwrap(),
            c
        );
    }
    for t in OrderType::ALL {
        assert_eq!(t.as_str().parse::<OrderType>().unwrap(), t);
        assert_eq!(t.to_string(), t.as_str());
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
        assert_eq!(
            serde_json::from_str::<OrderType>(&format!("\"{t}\"")).unwrap(),
            t
        );
    }
    assert_eq!(OrderColumn::default(), OrderColumn::UpdatedAt);
    assert_eq!(OrderType::default(), OrderType::Desc);
    assert_eq!(
        "".parse::<OrderType>(),
        Err(FilterError::EmptyValue {
            key: Key::OrderType,
            source: Source::Param
        })
    );
    let names: Vec<_> = Key::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(
        names,
        ["offset", "limit", "order_column", "order_type", "tag"]
    );
    for k in Key::ALL {
        assert_eq!(Key::from_name(k.as_str()), Some(k));
    }
}

// ----------------------------------------------------------- serde/schema

#[test]
fn serde_round_trip_as_string() {
    let f: TagFilter = serde_json::from_str(r#""offset::0|limit::10""#).unwrap();
    assert_eq!(f.page, page(0, 10));
    assert_eq!(
        serde_json::to_string(&f).unwrap(),
        r#""offset::0|limit::10""#
    );

    let e = serde_json::from_str::<TagFilter>(r#""limit::10""#).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("limit was sent without offset; offset and limit must be sent together"),
        "{e}"
    );
    assert!(serde_json::from_str::<TagFilter>("10").is_err());
}

#[test]
fn schemas() {
    let schema = serde_json::to_value(schemars::schema_for!(TagFilter)).unwrap();
    assert_eq!(schema["type"], "string");
    assert_eq!(schema["pattern"], PATTERN);
    assert_eq!(schema["title"], "TagFilter");
    assert_eq!(
        schema["examples"],
        serde_json::json!([
            SEED,
            "offset::0|limit::100",
            "order_column::tag|order_type::asc",
            "tag::v1"
        ])
    );

    let mut generator = schemars::SchemaGenerator::default();
    let column = serde_json::to_value(<OrderColumn as schemars::JsonSchema>::json_schema(
        &mut generator,
    ))
    .unwrap();
    assert_eq!(
        column,
        serde_json::json!({"type": "string", "enum": ["updated_at", "tag"]})
    );
    let direction = serde_json::to_value(<OrderType as schemars::JsonSchema>::json_schema(
        &mut generator,
    ))
    .unwrap();
    assert_eq!(
        direction,
        serde_json::json!({"type": "string", "enum": ["desc", "asc"]})
    );
}

#[test]
fn source_and_error_traits() {
    assert_eq!(Source::Filter.to_string(), "filter");
    assert_eq!(Source::Param.as_str(), "param");
    let e: Box<dyn std::error::Error> = Box::new(parse_err("x"));
    assert!(e.source().is_none());
}
