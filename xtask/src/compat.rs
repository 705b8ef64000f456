//! Spec compatibility: every difference between the spec users already have
//! (the newest `openapi/released/{version}.yaml`, written by
//! `cargo xtask release`) and `openapi.yaml`, classified as oasdiff and
//! dropshot-api-manager do.
//!
//! - **Breaking**: a removed or renamed path, operation, parameter, response
//!   field, status or enum value; a new required parameter; a narrowed type,
//!   pattern, length or range in a request (a widened one in a response: old
//!   clients reject what they never saw); a changed SWR error code.
//! - **Compatible**: a new optional parameter, a new operation, status or
//!   response field, a widened request constraint, documentation.
//!
//! A breaking change needs a major bump of `info.version` and a
//! semver-incompatible bump of the `swr-api` crate; [`unreleased_breaks`] names each one
//! that lacks it (and `cargo test` runs it, through `check::run`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod diff;

pub use diff::diff;

/// How a difference affects clients built from the released spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Old clients can break.
    Breaking,
    /// Old clients keep working.
    Compatible,
}

/// One difference between two specs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub class: Class,
    /// Where, in the new spec's terms (`GET /path: parameter limit`).
    pub at: String,
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.class {
            Class::Breaking => "breaking",
            Class::Compatible => "compatible",
        };
        write!(f, "{class}: {}: {}", self.at, self.what)
    }
}

/// The folder of released specs under the workspace root.
pub fn released_dir(root: &Path) -> PathBuf {
    root.join("openapi/released")
}

/// A released spec: its `info.version`, the `swr-api` version it shipped
/// in, and the document.
pub struct Release {
    pub version: String,
    pub crate_version: String,
    pub spec: Value,
}

/// The newest released spec (by `info.version`), if any.
pub fn latest_release(root: &Path) -> anyhow::Result<Option<Release>> {
    let Ok(entries) = std::fs::read_dir(released_dir(root)) else {
        return Ok(None);
    };
    let mut newest: Option<(Vec<u64>, PathBuf)> = None;
    for entry in entries {
        let path = entry?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_suffix(".yaml"))
        else {
            continue;
        };
        let key = numbers(stem);
        if newest.as_ref().is_none_or(|(k, _)| key > *k) {
            newest = Some((key, path));
        }
    }
    let Some((_, path)) = newest else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)?;
    let spec: Value = yaml_serde::from_str(&text)?;
    let crate_version = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix(RELEASE_HEADER))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("0.0.0")
        .to_owned();
    Ok(Some(Release {
        version: spec["info"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        crate_version,
        spec,
    }))
}

/// First line of a released spec; the crate version follows it.
pub const RELEASE_HEADER: &str = "# Released with swr-api ";

/// `cargo xtask release`: keeps `spec_text` as `openapi/released/{info.version}.yaml`,
/// recording `crate_version`. Returns the file written.
pub fn bless(root: &Path, spec_text: &str, crate_version: &str) -> anyhow::Result<PathBuf> {
    let spec: Value = yaml_serde::from_str(spec_text)?;
    let version = spec["info"]["version"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("openapi.yaml has no info.version"))?;
    let dir = released_dir(root);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{version}.yaml"));
    let header = format!(
        "{RELEASE_HEADER}{crate_version} (`cargo xtask release`): the compatibility baseline of \
         `cargo xtask check`. Do not edit.\n"
    );
    std::fs::write(&path, header + spec_text)?;
    Ok(path)
}

/// Whether `new` is a semver-incompatible successor of `old` (`1.2.3` ->
/// `2.0.0`; for `0.x`, `0.1.5` -> `0.2.0`, as cargo reads versions).
pub fn is_incompatible_bump(old: &str, new: &str) -> bool {
    let (o, n) = (numbers(old), numbers(new));
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    if at(&o, 0) == 0 && at(&n, 0) == 0 {
        at(&n, 1) > at(&o, 1)
    } else {
        at(&n, 0) > at(&o, 0)
    }
}

fn numbers(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .map_while(|p| p.parse().ok())
        .collect()
}

/// The `[package]` version in a `Cargo.toml`.
pub fn package_version(cargo_toml: &str) -> Option<String> {
    let package = cargo_toml
        .split("\n[")
        .find(|s| s.starts_with("package]"))?;
    package.lines().find_map(|l| {
        let v = l
            .strip_prefix("version")?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        Some(v.trim_matches('"').to_owned())
    })
}

/// The breaking changes since the last release that the versions do not
/// account for: each is a problem for `cargo xtask check`.
pub fn unreleased_breaks(root: &Path, new: &Value) -> anyhow::Result<Vec<(String, String)>> {
    let Some(release) = latest_release(root)? else {
        return Ok(vec![(
            released_dir(root).display().to_string(),
            "no released spec to compare with".to_owned(),
        )]);
    };
    let cargo = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let crate_version = package_version(&cargo).unwrap_or_default();
    let spec_version = new["info"]["version"].as_str().unwrap_or_default();
    let spec_bumped = numbers(spec_version).first() > numbers(&release.version).first();
    let crate_bumped = is_incompatible_bump(&release.crate_version, &crate_version);
    let mut out = Vec::new();
    for change in diff(&release.spec, new)
        .into_iter()
        .filter(|c| c.class == Class::Breaking)
    {
        let mut missing = Vec::new();
        if !spec_bumped {
            missing.push(format!(
                "info.version {spec_version} is not a major bump of {}",
                release.version
            ));
        }
        if !crate_bumped {
            missing.push(format!(
                "swr-api {crate_version} is semver-compatible with {}",
                release.crate_version
            ));
        }
        if !missing.is_empty() {
            out.push((
                change.at.clone(),
                format!(
                    "{}: breaks clients of the released spec {}, but {}",
                    change.what,
                    release.version,
                    missing.join(" and ")
                ),
            ));
        }
    }
    Ok(out)
}
