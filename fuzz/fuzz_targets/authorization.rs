//! AK/SK: `SignedRequest::from_request` (the `Authorization` parser, the
//! `X-Sdk-Date` parser, canonicalisation) never panics; canonicalisation is
//! idempotent.
//!
//! Input layout, `\n`-separated: Authorization, URI, X-Sdk-Date, Host,
//! X-Sdk-Content-Sha256, then the body.
#![no_main]

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;
use swr_api::server::signing::{SignedRequest, canonical_query, canonical_uri};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(6, |&b| b == b'\n');
    let mut next = || parts.next().unwrap_or_default();
    let authorization = String::from_utf8_lossy(next()).into_owned();
    let uri_bytes = next();
    let mut headers = HeaderMap::new();
    for name in ["x-sdk-date", "host", "x-sdk-content-sha256"] {
        if let Ok(v) = HeaderValue::from_bytes(next()) {
            headers.append(name, v);
        }
    }
    let body = next();

    let text = String::from_utf8_lossy(uri_bytes);
    let u = canonical_uri(&text);
    assert_eq!(canonical_uri(&u), u);
    let q = canonical_query(Some(&text));
    assert_eq!(canonical_query(Some(&q)), q);

    let uri = Uri::try_from(uri_bytes).unwrap_or_else(|_| Uri::from_static("/"));
    match SignedRequest::from_request(&Method::GET, &uri, &headers, &authorization, body) {
        Ok(r) => {
            assert!(r.signed_headers.iter().any(|h| h == "x-sdk-date"));
            let _ = r.signature_matches("secret");
            let _ = r.verify("secret", SystemTime::now());
            let _ = r.is_fresh(SystemTime::now(), Duration::from_secs(900));
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
