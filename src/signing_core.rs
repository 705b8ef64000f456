//! The pure parts of `SDK-HMAC-SHA256` shared by the client's signer
//! (`client::sign`) and the server's verifier (`server::signing`), so that both
//! canonicalise a request with the very same code and cannot drift apart.
//!
//! See `server::signing` for the whole algorithm.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};

/// The only algorithm the SDKs use.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// RFC 3986 unreserved characters stay; everything else is `%XX` (uppercase).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Each `/`-separated segment decoded then re-encoded; a trailing `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut out = path
        .split('/')
        .map(|segment| encode(&percent_decode_str(segment).collect::<Vec<u8>>()))
        .collect::<Vec<_>>()
        .join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Pairs decoded (`+` is a space), sorted by key then value, re-encoded.
pub fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes())))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, ENCODE).to_string()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `SDK-HMAC-SHA256\n{X-Sdk-Date}\n{hex(sha256(CanonicalRequest))}`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// `hex(HMAC-SHA256(key = secret_key, string_to_sign))`.
pub fn signature(secret_key: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
