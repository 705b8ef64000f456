//! The reference implementation of [`Api`]: every account, credential and
//! tag of a [`Fixture`] held in memory, read-only.
//!
//! It is what the spec and DESIGN.md say a server does, in the fewest lines:
//! token and AK/SK authentication, domain isolation (another domain's
//! namespace answers exactly like a missing one) and [`paginate`] for the
//! paging rules. Use it as a fake in tests, as a starting point, or as the
//! conformance kit's reference. Its two parts are public so that an
//! implementation with its own storage can reuse one of them:
//!
//! - [`Accounts`]: tokens (with optional expiry) and AK/SK pairs, each
//!   belonging to a domain;
//! - [`Catalog`]: namespaces (owned by a domain), repositories and their
//!   tags as the API's model.
//!
//! ```no_run
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use swr_api::server::{axum, memory::MemoryServer, router};
//!
//! let fixture = swr_api::fixture::load("fixtures.yaml")?;
//! let app = router(Arc::new(MemoryServer::new(&fixture)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::paging::paginate;
use super::support::{Credentials, Rejection};
use super::{Api, ListRepositoryTagsRequest, ListRepositoryTagsResponse};
use crate::fixture::{Fixture, FixtureTag};
use crate::time::format_timestamp;
use crate::types::ShowReposTagResp;

/// Who is calling: the domain (account) its credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain(pub String);

/// Tokens and AK/SK pairs, each belonging to a domain.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// token -> (domain id, expiry in Unix seconds).
    tokens: HashMap<String, (String, Option<i64>)>,
    /// access key -> (secret key, domain id).
    keys: HashMap<String, (String, String)>,
}

impl Accounts {
    /// The credentials of every domain of `fixture`.
    pub fn new(fixture: &Fixture) -> Self {
        let mut accounts = Accounts::default();
        for d in &fixture.domains {
            for t in &d.tokens {
                accounts.tokens.insert(t.clone(), (d.id.clone(), None));
            }
            for t in &d.expiring_tokens {
                let entry = (d.id.clone(), Some(t.expires.0));
                accounts.tokens.insert(t.token.clone(), entry);
            }
            for c in &d.credentials {
                let entry = (c.sk.clone(), d.id.clone());
                accounts.keys.insert(c.ak.clone(), entry);
            }
        }
        accounts
    }

    /// The domain of `credentials` at `now`, or the 401: an unknown or
    /// expired token, or any AK/SK failure (one message for all of them).
    pub fn authenticate(
        &self,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<Domain, Rejection> {
        match credentials {
            Credentials::Token(token) => match self.tokens.get(token) {
                Some((domain, expires)) if expires.is_none_or(|e| unix(now) < e) => {
                    Ok(Domain(domain.clone()))
                }
                _ => Err(Rejection::unauthenticated("the X-Auth-Token is not valid")),
            },
            Credentials::Signed(signed) => {
                // An unknown access key costs the same HMAC as a known one, so
                // timing does not tell which keys exist either.
                let (sk, domain) = match self.keys.get(&signed.access_key) {
                    Some((sk, domain)) => (sk.as_str(), Some(domain)),
                    None => ("", None),
                };
                match (signed.verify(sk, now), domain) {
                    (Ok(()), Some(domain)) => Ok(Domain(domain.clone())),
                    _ => Err(Rejection::bad_signature()),
                }
            }
        }
    }
}

/// Namespaces, their repositories and tags, as the API shows them.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// namespace -> (owning domain, repository (with `/`) -> tags).
    namespaces: HashMap<String, (String, HashMap<String, Vec<ShowReposTagResp>>)>,
}

/// Where pulls go, for the `path` and `internal_path` of every tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullHosts {
    /// External registry host, e.g. `swr.cn-north-4.myhuaweicloud.com`.
    pub external: String,
    /// In-cluster registry host, e.g. `10.125.0.198:20202`.
    pub internal: String,
}

impl Default for PullHosts {
    /// swrd's defaults: `swr.local` and `127.0.0.1:5000`.
    fn default() -> Self {
        PullHosts {
            external: "swr.local".into(),
            internal: "127.0.0.1:5000".into(),
        }
    }
}

impl Catalog {
    /// Every namespace of `fixture` (see [`fixture_tags`] for ids and times).
    pub fn new(fixture: &Fixture, hosts: &PullHosts, now: SystemTime) -> Self {
        let mut namespaces: HashMap<_, (String, HashMap<_, Vec<_>>)> = fixture
            .namespaces
            .iter()
            .map(|n| (n.name.clone(), (n.domain.clone(), HashMap::new())))
            .collect();
        for n in &fixture.namespaces {
            for r in &n.repositories {
                namespaces
                    .get_mut(&n.name)
                    .map(|(_, repos)| repos.entry(r.name.clone()).or_default());
            }
        }
        for t in fixture_tags(fixture, hosts, now) {
            if let Some((_, repos)) = namespaces.get_mut(&t.namespace) {
                repos.entry(t.repository).or_default().push(t.tag);
            }
        }
        Catalog { namespaces }
    }

