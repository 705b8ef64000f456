//! `swrd`'s implementation of the generated [`Api`] trait: credentials and
//! requests in, the listing service and the auth lookups called, responses
//! out. No HTTP plumbing lives here: the generated router calls
//! [`Api::authenticate`] before it looks at any parameter (so a caller with
//! wrong credentials gets a 401 whatever else is wrong with the request),
//! validates every parameter, merges both query forms into one `ListQuery`
//! and sets `X-Request-Id`. Every error is a [`Rejection`] from its named
//! constructors: no SWR code is written here.

use std::sync::Arc;
use std::time::SystemTime;

use swr_api::server::support::{Credentials, Rejection};
use swr_api::server::{
    Api, ListRepositoryTagsHeaders, ListRepositoryTagsPath, ListRepositoryTagsRequest,
    ListRepositoryTagsResponse,
};

use crate::auth::{self, AuthError};
use crate::listing::{ListRequest, Listed, Listing, PageCache};
pub use crate::render::{Registry, render};
use crate::store::{AnyStore, Store, StoreError};

/// Who is calling, once [`Api::authenticate`] has accepted the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The domain (account) the credentials belong to; only its namespaces
    /// are visible.
    pub domain_id: String,
}

/// The server: a store for the auth lookups and the listing service over it.
pub struct SwrdApi<S = AnyStore> {
    store: Arc<S>,
    listing: Listing<S>,
}

impl<S: Store> SwrdApi<S> {
    /// An API over `store`, with the default [`PageCache`].
    pub fn new(store: Arc<S>, registry: Registry) -> Self {
        Self::with_page_cache(store, registry, Some(Arc::new(PageCache::default())))
    }

    /// An API over `store` with `pages`, or with every page read by SQL.
    pub fn with_page_cache(
        store: Arc<S>,
        registry: Registry,
        pages: Option<Arc<PageCache>>,
    ) -> Self {
        let listing = Listing::with_cache(store.clone(), registry, pages);
        Self { store, listing }
    }
}

impl<S: Store> Api for SwrdApi<S> {
    type Principal = Caller;

    /// Token or AK/SK signature against the store ([`auth::authenticate`]):
    /// the 401 it chose, or a 500 when the store fails.
    async fn authenticate(
        &self,
        credentials: Credentials,
        request_id: &str,
    ) -> Result<Caller, Rejection> {
        match auth::authenticate(&*self.store, &credentials, SystemTime::now()).await {
            Ok(domain_id) => Ok(Caller { domain_id }),
            Err(AuthError::Rejected(rejection)) => Err(rejection),
            Err(AuthError::Store(e)) => Err(internal(&e, request_id)),
        }
    }

    async fn list_repository_tags(
        &self,
        req: ListRepositoryTagsRequest<Caller>,
    ) -> Result<ListRepositoryTagsResponse, Rejection> {
        // Destructured field by field, with no `..`: a parameter added to the
        // spec is a compile error here until this implementation decides what
        // it means.
        let repository = req.path.repository_name();
        let ListRepositoryTagsRequest {
            path:
                ListRepositoryTagsPath {
                    namespace,
                    repository: _,
                },
            query,
            headers:
                ListRepositoryTagsHeaders {
                    content_type: _,
                    x_auth_token: _,
                },
            principal: Caller { domain_id },
            request_id,
        } = req;
        let request = ListRequest {
            domain_id,
            namespace,
            repository,
            query,
        };
        match self.listing.list(request).await {
            Ok(Listed {
                body,
                content_range,
            }) => Ok(ListRepositoryTagsResponse::Ok {
                body,
                content_range,
            }),
            Err(StoreError::NamespaceNotFound(ns)) => Err(Rejection::not_found_namespace(&ns)),
            Err(StoreError::RepositoryNotFound {
                namespace,
                repository,
            }) => Err(Rejection::not_found_repository(&namespace, &repository)),
            Err(e) => Err(internal(&e, &request_id)),
        }
    }
}

/// A store failure: logged with the request id and counted, answered
/// without internals.
fn internal(e: &StoreError, request_id: &str) -> Rejection {
    tracing::error!(request_id = %request_id, error = %e, "store failed");
    metrics::counter!("swrd_store_errors_total").increment(1);
    Rejection::internal()
}
