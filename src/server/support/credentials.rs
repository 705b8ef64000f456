//! Credentials as presented, extracted for `Api::authenticate`.

use super::*;

/// Credentials as presented by the client, not yet verified: the generated
/// router passes them to `Api::authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An IAM token (`X-Auth-Token`).
    Token(String),
    /// An AK/SK `SDK-HMAC-SHA256` signature, canonicalised and ready for
    /// [`SignedRequest::verify`] with the secret key of
    /// [`SignedRequest::access_key`].
    Signed(Box<SignedRequest>),
}

/// Extracts one security scheme's credentials: `Ok(None)` when its header is
/// absent, `Err(reason)` when it is present but unusable (the router answers
/// 401 with the reason).
pub type CredentialExtractor =
    fn(parts: &Parts, header: &'static str, body: &[u8]) -> Result<Option<Credentials>, String>;

/// A token header (`apiKey` in a header): its value as is.
pub fn token_credentials(
    parts: &Parts,
    header: &'static str,
    _body: &[u8],
) -> Result<Option<Credentials>, String> {
    let mut values = parts.headers.get_all(header).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("{header} is sent more than once"));
    }
    match value.to_str() {
        Ok("") => Err(format!("{header} is empty")),
        Ok(token) => Ok(Some(Credentials::Token(token.to_owned()))),
        Err(_) => Err(format!("{header} is not visible ASCII")),
    }
}

/// An `Authorization: SDK-HMAC-SHA256 …` header, canonicalised with the rest
/// of the request (see [`SignedRequest::from_request`]).
pub fn signed_credentials(
    parts: &Parts,
    header: &'static str,
    body: &[u8],
) -> Result<Option<Credentials>, String> {
    let mut values = parts.headers.get_all(header).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("{header} is sent more than once"));
    }
    let value = value
        .to_str()
        .map_err(|_| format!("{header} is not visible ASCII"))?;
    let uri = original_uri(parts);
    SignedRequest::from_request(&parts.method, uri, &parts.headers, value, body)
        .map(|signed| Some(Credentials::Signed(Box::new(signed))))
        .map_err(|e| format!("{header}: {e}"))
}

/// The first scheme (in the spec's order of `security` alternatives) whose
/// header is present wins, so a token plus a dummy `Authorization` (the
/// official SDKs' token workaround) is a token; a present but unusable one is
/// a 401 naming the problem. `Ok(None)` when no scheme's header is present.
pub fn try_authenticate(
    parts: &Parts,
    body: &[u8],
    schemes: &[(&'static str, CredentialExtractor)],
    code: &'static str,
) -> Result<Option<Credentials>, Rejection> {
    for &(header, extract) in schemes {
        match extract(parts, header, body) {
            Ok(Some(credentials)) => return Ok(Some(credentials)),
            Ok(None) => {}
            Err(reason) => return Err(Rejection::unauthorized(code, reason)),
        }
    }
    Ok(None)
}

/// [`try_authenticate`], with a 401 naming the headers when none is present.
pub fn authenticate(
    parts: &Parts,
    body: &[u8],
    schemes: &[(&'static str, CredentialExtractor)],
    code: &'static str,
) -> Result<Credentials, Rejection> {
    if let Some(credentials) = try_authenticate(parts, body, schemes, code)? {
        return Ok(credentials);
    }
    let names: Vec<&str> = schemes.iter().map(|(h, _)| *h).collect();
    let reason = match names.as_slice() {
        [] => "the request carries no credentials".to_owned(),
        [one] => format!("the request carries no {one} header"),
        [a, b] => format!("the request carries neither {a} nor {b}"),
        more => format!("the request carries none of {}", more.join(", ")),
    };
    Err(Rejection::unauthorized(code, reason))
}

/// The URI as the client sent it, before any `nest` stripped a prefix.
pub fn original_uri(parts: &Parts) -> &Uri {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |o| &o.0)
}
