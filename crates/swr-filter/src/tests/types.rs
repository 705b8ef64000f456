//! The value types' invariants, serde and JSON schema, error traits.

use super::*;

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
