//! Every `FilterError` kind: its code, the parameter it names, its message.

use super::*;

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
