//! swr-codegen's integration tests, linked into one test binary (`it`).

mod generator;
mod server_generic;
