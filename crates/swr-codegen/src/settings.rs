//! Project configuration of the generator: which spec schemas are our own
//! hand-written types, and what generated types derive. Kept apart from the
//! generator logic so that a new replacement is a one-line change here.

pub use progenitor_impl::TypeImpl;

/// A `components/schemas` entry replaced by an existing Rust type instead of a
/// generated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// Schema name in `components/schemas`.
    pub schema: String,
    /// Absolute Rust path of the type used instead (`::crate_name::Type`).
    pub rust_type: String,
    /// The impls typify may rely on (it derives nothing for a replaced type).
    pub impls: Vec<TypeImpl>,
}

impl Replacement {
    /// A replacement by a type that has `Display` and `FromStr`, which is what
    /// generated code needs to put a value in a path, query or header.
    pub fn string_like(schema: &str, rust_type: &str) -> Self {
        Self {
            schema: schema.to_owned(),
            rust_type: rust_type.to_owned(),
            impls: vec![TypeImpl::Display, TypeImpl::FromStr],
        }
    }
}

/// Options of [`crate::generate_client_with`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Schemas replaced by hand-written types.
    pub replacements: Vec<Replacement>,
    /// Extra derives on every generated model type (progenitor already derives
    /// `Clone, Debug, Serialize, Deserialize`).
    pub derives: Vec<String>,
    /// A statement run at the start of `Client::new`, before reqwest builds
    /// its client.
    pub constructor_prelude: Option<String>,
}

impl Default for ClientOptions {
    /// This project's settings: the filter grammar and its enums come from
    /// `swr-filter` (one parser for client, server and CLI), and model types
    /// are `PartialEq` so tests can compare bodies.
    fn default() -> Self {
        Self {
            replacements: vec![
                Replacement::string_like("TagFilter", "::swr_filter::TagFilter"),
                Replacement::string_like("OrderColumn", "::swr_filter::OrderColumn"),
                Replacement::string_like("OrderType", "::swr_filter::OrderType"),
            ],
            derives: vec!["PartialEq".to_owned()],
            // reqwest is built without a default rustls provider (aws-lc-sys
            // costs over a minute of cold build); without one installed,
            // building a client panics. The root crate installs ring's.
            constructor_prelude: Some("crate::tls::install_default_provider();".to_owned()),
        }
    }
}
