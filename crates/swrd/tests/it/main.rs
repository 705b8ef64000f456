//! swrd's integration tests, linked into one test binary (`it`): one link
//! and one process instead of one per file. Each module is a former
//! `tests/<name>.rs`; `common` is the harness they share (a store on each
//! backend, a real `swrd` process, external components, `on_both_backends!`).
//!
//! One test: `cargo test -p swrd --test it -- http::sqlite::auth_matrix`.

#[macro_use]
mod common;

mod cancellation;
mod cli;
mod conformance;
mod docs_browser;
mod faults;
mod faults_webhook;
mod fuzz_props;
mod http;
mod official_sdk;
mod pages;
mod registry;
mod replicas;
mod security;
mod soak;
mod store;
