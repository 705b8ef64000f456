//! Schema helpers: `$ref` resolution, model type names and Rust types of JSON bodies.

use heck::ToUpperCamelCase;
use openapiv3::{IntegerFormat, ReferenceOr, Schema, SchemaKind, Type, VariantOrUnknownOrEmpty};

use super::{Cx, invalid, unsupported};
use crate::server::ServerError;

impl Cx<'_> {
    pub(super) fn schema(&self, at: &str, reference: &str) -> Result<&Schema, ServerError> {
        let mut reference = reference.to_owned();
        for _ in 0..16 {
            let name = schema_name(at, &reference)?;
            match self
                .spec
                .components
                .as_ref()
                .and_then(|c| c.schemas.get(name))
            {
                Some(ReferenceOr::Item(s)) => return Ok(s),
                Some(ReferenceOr::Reference { reference: next }) => reference.clone_from(next),
                None => {
                    return Err(invalid(
                        at.into(),
                        format!("$ref {reference} does not resolve"),
                    ));
                }
            }
        }
        Err(invalid(at.into(), format!("$ref {reference} is a cycle")))
    }

    pub(super) fn model_type(&self, schema: &str) -> String {
        format!(
            "{}::{}",
            self.options.types_module,
            schema.to_upper_camel_case()
        )
    }

    /// For a response body that is a JSON array (inline or by `$ref`), the Rust
    /// type of its items. Such bodies can be long (a whole repository), so
    /// they are typed to allow streaming.
    pub(super) fn array_items(
        &self,
        at: &str,
        schema: &ReferenceOr<Schema>,
    ) -> Result<Option<String>, ServerError> {
        let schema = match schema {
            ReferenceOr::Reference { reference } => {
                let name = schema_name(at, reference)?;
                if self.options.replacements.contains_key(name) {
                    return Ok(None);
                }
                self.schema(at, reference)?
            }
            ReferenceOr::Item(s) => s,
        };
        match &schema.schema_kind {
            SchemaKind::Type(Type::Array(a)) => Ok(Some(match &a.items {
                Some(ReferenceOr::Item(s)) => {
                    self.data_type(at, &ReferenceOr::Item((**s).clone()))?
                }
                Some(ReferenceOr::Reference { reference }) => self.data_type(
                    at,
                    &ReferenceOr::Reference {
                        reference: reference.clone(),
                    },
                )?,
                None => "::serde_json::Value".into(),
            })),
            _ => Ok(None),
        }
    }

    /// Rust type of a JSON body or response header schema.
    pub(super) fn data_type(
        &self,
        at: &str,
        schema: &ReferenceOr<Schema>,
    ) -> Result<String, ServerError> {
        let schema = match schema {
            ReferenceOr::Reference { reference } => {
                let name = schema_name(at, reference)?;
                if let Some(rust) = self.options.replacements.get(name) {
                    return Ok(rust.clone());
                }
                self.schema(at, reference)?;
                return Ok(self.model_type(name));
            }
            ReferenceOr::Item(s) => s,
        };
        Ok(match &schema.schema_kind {
            SchemaKind::Type(Type::String(_)) => "::std::string::String".into(),
            SchemaKind::Type(Type::Integer(i)) => {
                if matches!(
                    i.format,
                    VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32)
                ) {
                    "i32".into()
                } else {
                    "i64".into()
                }
            }
            SchemaKind::Type(Type::Number(_)) => "f64".into(),
            SchemaKind::Type(Type::Boolean(_)) => "bool".into(),
            SchemaKind::Type(Type::Array(a)) => {
                let items = match &a.items {
                    Some(ReferenceOr::Item(s)) => {
                        self.data_type(at, &ReferenceOr::Item((**s).clone()))?
                    }
                    Some(ReferenceOr::Reference { reference }) => self.data_type(
                        at,
                        &ReferenceOr::Reference {
                            reference: reference.clone(),
                        },
                    )?,
                    None => "::serde_json::Value".into(),
                };
                format!("::std::vec::Vec<{items}>")
            }
            _ => "::serde_json::Value".into(),
        })
    }
}

/// The schema of the `application/json` entry of a `content` map; `None`
/// when there is no content.
pub(super) fn json_schema<'a>(
    at: &str,
    content: impl IntoIterator<Item = (&'a String, &'a openapiv3::MediaType)>,
) -> Result<Option<&'a ReferenceOr<Schema>>, ServerError> {
    let content: Vec<_> = content.into_iter().collect();
    if content.is_empty() {
        return Ok(None);
    }
    let media = content
        .iter()
        .find(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k == "application/json" || k.starts_with("application/json;")
        })
        .map(|(_, m)| m)
        .ok_or_else(|| {
            unsupported(
                at.into(),
                format!(
                    "content other than application/json ({})",
                    content
                        .iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    Ok(media.schema.as_ref())
}

pub(super) fn schema_name<'a>(at: &str, reference: &'a str) -> Result<&'a str, ServerError> {
    reference
        .strip_prefix("#/components/schemas/")
        .ok_or_else(|| unsupported(at.into(), format!("schema $ref {reference}")))
}
