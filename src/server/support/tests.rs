use super::*;

const CODE: &str = "SVCSTG.SWR.4000014";

fn int(raw: &str) -> Result<u32, Rejection> {
    parse_int::<u32>("limit", raw, 1, 1000, Location::Query, CODE)
}

#[test]
fn integers_are_ascii_digits_in_range() {
    assert_eq!(int("10").unwrap(), 10);
    assert_eq!(int("0010").unwrap(), 10);
    for bad in ["+1", "-1", "1.0", " 1", "1 ", "", "abc", "1e3", "١"] {
        let e = int(bad).unwrap_err();
        assert!(e.message.starts_with("limit: "), "{bad}: {}", e.message);
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        int("0").unwrap_err().message,
        "limit: 0 is outside 1..=1000"
    );
    assert_eq!(
        int("1001").unwrap_err().message,
        "limit: 1001 is outside 1..=1000"
    );
    let huge = "1".repeat(60);
    assert!(
        int(&huge)
            .unwrap_err()
            .message
            .contains("is outside 1..=1000")
    );
    let neg = parse_int::<i64>("n", "-5", -10, 10, Location::Query, CODE);
    assert_eq!(neg.unwrap(), -5);
}

#[test]
fn media_types_compare_loosely() {
    let allowed = ["application/json", "application/json;charset=utf-8"];
    let ok = |raw| check_media_type("Content-Type", raw, &allowed, Location::Header, CODE);
    assert_eq!(ok("Application/JSON").unwrap(), "application/json");
    assert_eq!(
        ok("application/json ; charset=UTF-8").unwrap(),
        "application/json;charset=utf-8"
    );
    assert!(ok("text/plain").is_err());
    assert!(ok("application/jsonx").is_err());
}

#[test]
fn repeated_query_params_are_rejected() {
    let declared = [("limit", "C1"), ("offset", "C2")];
    let e = Params::from_query(Some("limit=1&x=1&x=2&limit=2"), &declared).unwrap_err();
    assert_eq!(e.code, "C1");
    assert_eq!(e.message, "limit: sent 2 times; send it at most once");
    let p = Params::from_query(Some("offset=%31&unknown=1"), &declared).unwrap();
    assert_eq!(p.get("offset"), Some("1"));
    assert_eq!(p.get("unknown"), None);
}

#[test]
fn request_ids_are_echoed_or_generated() {
    let mut h = HeaderMap::new();
    h.insert("x-request-id", HeaderValue::from_static("abc-123"));
    assert_eq!(request_id(&h), "abc-123");
    h.insert("x-request-id", HeaderValue::from_static("has space"));
    let generated = request_id(&h);
    assert_eq!(generated.len(), 36);
    assert_eq!(&generated[14..15], "4");
    h.insert(
        "x-request-id",
        HeaderValue::from_str(&"a".repeat(129)).unwrap(),
    );
    assert_eq!(request_id(&h).len(), 36);
}

#[test]
fn rejection_body_has_both_shapes() {
    let r = Rejection::bad_request(CODE, Location::Query, "limit", "limit: bad");
    assert_eq!(
        r.body_json(),
        serde_json::json!({
            "error_code": CODE, "error_msg": "limit: bad",
            "errors": [{"errorCode": CODE, "errorMessage": "limit: bad",
                        "detail": "invalid query parameter limit"}]
        })
    );
}

#[test]
fn quoting_cuts_long_values() {
    assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    assert!(quote(&"x".repeat(500)).ends_with('…'));
}
