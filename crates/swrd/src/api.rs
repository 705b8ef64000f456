//! `swrd`'s implementation of the generated [`Api`] trait: requests in, store
//! calls, responses out. No HTTP plumbing lives here; the generated router has
//! already validated every parameter and merged both query forms into
//! `query.filter`.

use std::sync::Arc;
use std::time::SystemTime;

use futures_util::TryStreamExt;
use swr_api::ContentRange;
use swr_api::server::support::JsonArray;
use swr_api::server::{Api, ListRepositoryTagsRequest, ListRepositoryTagsResponse};
use swr_api::types::{ErrorDetail, ErrorResponse, ShowReposTagResp};

use crate::auth::{self, AuthError};
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

/// The server: a store and how to describe pull addresses.
pub struct SwrdApi<S = AnyStore> {
    store: Arc<S>,
    registry: Registry,
}

impl<S: Store> SwrdApi<S> {
    /// An API over `store`.
    pub fn new(store: Arc<S>, registry: Registry) -> Self {
        Self { store, registry }
    }
}

impl<S: Store> Api for SwrdApi<S> {
    async fn list_repository_tags(
        &self,
        req: ListRepositoryTagsRequest,
    ) -> ListRepositoryTagsResponse {
        let x_request_id = req.request_id;
        let domain =
            match auth::authenticate(&*self.store, &req.credentials, SystemTime::now()).await {
                Ok(domain) => domain,
                Err(AuthError::Rejected(reason)) => {
                    return ListRepositoryTagsResponse::Unauthorized {
                        body: error(codes::UNAUTHORIZED, "Authentication failed", reason),
                        x_request_id,
                    };
                }
                Err(AuthError::Store(e)) => return internal(&e, x_request_id),
            };
        let filter = req.query.filter.unwrap_or_default();
        let repository = req.path.repository.replace('$', "/");
        let query = TagQuery {
            domain_id: &domain,
            namespace: &req.path.namespace,
            repository: &repository,
            order: filter.order.unwrap_or_default(),
            tag_contains: filter.tag.as_deref(),
            page: filter.page,
        };
        let result = match filter.page {
            Some(page) => self.store.list_tags(&query).await.map(|p| {
                let body: Vec<ShowReposTagResp> =
                    p.records.into_iter().map(|r| self.render(r)).collect();
                let content_range = ContentRange {
                    offset: page.offset(),
                    count: body.len() as u64,
                    total: p.total,
                };
                (JsonArray::Items(body), content_range)
            }),
            None => self.store.stream_tags(&query).await.map(|stream| {
                // Everything, streamed: the count is the total by construction.
                let total = stream.total();
                let registry = self.registry.clone();
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

impl<S> SwrdApi<S> {
    fn render(&self, r: TagRecord) -> ShowReposTagResp {
        render(&self.registry, r)
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

/// A store failure: logged with the request id, answered without internals.
fn internal(e: &StoreError, x_request_id: String) -> ListRepositoryTagsResponse {
    tracing::error!(request_id = %x_request_id, error = %e, "store failed");
    metrics::counter!("swrd_store_errors_total").increment(1);
    ListRepositoryTagsResponse::InternalServerError {
        body: error(
            codes::TAG_LIST_FAILED,
            "Failed to obtain the tag list",
            "the store is unavailable; retry later",
        ),
        x_request_id,
    }
}
