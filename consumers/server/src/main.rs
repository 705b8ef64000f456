//! The reference in-memory server, served: `swr-consumer-server FIXTURE [ADDR]`.
use std::sync::Arc;

use swr_api::server::{axum, memory::MemoryServer, router, spec_routes};

/// The whole app for `fixture`: the API and its `/openapi.json` and `/docs`.
pub fn app(fixture: &swr_api::fixture::Fixture) -> axum::Router {
    router(Arc::new(MemoryServer::new(fixture))).merge(spec_routes())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: FIXTURE [ADDR]")?;
    let fixture = swr_api::fixture::load(path)?;
    let addr = std::env::args().nth(2).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app(&fixture)).await?;
    Ok(())
}
