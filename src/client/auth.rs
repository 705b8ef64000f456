//! Who a request comes from: an IAM token, or an AK/SK pair that signs each
//! request with `SDK-HMAC-SHA256` exactly as the official Huawei SDKs do, so
//! Huawei's gateway and `swrd` both accept it.

use std::fmt;
use std::time::SystemTime;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};

use super::SwrError;
use crate::signing_core::{self, ALGORITHM};

/// `X-Project-Id`: the project (region) the call is for; signed.
pub(super) const PROJECT_ID: &str = "x-project-id";
/// `X-Security-Token`: sent with temporary (STS) AK/SK pairs; signed.
pub(super) const SECURITY_TOKEN: &str = "x-security-token";
/// `X-Sdk-Date`, `YYYYMMDDTHHMMSSZ`; signed, so the gateway's 15-minute
/// replay window applies.
const SDK_DATE: &str = "x-sdk-date";
/// `X-Auth-Token`: the IAM token.
pub(super) const AUTH_TOKEN: &str = "x-auth-token";

/// How requests are authenticated.
#[derive(Clone, Default)]
pub enum Credentials {
    /// Nothing is added (a proxy that authenticates, or a test server).
    #[default]
    None,
    /// An IAM token, sent as `X-Auth-Token`.
    Token(String),
    /// An access key pair: every request is signed.
    AkSk(AkSk),
}

/// An access key pair and what the official SDKs send with it.
#[derive(Clone)]
pub struct AkSk {
    /// The access key id (`Access=` in `Authorization`).
    pub access_key: String,
    /// The secret key: the HMAC key, never sent.
    pub secret_key: String,
    /// Sent (and signed) as `X-Project-Id` when set, as `BasicCredentials` does.
    pub project_id: Option<String>,
    /// Sent (and signed) as `X-Security-Token` when set: temporary credentials.
    pub security_token: Option<String>,
}

impl AkSk {
    /// A permanent key pair without a project id.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        AkSk {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            project_id: None,
            security_token: None,
        }
    }
}

// Secrets never reach logs: Debug shows the access key and which options are set.
impl fmt::Debug for AkSk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AkSk")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("project_id", &self.project_id)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::AkSk(k) => f.debug_tuple("AkSk").field(k).finish(),
        }
    }
}

impl Credentials {
    /// Adds the token header, or signs the request, as of `now`.
    pub(super) fn apply(
        &self,
        request: &mut reqwest::Request,
        now: SystemTime,
    ) -> Result<(), SwrError> {
        match self {
            Credentials::None => Ok(()),
            Credentials::Token(token) => {
                if !request.headers().contains_key(AUTH_TOKEN) {
                    let value = header_value(AUTH_TOKEN, token)?;
                    request.headers_mut().insert(AUTH_TOKEN, value);
                }
                Ok(())
            }
            Credentials::AkSk(key) => sign(request, key, now),
        }
    }

    /// Whether every header value the credentials produce is valid, so that
    /// a bad key fails when the client is built, not on its first request.
    pub(super) fn check(&self) -> Result<(), SwrError> {
        match self {
            Credentials::None => Ok(()),
            Credentials::Token(t) if t.is_empty() => {
                Err(SwrError::InvalidRequest("the token is empty".to_owned()))
            }
            Credentials::Token(t) => header_value(AUTH_TOKEN, t).map(drop),
            Credentials::AkSk(k) => {
                if k.access_key.is_empty() || k.secret_key.is_empty() {
                    return Err(SwrError::InvalidRequest(
                        "the access key and the secret key must not be empty".to_owned(),
                    ));
                }
                if k.access_key.contains([',', ' ', '=']) {
                    return Err(SwrError::InvalidRequest(
                        "the access key must not contain `,`, `=` or spaces".to_owned(),
                    ));
                }
                header_value("access key", &k.access_key)?;
                if let Some(p) = &k.project_id {
                    header_value(PROJECT_ID, p)?;
                }
                if let Some(t) = &k.security_token {
                    header_value(SECURITY_TOKEN, t)?;
                }
                Ok(())
            }
        }
    }
}

