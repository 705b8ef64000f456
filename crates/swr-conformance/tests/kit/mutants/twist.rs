//! Mutants as an `Api` wrapper around MemoryServer: the same accounts and
//! catalog, one rule of listing or authentication changed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use swr_api::ContentRange;
use swr_api::fixture::Fixture;
use swr_api::server::axum::Router;
use swr_api::server::memory::{Domain, MemoryServer};
use swr_api::server::support::{Credentials, JsonArray, Rejection};
use swr_api::server::{Api, ListQuery, ListRepositoryTagsRequest, ListRepositoryTagsResponse};
use swr_api::server::{router, spec_routes};
use swr_api::swr_filter::{OrderColumn, OrderType};
use swr_api::types::ShowReposTagResp;

/// The one rule a [`Twisted`] server breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Twist {
    /// Ties broken by id ascending whatever the direction.
    TieOrder,
    /// `tag` matched case-insensitively.
    CaseInsensitiveTag,
    /// `order_column=tag` compares lowercased names (a locale's idea).
    LocaleTagSort,
    /// No paging parameters: the first 100 only.
    UnpagedTruncated,
    /// An unknown access key gets its own message.
    AkskMessagesDiffer,
    /// A missing repository in another domain's namespace is "repository
    /// not found", which confirms that the namespace exists.
    ForeignRepositoryLeaks,
}

struct Twisted {
    inner: MemoryServer,
    twist: Twist,
    access_keys: HashSet<String>,
    owners: HashMap<String, String>,
}

/// MemoryServer with `twist`, plus `/openapi.json`.
pub fn router_with(fixture: &Fixture, twist: Twist) -> Router {
    let api = Twisted {
        inner: MemoryServer::new(fixture),
        twist,
        access_keys: fixture
            .domains
            .iter()
            .flat_map(|d| d.credentials.iter().map(|c| c.ak.clone()))
            .collect(),
        owners: fixture
            .namespaces
            .iter()
            .map(|n| (n.name.clone(), n.domain.clone()))
            .collect(),
    };
    router(Arc::new(api)).merge(spec_routes())
}

impl Api for Twisted {
    type Principal = Domain;

    async fn authenticate(
        &self,
        credentials: Credentials,
        request_id: &str,
    ) -> Result<Domain, Rejection> {
        if self.twist == Twist::AkskMessagesDiffer
            && let Credentials::Signed(signed) = &credentials
            && !self.access_keys.contains(&signed.access_key)
        {
            return Err(Rejection::unauthenticated("unknown access key"));
        }
        self.inner.authenticate(credentials, request_id).await
    }

    async fn list_repository_tags(
        &self,
        request: ListRepositoryTagsRequest<Domain>,
    ) -> Result<ListRepositoryTagsResponse, Rejection> {
        let namespace = &request.path.namespace;
        let repository = request.path.repository_name();
        let tags = match self
            .inner
            .catalog
            .repository(&request.principal, namespace, &repository)
        {
            Ok(tags) => tags,
            Err(rejection) => {
                let foreign = self
                    .owners
                    .get(namespace)
                    .is_some_and(|owner| *owner != request.principal.0);
                if self.twist == Twist::ForeignRepositoryLeaks && foreign {
                    let exists = self
                        .inner
                        .catalog
                        .repository(
                            &Domain(self.owners[namespace].clone()),
                            namespace,
                            &repository,
                        )
                        .is_ok();
                    if !exists {
                        return Err(Rejection::not_found_repository(namespace, &repository));
                    }
                }
                return Err(rejection);
            }
        };
        let (items, content_range) = page(tags, &request.query, self.twist);
        Ok(ListRepositoryTagsResponse::Ok {
            body: JsonArray::Items(items),
            content_range,
        })
    }
}

/// Filter, sort, page — with the twist.
fn page(
    tags: &[ShowReposTagResp],
    q: &ListQuery,
    twist: Twist,
) -> (Vec<ShowReposTagResp>, ContentRange) {
    let mut matching: Vec<&ShowReposTagResp> = tags
        .iter()
        .filter(|t| match &q.tag {
            None => true,
            Some(n) if twist == Twist::CaseInsensitiveTag => {
                t.tag.to_lowercase().contains(&n.to_lowercase())
            }
            Some(n) => t.tag.contains(n.as_str()),
        })
        .collect();
    let desc = q.order.direction == OrderType::Desc;
    matching.sort_by(|a, b| {
        let by = match q.order.column {
            // The API's `YYYY-MM-DDTHH:MM:SSZ` sorts as text.
            OrderColumn::UpdatedAt => a.updated.cmp(&b.updated),
            OrderColumn::Tag if twist == Twist::LocaleTagSort => {
                a.tag.to_lowercase().cmp(&b.tag.to_lowercase())
            }
            OrderColumn::Tag => a.tag.as_bytes().cmp(b.tag.as_bytes()),
        };
        let tie = a.id.cmp(&b.id);
        match (desc, twist) {
            (true, Twist::TieOrder) => by.reverse().then(tie),
            (true, _) => by.reverse().then(tie.reverse()),
            (false, _) => by.then(tie),
        }
    });
    let total = matching.len() as u64;
    let (offset, limit) = match q.page {
        Some(p) => (p.offset(), u64::from(p.limit())),
        None if twist == Twist::UnpagedTruncated => (0, 100),
        None => (0, total),
    };
    let items: Vec<ShowReposTagResp> = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .cloned()
        .collect();
    let range = ContentRange {
        offset,
        count: items.len() as u64,
        total,
    };
    (items, range)
}
