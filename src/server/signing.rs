//! Server side of Huawei's AK/SK request signing, `SDK-HMAC-SHA256`, as the
//! official SDKs and the API gateway do it.
//!
//! The router only *extracts* a signature: [`SignedRequest::from_request`]
//! parses `Authorization`, canonicalises the request as received and keeps
//! everything [`SignedRequest::verify`] needs, so the implementation can look
//! the access key up in its store and check the signature (and
//! [`SignedRequest::is_fresh`] for the 15-minute clock skew) without touching
//! HTTP.
//!
//! The algorithm:
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
//!                    CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(key = SK, StringToSign))
//! Authorization: SDK-HMAC-SHA256 Access={AK}, SignedHeaders={h1;h2}, Signature={hex}
//! ```
//!
//! - CanonicalURI: the path split on `/`, each segment percent-decoded then
//!   re-encoded leaving only `A-Z a-z 0-9 - _ . ~`, with a trailing `/`.
//! - CanonicalQuery: `key=value` pairs, decoded then re-encoded the same way,
//!   sorted by key (then value), joined with `&`.
//! - CanonicalHeaders: `name:trimmed value\n` for each signed header, in the
//!   order of `SignedHeaders` (lowercase names). `host` falls back to the URI
//!   authority (HTTP/2 has no `Host` header).
//! - Body hash: `UNSIGNED-PAYLOAD` when `X-Sdk-Content-Sha256` says so.
//!
//! `SignedHeaders` must include `x-sdk-date`, or the date (and so the replay
//! window) would not be covered by the signature.

use std::fmt;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, Method, Uri};
#[cfg(test)]
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

// Canonicalisation is shared with the client's signer, so the two agree.
pub use crate::signing_core::{ALGORITHM, canonical_query, canonical_uri};
use crate::signing_core::{sha256_hex, signature};

/// How far `X-Sdk-Date` may be from the server's clock, either way: 15
/// minutes, as Huawei's API gateway allows. [`SignedRequest::verify`]
/// applies it.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// The date header, `YYYYMMDDTHHMMSSZ` (UTC).
pub const DATE_HEADER: &str = "x-sdk-date";

/// The body-hash override header (`UNSIGNED-PAYLOAD`).
pub const CONTENT_SHA256_HEADER: &str = "x-sdk-content-sha256";

/// The temporary-credential token header sent with STS AK/SK pairs.
pub const SECURITY_TOKEN_HEADER: &str = "x-security-token";

/// The value of `X-Sdk-Content-Sha256` that leaves the body out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Why an `Authorization` header cannot be checked. `Display` says what is
/// wrong in terms a client can fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningError {
    /// Not `SDK-HMAC-SHA256 …`.
    Scheme,
    /// A part that is not `Key=value`, an unknown key, or a key twice.
    Malformed(String),
    /// `Access`, `SignedHeaders` or `Signature` is absent or empty.
    Missing(&'static str),
    /// `Signature` is not 64 hex digits.
    BadSignature,
    /// `SignedHeaders` lacks `x-sdk-date`, or holds a bad name.
    SignedHeaders(String),
    /// A signed header is not in the request.
    MissingHeader(String),
    /// `X-Sdk-Date` is not `YYYYMMDDTHHMMSSZ`.
    BadDate(String),
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigningError::Scheme => write!(
                f,
                "expected `{ALGORITHM} Access=…, SignedHeaders=…, Signature=…`"
            ),
            SigningError::Malformed(part) => write!(f, "malformed part {part:?}"),
            SigningError::Missing(key) => write!(f, "{key}= is missing or empty"),
            SigningError::BadSignature => f.write_str("Signature is not 64 hex digits"),
            SigningError::SignedHeaders(why) => write!(f, "SignedHeaders {why}"),
            SigningError::MissingHeader(name) => {
                write!(f, "signed header {name} is not in the request")
            }
            SigningError::BadDate(value) => write!(
                f,
                "X-Sdk-Date {value:?} is not a UTC time of the form YYYYMMDDTHHMMSSZ"
            ),
        }
    }
}

impl std::error::Error for SigningError {}

