//! Typed access to Huawei Cloud SWR's *ListRepositoryTags* API, generated from
//! `openapi.yaml` at build time.
//!
//! The spec is the single source of truth: edit `openapi.yaml`, rebuild, and every
//! generated item follows. The filter grammar lives in [`swr_filter`] and is
//! re-exported here so callers need one dependency.

pub use swr_filter;

/// The OpenAPI document exactly as written (YAML).
pub const SPEC_YAML: &str = include_str!("../openapi.yaml");

/// The OpenAPI document converted to JSON at build time. Byte-stable: the same
/// YAML always gives the same bytes, so it can be served and snapshot-tested.
pub const SPEC_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
