//! Property tests for the hand-written parsers (issue "Prove it", item 2): the
//! `Content-Range` header, and the AK/SK `Authorization` header with the
//! request canonicalisation it signs. No input panics; round trips hold.
//! The `fuzz/` crate drives the same parsers with libFuzzer.

use std::sync::LazyLock;

use proptest::prelude::*;
use regex::Regex;
use swr_api::ContentRange;

/// Cases per property: enough to cover the strategies, quick enough for CI.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1024,
        ..ProptestConfig::default()
    }
}

static PATTERN_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(ContentRange::PATTERN).unwrap());

/// Numbers that stress the arithmetic: small, and around `u64::MAX`.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..100u64,
        2 => any::<u64>(),
        1 => (u64::MAX - 3)..=u64::MAX,
        1 => Just(u64::MAX),
        2 => Just(0u64),
    ]
}

/// A `Content-Range` that satisfies the strict rule.
fn consistent_range() -> impl Strategy<Value = ContentRange> {
    (number(), number(), number())
        .prop_map(|(offset, count, total)| {
            let count = if offset.checked_add(count).is_some_and(|e| e <= total) {
                count
            } else if total >= offset {
                count % (total - offset).saturating_add(1)
            } else {
                0
            };
            ContentRange {
                offset,
                count,
                total,
            }
        })
        .prop_filter("consistent", |r| {
            r.count == 0 || r.offset.checked_add(r.count).is_some_and(|e| e <= r.total)
        })
}

/// Digit strings: plain numbers, leading zeros, overflowing ones, junk.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => number().prop_map(|n| n.to_string()),
        1 => "0{1,3}[0-9]{1,3}",
        1 => Just("18446744073709551616".to_owned()),
        1 => "[0-9]{19,25}",
        1 => "[+-]?[0-9]{0,3}",
        1 => "[ a-z0-9+-]{0,4}",
    ]
}

/// Strings near the header's shape (`[unit ]a-b/c`) plus arbitrary text.
fn range_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (prop::option::of(Just("items ")), number(), number(), number())
            .prop_map(|(unit, a, b, c)| format!("{}{a}-{b}/{c}", unit.unwrap_or_default())),
        3 => (
            prop::option::of(prop_oneof![Just("items".to_owned()), "[a-z ]{0,6}"]),
            number_text(),
            prop_oneof![Just("-"), Just("/"), Just("--"), Just("")],
            number_text(),
            prop_oneof![Just("/"), Just("-"), Just("")],
            number_text(),
            "[ \t]{0,2}",
        )
            .prop_map(|(unit, a, s1, b, s2, c, ws)| {
                let unit = unit.map(|u| format!("{u} ")).unwrap_or_default();
                format!("{ws}{unit}{a}{s1}{b}{s2}{c}{ws}")
            }),
        1 => any::<String>(),
        1 => "[0-9/ -]{0,24}",
    ]
}

