//! Authentication lookups ([`AuthLookups`]). Each backend implements them
//! itself: they are the request path's point reads, inline through rusqlite
//! on SQLite (see `sqlite/inline.rs`) and coalesced on PostgreSQL (see
//! `coalesce.rs`); only the SQL text (`sql::TOKEN`, `sql::CREDENTIAL`) is
//! shared.

use std::future::Future;

use super::{Credential, StoreError};

/// Who a request's credentials belong to.
pub trait AuthLookups: Send + Sync + 'static {
    /// The domain an `X-Auth-Token` belongs to.
    ///
    /// Tokens are stored as their SHA-256 (hex) and looked up by that hash.
    /// An index lookup is not constant-time, but what its timing could reveal
    /// is how much of a *hash* matches a stored one, which does not help to
    /// find a token (that would need SHA-256 preimages); comparing the token
    /// itself would leak its prefix.
    fn domain_for_token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// The owner and secret of an access key. The secret is stored in clear
    /// because verifying `SDK-HMAC-SHA256` needs the key itself; protect the
    /// database accordingly.
    fn credential(
        &self,
        access_key: &str,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;
}
