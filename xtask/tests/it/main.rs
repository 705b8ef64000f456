//! xtask's integration tests, linked into one test binary (`it`); `common`
//! is the drift-check harness they share.

mod common;

mod check;
mod compat;