proptest! {
    #![proptest_config(config())]

    /// `Display` then strict `FromStr` gives the value back, and lenient
    /// parsing reads the same value.
    #[test]
    fn content_range_display_parse_identity(r in consistent_range()) {
        let s = r.to_string();
        prop_assert!(PATTERN_RE.is_match(&s), "{s:?} does not match PATTERN");
        prop_assert_eq!(s.parse::<ContentRange>(), Ok(r));
        prop_assert_eq!(ContentRange::parse_lenient(&s), Ok(r));
    }

    /// Neither parser panics. Whatever strict accepts matches `PATTERN`, is
    /// consistent, prints canonically and reparses; lenient accepts it too
    /// with the same offset and total (and count). Whatever lenient returns
    /// is itself consistent, so it prints as a strictly valid header.
    #[test]
    fn content_range_parsers_never_panic_and_agree(s in range_text()) {
        let strict = s.parse::<ContentRange>();
        let lenient = ContentRange::parse_lenient(&s);
        if let Ok(r) = strict {
            prop_assert!(PATTERN_RE.is_match(&s), "strict accepted {s:?}");
            prop_assert!(r.count == 0 || r.offset.checked_add(r.count).is_some_and(|e| e <= r.total));
            prop_assert_eq!(r.to_string().parse::<ContentRange>(), Ok(r));
            let l = lenient.clone();
            prop_assert!(l.is_ok(), "lenient rejected {s:?}, which strict accepts");
            let l = l.unwrap();
            prop_assert_eq!((l.offset, l.total), (r.offset, r.total));
            prop_assert_eq!(l.count, r.count);
        }
        match lenient {
            Ok(l) => {
                prop_assert!(l.count == 0 || l.offset.checked_add(l.count).is_some_and(|e| e <= l.total), "{s:?} -> {l:?}");
                prop_assert_eq!(l.to_string().parse::<ContentRange>(), Ok(l));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn content_range_lenient_huge_middle() {
    // Found by the properties above: `d + 1` overflowed (a panic in debug).
    for s in ["0-18446744073709551615/5", "items 0-18446744073709551615/5"] {
        let r = ContentRange::parse_lenient(s).unwrap();
        assert_eq!((r.offset, r.count, r.total), (0, 5, 5), "{s}");
    }
}

#[cfg(all(feature = "client", feature = "server"))]
mod signing {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
    use proptest::prelude::*;
    use swr_api::client::{AkSk, sign};
    use swr_api::server::signing::{SignedRequest, canonical_query, canonical_uri};

    use super::config;

    const SIG: &str = "5d74b004323da3520317a56546f0aedf4f3a3629f347f394d15b8b533dde28a6";

    /// Printable text, with the URL and header delimiters over-represented.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-zA-Z0-9_.~-]{0,12}",
            3 => r"[ -~]{0,12}",
            2 => "[%+&=;,/?#$| a-f0-9]{0,12}",
            1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
        ]
    }

    /// A header value `HeaderValue::from_str` takes (visible ASCII, space, tab).
    fn header_text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-zA-Z0-9_.-]{1,16}",
            2 => "[ -~\t]{1,16}",
        ]
    }

    fn arbitrary_authorization() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            Just("Access=AK".to_owned()),
            Just("SignedHeaders=host;x-sdk-date".to_owned()),
            Just(format!("Signature={SIG}")),
            Just(format!("Signature={}", SIG.to_uppercase())),
            "(Access|SignedHeaders|Signature|Foo)?=?[ -~]{0,10}",
            "SignedHeaders=[a-z;_-]{0,12}",
            any::<String>().prop_map(|s| s.chars().take(8).collect()),
        ];
        prop_oneof![
            4 => (
                prop_oneof![Just("SDK-HMAC-SHA256 "), Just("SDK-HMAC-SHA256"), Just("sdk-hmac-sha256 "), Just("")],
                prop::collection::vec(part, 0..5),
                prop_oneof![Just(","), Just(", "), Just(" ,"), Just(";")],
            )
                .prop_map(|(scheme, parts, sep)| format!("{scheme}{}", parts.join(sep))),
            1 => any::<String>(),
        ]
    }

    /// Arbitrary bytes as a header value, if `http` takes them.
    fn raw_header_value() -> impl Strategy<Value = Option<HeaderValue>> {
        prop_oneof![
            2 => "[0-9]{8}T[0-9]{6}Z".prop_map(|s| HeaderValue::from_str(&s).ok()),
            1 => prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| HeaderValue::from_bytes(&b).ok()),
        ]
    }

    fn arbitrary_uri() -> impl Strategy<Value = Uri> {
        prop_oneof![
            3 => (text(), prop::option::of(text())).prop_map(|(p, q)| {
                let q = q.map(|q| format!("?{q}")).unwrap_or_default();
                format!("/{p}{q}")
            }),
            1 => any::<String>(),
        ]
        .prop_filter_map("a URI http accepts", |s| s.parse::<Uri>().ok())
    }

    /// Path segments for the signed request (the URL parser encodes them).
    fn path() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(text(), 0..5)
    }

    fn query_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec((text(), text()), 0..6)
    }

    fn encode_query(pairs: &[(String, String)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| {
                let k: String = form_urlencoded::byte_serialize(k.as_bytes()).collect();
                let v: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A time with a 4-digit year, as `X-Sdk-Date` needs.
    fn time() -> impl Strategy<Value = SystemTime> {
        (0..253_402_300_800u64).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s))
    }

    struct Signed {
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        authorization: String,
        body: Vec<u8>,
    }

    /// Signs a request with the client's signer and returns it as the server
    /// would receive it (origin-form URI, `Host` header as hyper writes it).
    fn signed_request(
        method: &str,
        segments: &[String],
        query: Option<&str>,
        key: &AkSk,
        at: SystemTime,
        body: &[u8],
    ) -> Signed {
        let mut url = reqwest::Url::parse("http://swr.example.invalid:8080/").unwrap();
        url.path_segments_mut().unwrap().clear().extend(segments);
        url.set_query(query);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = reqwest::Request::new(method, url);
        if !body.is_empty() {
            *request.body_mut() = Some(body.to_vec().into());
        }
        sign(&mut request, key, at).expect("valid keys and headers sign");
        let url = request.url();
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let uri: Uri = target
            .parse()
            .expect("hyper sends the URL's path and query");
        let mut headers = request.headers().clone();
        headers.insert("host", HeaderValue::from_static("swr.example.invalid:8080"));
        let authorization = headers["authorization"].to_str().unwrap().to_owned();
        Signed {
            method: Method::from_bytes(request.method().as_str().as_bytes()).unwrap(),
            uri,
            headers,
            authorization,
            body: body.to_vec(),
        }
    }

    fn from_request(s: &Signed, uri: &Uri) -> SignedRequest {
        SignedRequest::from_request(&s.method, uri, &s.headers, &s.authorization, &s.body)
            .expect("a signed request parses")
    }

    proptest! {
        #![proptest_config(config())]

        /// The `Authorization` parser and canonicalisation never panic, on
        /// arbitrary headers, URIs, header values and bodies; errors say
        /// something.
        #[test]
        fn from_request_never_panics(
            auth in arbitrary_authorization(),
            uri in arbitrary_uri(),
            date in raw_header_value(),
            host in raw_header_value(),
            extra in raw_header_value(),
            body in prop::collection::vec(any::<u8>(), 0..16),
        ) {
            let mut headers = HeaderMap::new();
            if let Some(v) = date {
                headers.insert("x-sdk-date", v);
            }
            if let Some(v) = host {
                headers.insert("host", v);
            }
            if let Some(v) = extra {
                headers.append("x-sdk-date", v.clone());
                headers.insert(HeaderName::from_static("x-sdk-content-sha256"), v);
            }
            match SignedRequest::from_request(&Method::GET, &uri, &headers, &auth, &body) {
                Ok(r) => {
                    prop_assert!(r.signed_headers.iter().any(|h| h == "x-sdk-date"));
                    prop_assert_eq!(r.signature.len(), 64);
                    prop_assert!(r.canonical_uri.ends_with('/'));
                    let _ = r.signature_matches("sk");
                    let _ = r.is_fresh(SystemTime::now(), Duration::from_secs(900));
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        /// A well-formed header parses into exactly its parts.
        #[test]
        fn well_formed_authorization_parses(
            ak in "[A-Za-z0-9]{1,20}",
            mut names in prop::collection::vec("[a-z0-9_-]{1,12}", 0..4),
            sig in "[0-9a-fA-F]{64}",
        ) {
            names.push("x-sdk-date".to_owned());
            let auth = format!("SDK-HMAC-SHA256 Access={ak}, SignedHeaders={}, Signature={sig}", names.join(";"));
            let mut headers = HeaderMap::new();
            for n in &names {
                headers.insert(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_static("v"));
            }
            headers.insert("x-sdk-date", HeaderValue::from_static("20240101T000000Z"));
            let r = SignedRequest::from_request(&Method::GET, &Uri::from_static("/"), &headers, &auth, b"").unwrap();
            prop_assert_eq!(r.access_key, ak);
            prop_assert_eq!(r.signed_headers, names);
            prop_assert_eq!(r.signature, sig.to_ascii_lowercase());
        }

        /// `canonical_uri` and `canonical_query` never panic, are idempotent,
        /// and their output is made of unreserved characters and `%XX` only.
        #[test]
        fn canonicalisation_is_idempotent(path in any::<String>(), query in prop_oneof![text(), any::<String>()]) {
            let u = canonical_uri(&path);
            prop_assert!(u.ends_with('/'));
            prop_assert_eq!(canonical_uri(&u), u.clone());
            let q = canonical_query(Some(&query));
            prop_assert_eq!(canonical_query(Some(&q)), q.clone());
            let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.~%&=/".contains(c);
            prop_assert!(u.chars().all(allowed), "{u:?}");
            prop_assert!(q.chars().all(allowed), "{q:?}");
        }

        /// `canonical_query` does not depend on the order of the parameters.
        #[test]
        fn canonical_query_ignores_order(
            (pairs, shuffled) in query_pairs().prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
        ) {
            prop_assert_eq!(
                canonical_query(Some(&encode_query(&pairs))),
                canonical_query(Some(&encode_query(&shuffled)))
            );
        }

        /// What the client's signer signs, the server's verifier accepts with
        /// the same secret key, and with no other; a changed query or path
        /// fails. The date round-trips through `X-Sdk-Date`.
        #[test]
        fn sign_then_verify(
            method in prop_oneof![Just("GET"), Just("POST"), Just("DELETE")],
            segments in path(),
            pairs in query_pairs(),
            raw_query in prop::option::of(text()),
            ak in "[A-Za-z0-9]{1,20}",
            sk in any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
            other_sk in any::<String>(),
            project in prop::option::of(header_text()),
            token in prop::option::of(header_text()),
            at in time(),
            body in prop::collection::vec(any::<u8>(), 0..32),
            encoded in any::<bool>(),
        ) {
            let query = if encoded { Some(encode_query(&pairs)) } else { raw_query };
            let key = AkSk {
                project_id: project,
                security_token: token.clone(),
                ..AkSk::new(ak.clone(), sk.clone())
            };
            let s = signed_request(method, &segments, query.as_deref(), &key, at, &body);
            let r = from_request(&s, &s.uri);
            prop_assert_eq!(&r.access_key, &ak);
            prop_assert_eq!(r.security_token.as_deref(), token.as_deref());
            prop_assert!(r.signature_matches(&sk), "canonical request:\n{}", r.canonical_request());
            let secs = at.duration_since(UNIX_EPOCH).unwrap().as_secs();
            prop_assert_eq!(r.date(), UNIX_EPOCH + Duration::from_secs(secs));
            if other_sk != sk {
                prop_assert!(!r.signature_matches(&other_sk));
            }

            // One more parameter changes the canonical query.
            let mutated = match s.uri.query() {
                Some(q) => format!("{}?{q}&mutated=1", s.uri.path()),
                None => format!("{}?mutated=1", s.uri.path()),
            };
            let m = from_request(&s, &mutated.parse().unwrap());
            prop_assert!(!m.signature_matches(&sk));
            // So does one more path segment.
            let longer = format!("{}x/", r.canonical_uri);
            let m = from_request(&s, &longer.parse().unwrap());
            prop_assert!(!m.signature_matches(&sk));
        }

        /// A changed value of one parameter fails verification.
        #[test]
        fn mutated_query_value_fails(
            pairs in query_pairs().prop_filter("some pair", |p| !p.is_empty()),
            index in any::<prop::sample::Index>(),
            extra in "[a-zA-Z0-9]{1,4}",
            sk in "[ -~]{1,20}",
        ) {
            let key = AkSk::new("AK", sk.clone());
            let query = encode_query(&pairs);
            let s = signed_request("GET", &["tags".to_owned()], Some(&query), &key, UNIX_EPOCH, b"");
            prop_assert!(from_request(&s, &s.uri).signature_matches(&sk));
            let mut changed = pairs.clone();
            let i = index.index(changed.len());
            changed[i].1.push_str(&extra);
            let uri: Uri = format!("{}?{}", s.uri.path(), encode_query(&changed)).parse().unwrap();
            prop_assert!(!from_request(&s, &uri).signature_matches(&sk));
        }
    }
}
