//! `swrd`'s implementation of the generated [`Api`] trait: credentials and
//! requests in, store calls, responses out. No HTTP plumbing lives here: the
//! generated router calls [`Api::authenticate`] before it looks at any
//! parameter (so a caller with wrong credentials gets a 401 whatever else is
//! wrong with the request), then validates every parameter and merges both
//! query forms into `query.filter`.

use std::sync::Arc;
use std::time::SystemTime;

use axum::http::StatusCode;
use futures_util::TryStreamExt;
use swr_api::ContentRange;
use swr_api::server::support::{Credentials, JsonArray, Rejection};
use swr_api::server::{
    Api, ListRepositoryTagsHeaders, ListRepositoryTagsPath, ListRepositoryTagsQuery,
    ListRepositoryTagsRequest, ListRepositoryTagsResponse,
};
use swr_api::types::{ErrorDetail, ErrorResponse, ShowReposTagResp};

use crate::auth::{self, AuthError};
use crate::pages::PageCache;
use crate::store::{AnyStore, Store, StoreError, TagQuery, TagRecord};

/// SWR error codes this implementation answers with (the router has its own
/// for rejected parameters).
mod codes {
    pub const UNAUTHORIZED: &str = "SVCSTG.SWR.4010000";
    pub const NAMESPACE_NOT_FOUND: &str = "SVCSTG.SWR.4040058";
    pub const REPOSITORY_NOT_FOUND: &str = "SVCSTG.SWR.4040010";
    pub const TAG_LIST_FAILED: &str = "SVCSTG.SWR.5000063";
}

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
    /// a 401 whose `detail` says why, or a 500 when the store fails.
    async fn authenticate(
        &self,
        credentials: Credentials,
        request_id: &str,
    ) -> Result<Caller, Rejection> {
        match auth::authenticate(&*self.store, &credentials, SystemTime::now()).await {
            Ok(domain_id) => Ok(Caller { domain_id }),
            Err(AuthError::Rejected(reason)) => Err(Rejection::new(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHORIZED,
                AUTHENTICATION_FAILED,
            )
            .with_detail(reason)),
            Err(AuthError::Store(e)) => {
                store_failed(&e, request_id);
                Err(Rejection::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    codes::TAG_LIST_FAILED,
                    TAG_LIST_FAILED,
                )
                .with_detail(STORE_UNAVAILABLE))
            }
        }
    }

    async fn list_repository_tags(
        &self,
        req: ListRepositoryTagsRequest<Caller>,
    ) -> ListRepositoryTagsResponse {
        // Destructured field by field, with no `..`: a parameter added to the
        // spec is a compile error here until this implementation decides what
        // it means. The separate paging/order/tag parameters arrive merged into
        // `filter` (the router's rules hook), so they are always `None`.
        let ListRepositoryTagsRequest {
            path:
                ListRepositoryTagsPath {
                    namespace,
                    repository,
                },
            query:
                ListRepositoryTagsQuery {
                    offset: _,
                    limit: _,
                    order_column: _,
                    order_type: _,
                    tag: _,
                    filter,
                },
            headers:
                ListRepositoryTagsHeaders {
                    content_type: _,
                    x_auth_token: _,
                },
            principal: Caller { domain_id },
            request_id: x_request_id,
        } = req;
        let filter = filter.unwrap_or_default();
        let registry = self.registry.clone();
        let store = self.store.clone();
        let pages = self.pages.clone();
        let repository = repository.replace('$', "/");
        // The store call runs in its own task: when the client goes away or the
        // deadline fires, this future is dropped, but the read transaction still
        // ends cleanly. Cancelling sqlx mid-transaction can return a pooled
        // connection with an open transaction, and the next request on it fails.
        let read = tokio::spawn(async move {
            let query = TagQuery {
                domain_id: &domain_id,
                namespace: &namespace,
                repository: &repository,
                order: filter.order.unwrap_or_default(),
                tag_contains: filter.tag.as_deref(),
                page: filter.page,
            };
            match filter.page {
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
            Ok((body, content_range)) => ListRepositoryTagsResponse::Ok {
                body,
                content_range,
                x_request_id,
            },
            Err(StoreError::NamespaceNotFound(ns)) => ListRepositoryTagsResponse::NotFound {
                body: error(codes::NAMESPACE_NOT_FOUND, "Namespace not found", &ns),
                x_request_id,
            },
            Err(StoreError::RepositoryNotFound {
                namespace,
                repository,
            }) => ListRepositoryTagsResponse::NotFound {
                body: error(
                    codes::REPOSITORY_NOT_FOUND,
                    "Repository not found",
                    &format!("{namespace}/{repository}"),
                ),
                x_request_id,
            },
            Err(e) => internal(&e, x_request_id),
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

fn error(code: &str, message: &str, detail: &str) -> ErrorResponse {
    ErrorResponse {
        error_code: code.to_owned(),
        error_msg: message.to_owned(),
        errors: vec![ErrorDetail {
            error_code: code.to_owned(),
            error_message: message.to_owned(),
            detail: Some(detail.to_owned()),
        }],
    }
}

/// `error_msg` of a 401 (`detail` says why).
const AUTHENTICATION_FAILED: &str = "Authentication failed";
/// `error_msg` and `detail` of a 500: nothing about the internals.
const TAG_LIST_FAILED: &str = "Failed to obtain the tag list";
const STORE_UNAVAILABLE: &str = "the store is unavailable; retry later";

/// Logs a store failure with the request id and counts it.
fn store_failed(e: &StoreError, request_id: &str) {
    tracing::error!(request_id = %request_id, error = %e, "store failed");
    metrics::counter!("swrd_store_errors_total").increment(1);
}

/// A store failure: logged with the request id, answered without internals.
fn internal(e: &StoreError, x_request_id: String) -> ListRepositoryTagsResponse {
    store_failed(e, &x_request_id);
    ListRepositoryTagsResponse::InternalServerError {
        body: error(codes::TAG_LIST_FAILED, TAG_LIST_FAILED, STORE_UNAVAILABLE),
        x_request_id,
    }
}