/// Why [`SignedRequest::verify`] refused a request (for logs: the client gets
/// one message for every case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// `X-Sdk-Date` is more than [`MAX_CLOCK_SKEW`] from the server's clock.
    Stale,
    /// The signature is not the one the secret key gives.
    Signature,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyError::Stale => "X-Sdk-Date is more than 15 minutes from the server's clock",
            VerifyError::Signature => "the signature does not match the request",
        })
    }
}

impl std::error::Error for VerifyError {}

/// A request signed with `SDK-HMAC-SHA256`, canonicalised as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// `Access=`: the AK, to look the SK up with.
    pub access_key: String,
    /// `SignedHeaders=`, split on `;` (lowercase, in the client's order).
    pub signed_headers: Vec<String>,
    /// `Signature=`, lowercase hex.
    pub signature: String,
    /// `X-Sdk-Date` as sent.
    pub sdk_date: String,
    /// `X-Security-Token`, sent with temporary (STS) credentials.
    pub security_token: Option<String>,
    /// The request method, e.g. `GET`.
    pub method: String,
    /// The canonical URI (ends with `/`).
    pub canonical_uri: String,
    /// The canonical query string.
    pub canonical_query: String,
    /// `name:value\n` for each signed header.
    pub canonical_headers: String,
    /// Lowercase hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub body_sha256: String,
    date: SystemTime,
}

impl SignedRequest {
    /// Parses `authorization` and canonicalises the request. `uri` should be
    /// the URI as sent by the client (before any router prefix stripping).
    pub fn from_request(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        authorization: &str,
        body: &[u8],
    ) -> Result<Self, SigningError> {
        let auth = parse_authorization(authorization)?;
        let sdk_date = header_value(headers, DATE_HEADER)
            .ok_or_else(|| SigningError::MissingHeader(DATE_HEADER.to_owned()))?;
        let date =
            parse_sdk_date(&sdk_date).ok_or_else(|| SigningError::BadDate(sdk_date.clone()))?;
        let mut canonical_headers = String::new();
        for name in &auth.signed_headers {
            let value = header_value(headers, name)
                .or_else(|| {
                    (name == "host")
                        .then(|| uri.authority().map(|a| a.as_str().to_owned()))
                        .flatten()
                })
                .ok_or_else(|| SigningError::MissingHeader(name.clone()))?;
            canonical_headers.push_str(name);
            canonical_headers.push(':');
            canonical_headers.push_str(value.trim());
            canonical_headers.push('\n');
        }
        let body_sha256 = match header_value(headers, CONTENT_SHA256_HEADER) {
            Some(v) if v == UNSIGNED_PAYLOAD => v,
            _ => sha256_hex(body),
        };
        Ok(Self {
            access_key: auth.access_key,
            signed_headers: auth.signed_headers,
            signature: auth.signature,
            sdk_date,
            security_token: header_value(headers, SECURITY_TOKEN_HEADER),
            method: method.as_str().to_owned(),
            canonical_uri: canonical_uri(uri.path()),
            canonical_query: canonical_query(uri.query()),
            canonical_headers,
            body_sha256,
            date,
        })
    }

