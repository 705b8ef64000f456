//! `swrd`'s implementation of the generated [`Api`] trait: credentials and
//! requests in, store calls, responses out. No HTTP plumbing lives here: the
//! generated router calls [`Api::authenticate`] before it looks at any
//! parameter (so a caller with wrong credentials gets a 401 whatever else is
//! wrong with the request), validates every parameter, merges both query
//! forms into one `ListQuery` and sets
//! `X-Request-Id`. Every error is a [`Rejection`] from its named
//! constructors: no SWR code is written here.

use std::sync::Arc;
use std::time::SystemTime;

use futures_util::TryStreamExt;
use swr_api::ContentRange;
use swr_api::server::support::{Credentials, JsonArray, Rejection};
use swr_api::server::{
    Api, ListQuery, ListRepositoryTagsHeaders, ListRepositoryTagsPath, ListRepositoryTagsRequest,
    ListRepositoryTagsResponse,
};
use swr_api::types::ShowReposTagResp;

use crate::auth::{self, AuthError};
use crate::pages::PageCache;
use crate::store::{AnyStore, Store, StoreError, TagQuery, TagRecord};

/// Registry addresses used to build `path` and `internal_path`.
#[derive(Debug, Clone)]
pub struct Registry {
    /// External pull host, e.g. `swr.cn-north-4.myhuaweicloud.com`.
    pub host: String,
    /// In-cluster pull host, e.g. `10.125.0.198:20202`.
    pub internal_host: String,
}

/// Who is calling, once [`Api::authenticate`] has accepted the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The domain (account) the credentials belong to; only its namespaces
    /// are visible.
    pub domain_id: String,
}

/// The server: a store, how to describe pull addresses, and the page cache.
pub struct SwrdApi<S = AnyStore> {
    store: Arc<S>,
    registry: Registry,
    pages: Option<Arc<PageCache>>,
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
        Self {
            store,
            registry,
            pages,
        }
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
            query: ListQuery { page, order, tag },
            headers:
                ListRepositoryTagsHeaders {
                    content_type: _,
                    x_auth_token: _,
                },
            principal: Caller { domain_id },
            request_id,
        } = req;
        let registry = self.registry.clone();
        let store = self.store.clone();
        let pages = self.pages.clone();
        // The store call runs in its own task: when the client goes away or the
        // deadline fires, this future is dropped, but the read transaction still
        // ends cleanly. Cancelling sqlx mid-transaction can return a pooled
        // connection with an open transaction, and the next request on it fails.
        let read = tokio::spawn(async move {
            let query = TagQuery {
                domain_id: &domain_id,
                namespace: &namespace,
                repository: &repository,
                order,
                tag_contains: tag.as_deref(),
                page,
            };
            match page {
                Some(page) => {
                    if let Some(pages) = &pages {
                        let at = store.repository_version(&query).await?;
                        if let Some(cached) =
                            pages.page(&*store, &registry, &query, at, page).await?
                        {
                            let content_range = ContentRange {
                                offset: page.offset(),
                                count: cached.count,
                                total: cached.total,
                            };
                            return Ok((JsonArray::Encoded(cached.body), content_range));
                        }
                        pages.refresh(store.clone(), at);
                    }
                    store.list_tags(&query).await.map(|p| {
                        let body: Vec<ShowReposTagResp> = p
                            .records
                            .into_iter()
                            .map(|r| render(&registry, r))
                            .collect();
                        let content_range = ContentRange {
                            offset: page.offset(),
                            count: body.len() as u64,
                            total: p.total,
                        };
                        (JsonArray::Items(body), content_range)
                    })
                }
                None => store.stream_tags(&query).await.map(|stream| {
                    // Everything, streamed: the count is the total by construction.
                    let total = stream.total();
                    let body = JsonArray::stream(stream.map_ok(move |r| render(&registry, r)));
                    (
                        body,
                        ContentRange {
                            offset: 0,
                            count: total,
                            total,
                        },
                    )
                }),
            }
        });
        let result = match read.await {
            Ok(result) => result,
            Err(e) => Err(StoreError::Io(std::io::Error::other(format!(
                "the store task failed: {e}"
            )))),
        };
        match result {
            Ok((body, content_range)) => Ok(ListRepositoryTagsResponse::Ok {
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

/// A store record as the API's model, with the pull addresses filled in.
pub fn render(registry: &Registry, r: TagRecord) -> ShowReposTagResp {
    let reference = format!("{}/{}:{}", r.namespace, r.repository, r.tag);
    ShowReposTagResp {
        path: format!("{}/{reference}", registry.host),
        internal_path: format!("{}/{reference}", registry.internal_host),
        id: r.id,
        repo_id: r.repo_id,
        tag: r.tag,
        image_id: r.image_id,
        manifest: r.manifest,
        digest: r.digest,
        schema: r.schema,
        size: r.size,
        is_trusted: r.is_trusted,
        created: r.created,
        updated: r.updated,
        deleted: r.deleted,
        domain_id: r.domain_id,
        scanned: r.scanned,
        // The store only holds 0 or 1 (checked on every write).
        tag_type: r
            .tag_type
            .try_into()
            .unwrap_or_else(|_| 0.try_into().expect("0 is a tag_type")),
    }
}

/// A store failure: logged with the request id and counted, answered
/// without internals.
fn internal(e: &StoreError, request_id: &str) -> Rejection {
    tracing::error!(request_id = %request_id, error = %e, "store failed");
    metrics::counter!("swrd_store_errors_total").increment(1);
    Rejection::internal()
}
