//! swrd, the reference server of the swr-tags project.
//!
//! - [`api`]: the implementation of the generated `swr_api::server::Api` trait
//!   (requests to store calls, nothing else);
//! - [`auth`]: token and AK/SK (`SDK-HMAC-SHA256`) checks against the store;
//! - [`http`]: the whole HTTP surface (API, `/openapi.json`, `/docs`, probes,
//!   `/metrics`) and its layers;
//! - [`pages`]: the in-memory order index and serialized tags that make a
//!   page at any offset cost O(limit), checked against the store's version;
//! - [`store`]: SQLite/PostgreSQL storage behind the [`store::Store`] trait;
//! - [`registry`]: the feed from a real OCI registry (webhook + resync);
//! - [`fixtures`]: the YAML/JSON format that seeds a store; [`synth`]: bulk
//!   synthetic tags; [`demo`]: the `--demo` data.

#![deny(missing_docs)]
pub mod api;
pub mod auth;
pub mod demo;
pub use swr_api::fixture as fixtures;
pub mod http;
pub mod pages;
pub mod registry;
pub mod store;
pub mod synth;
