//! `cargo xtask codegen [--check]`: the generated code, committed as snapshots.
//!
//! `build.rs` generates into `$OUT_DIR`, which nobody reviews. The same output is
//! committed under `generated/`, so a spec or generator change
//! shows its effect on the generated Rust in the diff, and `--check` (also run by
//! `cargo xtask check` and `cargo test`) fails when the two drift apart.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Where the snapshots live, relative to the workspace root.
pub const SNAPSHOT_DIR: &str = "generated";

/// One generated file: its path relative to the workspace root and contents.
pub struct Snapshot {
    pub path: PathBuf,
    pub contents: String,
}

/// Generates every snapshot from the spec text, with the same options `build.rs`
/// uses.
pub fn generate(spec_yaml: &str) -> Result<Vec<Snapshot>> {
    let spec = swr_codegen::load_spec(spec_yaml)?;
    let client = swr_codegen::generate_client(&spec)?;
    let server = swr_codegen::server::generate_server(
        &spec,
        &swr_codegen::server::ServerOptions::swr_api(),
    )?;
    let dir = Path::new(SNAPSHOT_DIR);
    Ok(vec![
        Snapshot {
            path: dir.join("server.rs"),
            contents: server,
        },
        Snapshot {
            path: dir.join("types.rs"),
            contents: client.types,
        },
        Snapshot {
            path: dir.join("client.rs"),
            contents: client.client,
        },
        Snapshot {
            path: dir.join("openapi.json"),
            contents: swr_codegen::spec_json(&spec),
        },
    ])
}

/// Writes the snapshots; returns the paths that changed.
pub fn write(root: &Path, spec_yaml: &str) -> Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    for s in generate(spec_yaml)? {
        let path = root.join(&s.path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(&s.contents) {
            std::fs::write(&path, &s.contents)
                .with_context(|| format!("writing {}", path.display()))?;
            changed.push(s.path);
        }
    }
    Ok(changed)
}

/// Snapshots whose committed contents differ from a fresh generation, each with
/// a unified diff (committed -> generated).
pub fn stale(root: &Path, spec_yaml: &str) -> Result<Vec<(PathBuf, String)>> {
    Ok(stale_of(root, generate(spec_yaml)?))
}

/// [`stale`] for snapshots already generated (the check also reads them).
pub fn stale_of(root: &Path, generated: Vec<Snapshot>) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for s in generated {
        let committed = std::fs::read_to_string(root.join(&s.path)).unwrap_or_default();
        if committed != s.contents {
            let name = s.path.display().to_string();
            let diff = similar::TextDiff::from_lines(&committed, &s.contents)
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("{name} (committed)"),
                    &format!("{name} (generated)"),
                )
                .to_string();
            out.push((s.path, diff));
        }
    }
    out
}
