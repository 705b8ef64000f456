//! swrd, the reference server of the swr-tags project.
//!
//! - [`api`]: the implementation of the generated `swr_api::server::Api` trait
//!   (requests to store calls, nothing else);
//! - [`auth`]: token and AK/SK (`SDK-HMAC-SHA256`) checks against the store;
//! - [`http`]: the whole HTTP surface (API, `/openapi.json`, `/docs`, probes,
//!   `/metrics`) and its layers;
//! - [`listing`]: "a page of a repository": the in-memory order index kept
//!   current by the store's change log, serialized tags, the SQL fallback
//!   and the unpaged stream, behind one call; [`render`]: records as the API
//!   shows them;
//! - [`store`]: SQLite/PostgreSQL storage behind one trait per role (bundled as
//!   [`store::Store`]);
//! - [`registry`]: the feed from a real OCI registry (webhook + resync);
//! - [`fixtures`]: the YAML/JSON format that seeds a store; [`synth`]: bulk
//!   synthetic tags; [`demo`]: the `--demo` data.

#![deny(missing_docs)]
pub mod api;
pub mod auth;
pub mod demo;
pub use swr_api::fixture as fixtures;
pub mod http;
pub mod listing;
pub mod registry;
pub mod render;
pub mod store;
pub mod synth;
