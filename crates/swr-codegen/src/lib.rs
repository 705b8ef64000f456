//! `openapi.yaml` -> Rust source for `swr-api`: the shared model types and the
//! progenitor client.
//!
//! Generic over the spec: nothing here names an operation or a schema of ours;
//! the project-specific choices (which schemas are `swr-filter` types) live in
//! [`settings`]. Output is formatted with prettyplease so it is byte-stable
//! and can be snapshot-tested.

#![deny(missing_docs)]
pub mod server;
pub mod settings;

mod postprocess;

use progenitor_impl::{GenerationSettings, Generator, InterfaceStyle, TagStyle};
use serde::Deserialize as _;
use serde::ser::{Serialize, SerializeMap, Serializer};

pub use settings::{ClientOptions, Replacement, TypeImpl};

/// Why loading or generating failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not YAML (or JSON).
    #[error("the spec is not valid YAML: {0}")]
    Yaml(#[from] yaml_serde::Error),
    /// The document does not have the shape of an OpenAPI 3.0 document.
    #[error("the spec is not an OpenAPI 3.0 document: {0}")]
    OpenApi(#[from] serde_json::Error),
    /// progenitor rejected the spec.
    #[error("progenitor: {0}")]
    Progenitor(#[from] progenitor_impl::Error),
    /// progenitor emitted tokens that are not a Rust file.
    #[error("generated code does not parse: {0}")]
    Syntax(#[from] syn::Error),
    /// progenitor's output no longer has the shape the post-processing expects
    /// (most likely after a progenitor upgrade): fail rather than emit a
    /// client that silently keeps the behaviour we meant to remove.
    #[error("unexpected progenitor output: {0}")]
    Shape(String),
}

/// A parsed spec: the raw JSON (served as-is) and the typed model (for
/// generators). Both come from the same YAML text.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The document exactly as written, as JSON.
    pub json: serde_json::Value,
    /// The same document as an `openapiv3` model.
    pub openapi: openapiv3::OpenAPI,
}

/// Parses the YAML text of an OpenAPI 3.0 document.
pub fn load_spec(yaml: &str) -> Result<Spec, Error> {
    let json: serde_json::Value = yaml_serde::from_str(yaml)?;
    let openapi = openapiv3::OpenAPI::deserialize(&json)?;
    Ok(Spec { json, openapi })
}

/// Pretty JSON of the spec with object keys sorted, ending in a newline.
///
/// Keys are sorted explicitly rather than left to `serde_json::Map`, whose
/// order flips to insertion order when any crate in the build enables
/// serde_json's `preserve_order`: the bytes must not depend on feature
/// unification.
pub fn spec_json(spec: &Spec) -> String {
    let mut out = serde_json::to_string_pretty(&Sorted(&spec.json))
        .expect("a serde_json::Value always serializes");
    out.push('\n');
    out
}

struct Sorted<'a>(&'a serde_json::Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut m = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, &Sorted(v))?;
                }
                m.end()
            }
            serde_json::Value::Array(items) => serializer.collect_seq(items.iter().map(Sorted)),
            other => other.serialize(serializer),
        }
    }
}

/// Generated source files, each formatted and starting with a `@generated`
/// comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Contents of `pub mod types { ... }`: model and parameter types. Needs
    /// only `serde` and `regress` (pattern checks), so a server can use them
    /// without reqwest.
    pub types: String,
    /// Contents of `pub mod client { ... }`: the progenitor builder-style
    /// client. It reaches the model types as `super::types`, so `types` and
    /// `client` must be sibling modules.
    pub client: String,
}

/// Generates the types and client with this project's [`ClientOptions`].
pub fn generate_client(spec: &Spec) -> Result<Generated, Error> {
    generate_client_with(spec, &ClientOptions::default())
}

/// Generates the types and client with explicit options.
///
/// progenitor's output is then post-processed (see the `postprocess` module):
/// its `types` module is split out, the `api-version` request header is
/// dropped, `Client::new` returns a `Result` instead of panicking, and a
/// required parameter whose schema has a string `default` starts at it.
pub fn generate_client_with(spec: &Spec, options: &ClientOptions) -> Result<Generated, Error> {
    let mut settings = GenerationSettings::new();
    // Builder, not Positional: positional arguments are ordered by name, so a
    // new query parameter would silently shift every later argument.
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged);
    for r in &options.replacements {
        settings.with_replacement(&r.schema, &r.rust_type, r.impls.iter().cloned());
    }
    for d in &options.derives {
        settings.with_derive(d);
    }
    let tokens = Generator::new(&settings).generate_tokens(&spec.openapi)?;
    let file: syn::File = syn::parse2(tokens)?;
    let (types, client) =
        postprocess::run(file, &spec.openapi, options.constructor_prelude.as_deref())?;
    Ok(Generated {
        types: render(&types),
        client: render(&client),
    })
}

fn render(file: &syn::File) -> String {
    let mut out = String::from("// @generated by swr-codegen from openapi.yaml. Do not edit.\n");
    out.push_str(&prettyplease::unparse(file));
    out
}