    /// The canonical request text that was hashed.
    pub fn canonical_request(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.method,
            self.canonical_uri,
            self.canonical_query,
            self.canonical_headers,
            self.signed_headers.join(";"),
            self.body_sha256
        )
    }

    /// `SDK-HMAC-SHA256\n{X-Sdk-Date}\n{hex(sha256(CanonicalRequest))}`.
    pub fn string_to_sign(&self) -> String {
        crate::signing_core::string_to_sign(&self.sdk_date, &self.canonical_request())
    }

    /// The signature `secret_key` gives, lowercase hex.
    pub fn expected_signature(&self, secret_key: &str) -> String {
        signature(secret_key, &self.string_to_sign())
    }

    /// The whole AK/SK check in one call: the request was signed with
    /// `secret_key` (constant-time comparison) **and** its `X-Sdk-Date` is
    /// within [`MAX_CLOCK_SKEW`] of `now` (so a captured request cannot be
    /// replayed later). Answer every failure, and an unknown access key,
    /// with the same 401 ([`Rejection::bad_signature`]).
    ///
    /// [`Rejection::bad_signature`]: crate::server::support::Rejection::bad_signature
    pub fn verify(&self, secret_key: &str, now: SystemTime) -> Result<(), VerifyError> {
        if !self.is_fresh(now, MAX_CLOCK_SKEW) {
            return Err(VerifyError::Stale);
        }
        if !self.signature_matches(secret_key) {
            return Err(VerifyError::Signature);
        }
        Ok(())
    }

    /// Only the signature half of [`verify`](Self::verify): whether the
    /// request was signed with `secret_key`, whatever its date.
    pub fn signature_matches(&self, secret_key: &str) -> bool {
        let expected = self.expected_signature(secret_key);
        expected.as_bytes().ct_eq(self.signature.as_bytes()).into()
    }

    /// `X-Sdk-Date` as a time.
    pub fn date(&self) -> SystemTime {
        self.date
    }

    /// Whether `X-Sdk-Date` is within `max_skew` of `now`, either way (the
    /// gateway allows 15 minutes).
    pub fn is_fresh(&self, now: SystemTime, max_skew: Duration) -> bool {
        let skew = match now.duration_since(self.date) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        skew <= max_skew
    }
}

struct Authorization {
    access_key: String,
    signed_headers: Vec<String>,
    signature: String,
}

/// `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
fn parse_authorization(value: &str) -> Result<Authorization, SigningError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(SigningError::Scheme)?;
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        let (key, val) = part
            .split_once('=')
            .ok_or_else(|| SigningError::Malformed(part.to_owned()))?;
        let slot = match key {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(SigningError::Malformed(part.to_owned())),
        };
        if slot.replace(val).is_some() {
            return Err(SigningError::Malformed(part.to_owned()));
        }
    }
    let access_key = nonempty(access, "Access")?.to_owned();
    let signed = nonempty(signed, "SignedHeaders")?;
    let signature = nonempty(signature, "Signature")?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SigningError::BadSignature);
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
    if let Some(bad) = signed_headers.iter().find(|h| {
        h.is_empty()
            || !h
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    }) {
        return Err(SigningError::SignedHeaders(format!(
            "holds {bad:?}, not a lowercase header name"
        )));
    }
    if !signed_headers.iter().any(|h| h == DATE_HEADER) {
        return Err(SigningError::SignedHeaders(format!(
            "must include {DATE_HEADER}"
        )));
    }
    Ok(Authorization {
        access_key,
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

/// All values of `name`, joined with `,`; `None` if absent or not visible ASCII.
fn nonempty<'a>(value: Option<&'a str>, key: &'static str) -> Result<&'a str, SigningError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(SigningError::Missing(key))
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Option<Vec<&str>> = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().ok())
        .collect();
    values.filter(|v| !v.is_empty()).map(|v| v.join(","))
}

use crate::time::parse_sdk_date;

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use axum::http::HeaderValue;

    /// The fact sheet's test vector (§7), made with the official Python signer.
    const AUTH: &str = "SDK-HMAC-SHA256 Access=FAKEAK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=5d74b004323da3520317a56546f0aedf4f3a3629f347f394d15b8b533dde28a6";

    const CANONICAL: &str = "GET
/v2/manage/namespaces/myns/repos/myrepo/tags/
limit=10&offset=0&order_column=updated_at&order_type=desc&tag=v1
content-type:application/json
host:swr-api.cn-north-4.myhuaweicloud.com
x-project-id:fakeprojectid
x-sdk-date:20240101T000000Z

