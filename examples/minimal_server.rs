//! A complete SWR tag server on your own storage (a `HashMap`) in 60 lines; it passes the
//! conformance kit. `cargo run --example minimal_server --features docs -- FIXTURE [ADDR]`
use std::{collections::HashMap, sync::Arc, time::SystemTime};

use swr_api::server::memory::{Accounts, Domain, PullHosts, fixture_tags};
use swr_api::server::{Api, ListRepositoryTagsRequest as Request, Rejection, support::Credentials};
use swr_api::server::{ListRepositoryTagsResponse as Response, axum, paging, router, spec_routes};
use swr_api::types::ShowReposTagResp as Tag;

struct Server {
    accounts: Accounts, // tokens and AK/SK pairs of each domain
    /// namespace -> (owning domain, repository -> its tags as the API shows them)
    catalog: HashMap<String, (String, HashMap<String, Vec<Tag>>)>,
}

impl Api for Server {
    type Principal = Domain;

    async fn authenticate(&self, credentials: Credentials, _: &str) -> Result<Domain, Rejection> {
        self.accounts.authenticate(&credentials, SystemTime::now()) // tokens; AK/SK + date window
    }

    async fn list_repository_tags(&self, req: Request<Domain>) -> Result<Response, Rejection> {
        let (ns, repo) = (&req.path.namespace, req.path.repository_name()); // `$` is `/`
        let repos = match self.catalog.get(ns) {
            Some((owner, repos)) if *owner == req.principal.0 => repos,
            // Another domain's namespace answers exactly like a missing one.
            _ => return Err(Rejection::not_found_namespace(ns)),
        };
        let tags = repos
            .get(&repo)
            .ok_or_else(|| Rejection::not_found_repository(ns, &repo))?;
        // Filter, order (ties by id), offset/limit and Content-Range, as specified.
        Ok(paging::paginate(tags, &req.query).into())
    }
}

/// The API and its docs, over the tags of `fixture`.
pub fn app(fixture: &swr_api::fixture::Fixture) -> axum::Router {
    let mut catalog = HashMap::new();
    for n in &fixture.namespaces {
        let repos = n.repositories.iter().map(|r| (r.name.clone(), vec![]));
        catalog.insert(n.name.clone(), (n.domain.clone(), repos.collect()));
    }
    for t in fixture_tags(fixture, &PullHosts::default(), SystemTime::now()) {
        let repos: &mut HashMap<_, Vec<_>> = &mut catalog.get_mut(&t.namespace).unwrap().1;
        repos.get_mut(&t.repository).unwrap().push(t.tag);
    }
    let accounts = Accounts::new(fixture);
    router(Arc::new(Server { accounts, catalog })).merge(spec_routes())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fixture = swr_api::fixture::load(std::env::args().nth(1).ok_or("usage: FIXTURE [ADDR]")?)?;
    let addr = std::env::args().nth(2);
    let listener = tokio::net::TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"));
    axum::serve(listener.await?, app(&fixture)).await?;
    Ok(())
}