    /// The tags of `namespace/repository` (stored form, `/` not `$`) as
    /// `domain` may see them, or the 404: a namespace of another domain gets
    /// exactly the answer of a missing one.
    pub fn repository(
        &self,
        domain: &Domain,
        namespace: &str,
        repository: &str,
    ) -> Result<&[ShowReposTagResp], Rejection> {
        let (_, repositories) = self
            .namespaces
            .get(namespace)
            .filter(|(owner, _)| *owner == domain.0)
            .ok_or_else(|| Rejection::not_found_namespace(namespace))?;
        repositories
            .get(repository)
            .map(Vec::as_slice)
            .ok_or_else(|| Rejection::not_found_repository(namespace, repository))
    }
}

/// One tag of a fixture as the API shows it, with where it lives.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureTagModel {
    /// The namespace.
    pub namespace: String,
    /// The domain that owns the namespace.
    pub domain: String,
    /// The repository, stored form (`/`, not `$`).
    pub repository: String,
    /// The tag as `list_repository_tags` returns it.
    pub tag: ShowReposTagResp,
}

/// Every tag of `fixture` as the API's model. Ids are given in file order
/// (repositories and tags from 1), as swrd gives them on a first import; a
/// tag without times gets `now`, one with a single time gets it for both
/// (the fixture format's defaults).
pub fn fixture_tags(fixture: &Fixture, hosts: &PullHosts, now: SystemTime) -> Vec<FixtureTagModel> {
    let (mut repo_id, mut tag_id, mut out) = (0, 0, Vec::new());
    for n in &fixture.namespaces {
        for r in &n.repositories {
            repo_id += 1;
            for t in &r.tags {
                tag_id += 1;
                let reference = format!("{}/{}:{}", n.name, r.name, t.tag);
                let ids = Ids {
                    id: tag_id,
                    repo_id,
                    now: unix(now),
                };
                out.push(FixtureTagModel {
                    namespace: n.name.clone(),
                    domain: n.domain.clone(),
                    repository: r.name.clone(),
                    tag: model(t, ids, &n.domain, hosts, &reference),
                });
            }
        }
    }
    out
}

struct Ids {
    id: i64,
    repo_id: i64,
    now: i64,
}

/// A fixture tag as the API's model, with the format's defaults for times.
fn model(
    t: &FixtureTag,
    ids: Ids,
    domain: &str,
    hosts: &PullHosts,
    reference: &str,
) -> ShowReposTagResp {
    let updated = t.updated.or(t.created).map_or(ids.now, |ts| ts.0);
    let created = t.created.map_or(updated, |ts| ts.0);
    ShowReposTagResp {
        id: ids.id,
        repo_id: ids.repo_id,
        tag: t.tag.clone(),
        image_id: t.image_id.clone(),
        manifest: t.manifest.clone(),
        digest: t.digest.clone(),
        schema: t.schema,
        path: format!("{}/{reference}", hosts.external),
        internal_path: format!("{}/{reference}", hosts.internal),
        size: t.size,
        is_trusted: t.is_trusted,
        created: format_timestamp(created),
        updated: format_timestamp(updated),
        deleted: t.deleted.map(|ts| format_timestamp(ts.0)),
        domain_id: domain.to_owned(),
        scanned: t.scanned,
        // The fixture format only admits 0 and 1.
        tag_type: t
            .tag_type
            .try_into()
            .unwrap_or_else(|_| 0.try_into().expect("0 is a tag type")),
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// [`Accounts`] and [`Catalog`] behind the generated [`Api`].
#[derive(Debug, Clone, Default)]
pub struct MemoryServer {
    /// Who may call.
    pub accounts: Accounts,
    /// What they may list.
    pub catalog: Catalog,
}

impl MemoryServer {
    /// Everything in `fixture`, with swrd's default pull hosts.
    pub fn new(fixture: &Fixture) -> Self {
        Self::with_hosts(fixture, &PullHosts::default())
    }

    /// Everything in `fixture`, pulls addressed to `hosts`.
    pub fn with_hosts(fixture: &Fixture, hosts: &PullHosts) -> Self {
        MemoryServer {
            accounts: Accounts::new(fixture),
            catalog: Catalog::new(fixture, hosts, SystemTime::now()),
        }
    }
}

impl Api for MemoryServer {
    type Principal = Domain;

    async fn authenticate(
        &self,
        credentials: Credentials,
        _request_id: &str,
    ) -> Result<Domain, Rejection> {
        self.accounts.authenticate(&credentials, SystemTime::now())
    }

    async fn list_repository_tags(
        &self,
        request: ListRepositoryTagsRequest<Domain>,
    ) -> Result<ListRepositoryTagsResponse, Rejection> {
        let repository = request.path.repository_name();
        let tags =
            self.catalog
                .repository(&request.principal, &request.path.namespace, &repository)?;
        Ok(paginate(tags, &request.query).into())
    }
}