/// Signs `request` with `SDK-HMAC-SHA256` as of `at`, as the official SDKs
/// do: sets `X-Sdk-Date`, `X-Project-Id` and `X-Security-Token` (when set in
/// `key`) and `Content-Type: application/json` if absent, then signs exactly
/// `content-type`, `host`, `x-project-id`, `x-sdk-date` and
/// `x-security-token` (those present) and sets `Authorization`.
///
/// `host` is the `Host` header if the request has one, else the URL's
/// authority as reqwest will send it (the port only when it is not the
/// scheme's default).
pub fn sign(request: &mut reqwest::Request, key: &AkSk, at: SystemTime) -> Result<(), SwrError> {
    let date = sdk_date(at);
    let mut set = |name: &'static str, value: &str| -> Result<(), SwrError> {
        let value = header_value(name, value)?;
        request.headers_mut().insert(name, value);
        Ok(())
    };
    set(SDK_DATE, &date)?;
    if let Some(project) = &key.project_id {
        set(PROJECT_ID, project)?;
    }
    if let Some(token) = &key.security_token {
        set(SECURITY_TOKEN, token)?;
    }
    let headers = request.headers_mut();
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }

    let host = match request.headers().get(HOST) {
        Some(h) => h
            .to_str()
            .map_err(|_| SwrError::InvalidRequest("the Host header is not ASCII".into()))?
            .to_owned(),
        None => url_authority(request.url())?,
    };
    let mut signed: Vec<(&str, String)> = vec![("host", host)];
    for name in [CONTENT_TYPE.as_str(), PROJECT_ID, SDK_DATE, SECURITY_TOKEN] {
        if let Some(value) = request.headers().get(name) {
            let value = value.to_str().map_err(|_| {
                SwrError::InvalidRequest(format!("the {name} header is not visible ASCII"))
            })?;
            signed.push((name, value.trim().to_owned()));
        }
    }
    signed.sort();
    let signed_names = signed.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(";");
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let body = request
        .body()
        .map(|b| {
            b.as_bytes().ok_or_else(|| {
                SwrError::InvalidRequest("a streamed body cannot be signed".to_owned())
            })
        })
        .transpose()?
        .unwrap_or_default();
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_names}\n{}",
        request.method().as_str(),
        signing_core::canonical_uri(request.url().path()),
        signing_core::canonical_query(request.url().query()),
        signing_core::sha256_hex(body),
    );
    let string_to_sign = signing_core::string_to_sign(&date, &canonical_request);
    let signature = signing_core::signature(&key.secret_key, &string_to_sign);
    let authorization = format!(
        "{ALGORITHM} Access={}, SignedHeaders={signed_names}, Signature={signature}",
        key.access_key
    );
    let authorization = header_value("Authorization", &authorization)?;
    request.headers_mut().insert(AUTHORIZATION, authorization);
    Ok(())
}

/// `host[:port]` as hyper writes the `Host` header (url drops default ports).
fn url_authority(url: &reqwest::Url) -> Result<String, SwrError> {
    let host = url
        .host_str()
        .ok_or_else(|| SwrError::InvalidRequest(format!("{url} has no host")))?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, SwrError> {
    HeaderValue::from_str(value)
        .map_err(|_| SwrError::InvalidRequest(format!("{name} is not a valid header value")))
}

/// `YYYYMMDDTHHMMSSZ`, UTC.
pub(super) fn sdk_date(at: SystemTime) -> String {
    crate::time::format_sdk_date(at)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// The fact sheet's vector (§7), made with the official Python signer.
    #[test]
    fn fact_sheet_vector() {
        let url = "https://swr-api.cn-north-4.myhuaweicloud.com/v2/manage/namespaces/myns/repos/myrepo/tags?limit=10&offset=0&order_column=updated_at&order_type=desc&tag=v1";
        let mut request = reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap());
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let key = AkSk {
            project_id: Some("fakeprojectid".into()),
            ..AkSk::new("FAKEAK", "FAKESK")
        };
        let at = UNIX_EPOCH + Duration::from_secs(1_704_067_200); // 2024-01-01T00:00:00Z
        sign(&mut request, &key, at).unwrap();
        let h = request.headers();
        assert_eq!(
            h["authorization"],
            "SDK-HMAC-SHA256 Access=FAKEAK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=5d74b004323da3520317a56546f0aedf4f3a3629f347f394d15b8b533dde28a6"
        );
        assert_eq!(h["x-sdk-date"], "20240101T000000Z");
        assert_eq!(h["x-project-id"], "fakeprojectid");
        assert!(!h.contains_key("host"), "reqwest adds Host itself");
    }

    #[test]
    fn query_order_does_not_change_the_signature() {
        let key = AkSk::new("AK", "SK");
        let at = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        let signature = |url: &str| {
            let mut r = reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap());
            sign(&mut r, &key, at).unwrap();
            r.headers()["authorization"].to_str().unwrap().to_owned()
        };
        assert_eq!(
            signature("http://h:8080/p?b=2&a=x%7Cy"),
            signature("http://h:8080/p?a=x|y&b=2")
        );
        assert_ne!(signature("http://h:8080/p"), signature("http://h:8081/p"));
        // The default port is not part of Host.
        assert_eq!(signature("http://h/p"), signature("http://h:80/p"));
    }

    #[test]
    fn security_token_is_sent_and_signed() {
        let key = AkSk {
            security_token: Some("sts".into()),
            ..AkSk::new("AK", "SK")
        };
        let mut r = reqwest::Request::new(reqwest::Method::GET, "http://h/p".parse().unwrap());
        sign(&mut r, &key, UNIX_EPOCH).unwrap();
        assert_eq!(r.headers()["x-security-token"], "sts");
        assert!(
            r.headers()["authorization"]
                .to_str()
                .unwrap()
                .contains("SignedHeaders=content-type;host;x-sdk-date;x-security-token,")
        );
    }

    #[test]
    fn dates() {
        assert_eq!(sdk_date(UNIX_EPOCH), "19700101T000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(1_709_251_199); // 2024-02-29T23:59:59Z
        assert_eq!(sdk_date(leap), "20240229T235959Z");
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::AkSk(AkSk {
            security_token: Some("tok".into()),
            ..AkSk::new("AK", "very-secret")
        });
        let text = format!("{c:?}");
        assert!(
            !text.contains("very-secret") && !text.contains("tok\""),
            "{text}"
        );
        assert!(!format!("{:?}", Credentials::Token("t0k".into())).contains("t0k"));
    }
}