content-type;host;x-project-id;x-sdk-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn vector(auth: &str, query: &str) -> Result<SignedRequest, SigningError> {
        let uri: Uri = format!("/v2/manage/namespaces/myns/repos/myrepo/tags?{query}")
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("content-type", "application/json"),
            ("host", "swr-api.cn-north-4.myhuaweicloud.com"),
            ("x-project-id", "fakeprojectid"),
            ("x-sdk-date", "20240101T000000Z"),
            ("user-agent", "not signed"),
        ] {
            headers.insert(k, HeaderValue::from_static(v));
        }
        SignedRequest::from_request(&Method::GET, &uri, &headers, auth, b"")
    }

    const QUERY: &str = "limit=10&offset=0&order_column=updated_at&order_type=desc&tag=v1";

    #[test]
    fn fact_sheet_vector_verifies() {
        let signed = vector(AUTH, QUERY).unwrap();
        assert_eq!(signed.access_key, "FAKEAK");
        assert_eq!(signed.canonical_request(), CANONICAL);
        assert_eq!(
            hex::encode(Sha256::digest(signed.canonical_request().as_bytes())),
            "eefd72127078c673ea08d382d2c3997c0f8c1803165ae0e86282fd7b54b98a3e"
        );
        assert_eq!(
            signed.string_to_sign(),
            "SDK-HMAC-SHA256\n20240101T000000Z\neefd72127078c673ea08d382d2c3997c0f8c1803165ae0e86282fd7b54b98a3e"
        );
        assert!(signed.signature_matches("FAKESK"));
        assert!(!signed.signature_matches("FAKESK2"));
        assert!(!signed.signature_matches(""));
    }

    #[test]
    fn query_order_and_encoding_do_not_matter() {
        // The same pairs in another order, with a needlessly encoded value.
        let signed = vector(
            AUTH,
            "tag=v%31&order_type=desc&order_column=updated_at&offset=0&limit=10",
        )
        .unwrap();
        assert!(signed.signature_matches("FAKESK"));
        // A changed value does.
        let signed = vector(
            AUTH,
            "limit=11&offset=0&order_column=updated_at&order_type=desc&tag=v1",
        )
        .unwrap();
        assert!(!signed.signature_matches("FAKESK"));
    }

    #[test]
    fn freshness_uses_the_sdk_date() {
        let signed = vector(AUTH, QUERY).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_704_067_200); // 2024-01-01T00:00:00Z
        assert_eq!(signed.date(), at);
        let skew = Duration::from_secs(15 * 60);
        assert!(signed.is_fresh(at + skew, skew));
        assert!(signed.is_fresh(at - skew, skew));
        assert!(!signed.is_fresh(at + skew + Duration::from_secs(1), skew));
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let cases = [
            ("Bearer abc", "expected `SDK-HMAC-SHA256"),
            (
                "SDK-HMAC-SHA256 Access=AK, Signature=00",
                "SignedHeaders= is missing",
            ),
            (
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=zz",
                "not 64 hex",
            ),
            (
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=5d74b004323da3520317a56546f0aedf4f3a3629f347f394d15b8b533dde28a6",
                "must include x-sdk-date",
            ),
            (
                "SDK-HMAC-SHA256 Access=AK, Foo=1",
                "malformed part \"Foo=1\"",
            ),
            (
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;x-missing, Signature=5d74b004323da3520317a56546f0aedf4f3a3629f347f394d15b8b533dde28a6",
                "signed header x-missing",
            ),
        ];
        for (auth, want) in cases {
            let err = vector(auth, QUERY).unwrap_err().to_string();
            assert!(err.contains(want), "{auth}: {err}");
        }
    }

    #[test]
    fn canonical_uri_reencodes_segments() {
        assert_eq!(canonical_uri("/a/b%24c/d$e"), "/a/b%24c/d%24e/");
        assert_eq!(canonical_uri("/a/"), "/a/");
        assert_eq!(canonical_query(Some("b=2&a=x%7Cy&a=1")), "a=1&a=x%7Cy&b=2");
        assert_eq!(canonical_query(Some("f=a+b&g")), "f=a%20b&g=");
    }

    #[test]
    fn dates_are_checked() {
        assert!(parse_sdk_date("20240229T235959Z").is_some());
        for bad in [
            "20230229T000000Z",
            "20241301T000000Z",
            "20240101T240000Z",
            "2024010T000000Z",
            "20240101 000000Z",
        ] {
            assert!(parse_sdk_date(bad).is_none(), "{bad}");
        }
    }
}
