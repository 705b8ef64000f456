//! Who is calling: credentials as presented (extracted by the generated router)
//! checked against the store, giving the caller's domain. Called from
//! `SwrdApi`'s `Api::authenticate`, which the router runs before it looks at
//! any parameter.
//!
//! A bad token says so in the 401's `detail`; every AK/SK failure (unknown
//! access key, wrong signature, `X-Sdk-Date` outside
//! [`MAX_CLOCK_SKEW`](swr_api::server::signing::MAX_CLOCK_SKEW)) gets the
//! same 401 ([`Rejection::bad_signature`]), so probing learns nothing about
//! which keys exist. No message ever echoes a secret.

use std::time::SystemTime;

use swr_api::server::Rejection;
use swr_api::server::support::{Credentials, SignedRequest};

use crate::store::{Store, StoreError};

/// Why a caller was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credentials are wrong: answer this 401.
    #[error("{0}")]
    Rejected(Rejection),
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
        Credentials::Token(token) => store.domain_for_token(token).await?.ok_or_else(|| {
            AuthError::Rejected(Rejection::unauthenticated("the X-Auth-Token is not valid"))
        }),
        Credentials::Signed(signed) => verify_signature(store, signed, now).await,
    }
}

async fn verify_signature<S: Store>(
    store: &S,
    signed: &SignedRequest,
    now: SystemTime,
) -> Result<String, AuthError> {
    // An unknown access key costs the same HMAC as a known one, so timing
    // does not tell which keys exist either.
    let credential = store.credential(&signed.access_key).await?;
    let secret = credential.as_ref().map_or("", |c| c.secret_key.as_str());
    match (signed.verify(secret, now), credential) {
        (Ok(()), Some(credential)) => Ok(credential.domain_id),
        _ => Err(AuthError::Rejected(Rejection::bad_signature())),
    }
}
