//! swr-api's integration tests, linked into one test binary (`it`). Each
//! module is a former `tests/<name>.rs` and keeps its own `#![cfg(feature)]`.

mod client_glue;
mod client_stream;
mod fuzz_props;
mod round_trip;
mod server_router;
mod spec;
