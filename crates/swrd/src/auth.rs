//! Who is calling: credentials as presented (extracted by the generated router)
//! checked against the store, giving the caller's domain. Called from
//! `SwrdApi`'s `Api::authenticate`, which the router runs before it looks at
//! any parameter.
//!
//! Failures say why in the 401 body (a client needs to know whether its clock or
//! its key is wrong) but never echo a secret, and every failure is the same
//! status and code, so probing learns nothing about which keys exist beyond the
//! reason text.

use std::time::{Duration, SystemTime};

use swr_api::server::support::{Credentials, SignedRequest};

use crate::store::{Store, StoreError};

/// How far `X-Sdk-Date` may be from the server's clock, as Huawei's gateway.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Why a caller was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credentials are wrong: answer 401 with this reason.
    #[error("{0}")]
    Rejected(&'static str),
    /// The store could not be asked: answer 500.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The domain (account) the credentials belong to.
pub async fn authenticate<S: Store>(
    store: &S,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<String, AuthError> {
    match credentials {
        Credentials::Token(token) => store
            .domain_for_token(token)
            .await?
            .ok_or(AuthError::Rejected("the X-Auth-Token is not valid")),
        Credentials::Signed(signed) => verify_signature(store, signed, now).await,
    }
}

async fn verify_signature<S: Store>(
    store: &S,
    signed: &SignedRequest,
    now: SystemTime,
) -> Result<String, AuthError> {
    if !signed.is_fresh(now, MAX_CLOCK_SKEW) {
        return Err(AuthError::Rejected(
            "X-Sdk-Date is more than 15 minutes away from the server's clock",
        ));
    }
    let Some(credential) = store.credential(&signed.access_key).await? else {
        return Err(AuthError::Rejected("the access key (AK) is not known"));
    };
    if !signed.verify(&credential.secret_key) {
        return Err(AuthError::Rejected(
            "the SDK-HMAC-SHA256 signature does not match the request",
        ));
    }
    Ok(credential.domain_id)
}
