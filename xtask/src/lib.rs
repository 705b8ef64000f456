//! The library behind `cargo xtask`: kept apart from `main.rs` so that the drift
//! check runs from `cargo test` exactly as it runs from the command line.

pub mod bench;
pub mod bench_sync;
pub mod check;
pub mod codegen;
pub mod compat;
pub mod conformance;
pub mod consumers;
pub mod docs;
pub mod lint;
pub mod prepare;
pub mod schema_drift;

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding `openapi.yaml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The spec every command reads unless told otherwise.
pub fn spec_path() -> PathBuf {
    workspace_root().join("openapi.yaml")
}
