//! Parameters: a spec parameter -> its location, wire name, Rust type, default and checks.

use heck::{ToShoutySnakeCase, ToSnakeCase};
use openapiv3::{
    IntegerFormat, Parameter, ParameterData, ParameterSchemaOrContent, ReferenceOr, Schema,
    SchemaKind, Type, VariantOrUnknownOrEmpty,
};

use super::schema::schema_name;
use super::{Cx, DefaultValue, Location, Param, Value, invalid, rust_ident, unsupported};
use crate::server::ServerError;

impl Cx<'_> {
    pub(super) fn parameter(
        &self,
        at: &str,
        p: &ReferenceOr<Parameter>,
    ) -> Result<(Location, ParameterData), ServerError> {
        let p = match p {
            ReferenceOr::Item(p) => p,
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/parameters/")
                    .ok_or_else(|| unsupported(at.into(), format!("parameter $ref {reference}")))?;
                match self
                    .spec
                    .components
                    .as_ref()
                    .and_then(|c| c.parameters.get(name))
                {
                    Some(ReferenceOr::Item(p)) => p,
                    _ => {
                        return Err(invalid(
                            at.into(),
                            format!("parameter $ref {reference} does not resolve"),
                        ));
                    }
                }
            }
        };
        Ok(match p {
            Parameter::Path { parameter_data, .. } => (Location::Path, parameter_data.clone()),
            Parameter::Query { parameter_data, .. } => (Location::Query, parameter_data.clone()),
            Parameter::Header { parameter_data, .. } => (Location::Header, parameter_data.clone()),
            Parameter::Cookie { parameter_data, .. } => {
                return Err(unsupported(
                    format!("{at}.parameters.{}", parameter_data.name),
                    "cookie parameters".into(),
                ));
            }
        })
    }

    pub(super) fn param(
        &self,
        at: &str,
        type_prefix: &str,
        loc: Location,
        data: &ParameterData,
    ) -> Result<Param, ServerError> {
        let at = format!("{at}.parameters.{}({})", data.name, loc.as_str());
        let schema = match &data.format {
            ParameterSchemaOrContent::Schema(s) => s,
            ParameterSchemaOrContent::Content(_) => {
                return Err(unsupported(at, "`content` instead of `schema`".into()));
            }
        };
        let is_content_type =
            loc == Location::Header && data.name.eq_ignore_ascii_case("content-type");
        let (value, default) = self.param_value(&at, schema, is_content_type)?;
        let code = match data.extensions.get("x-error-code") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| invalid(at.clone(), "x-error-code must be a string".into()))?
                    .to_owned(),
            ),
        };
        let field = rust_ident(&data.name.to_snake_case());
        if field.is_empty() {
            return Err(invalid(at, "the name gives no Rust field name".into()));
        }
        let pattern_static = match &value {
            Value::Str {
                pattern: Some(_), ..
            } => Some(format!(
                "{}_{}_{}_PATTERN",
                type_prefix.to_shouty_snake_case(),
                loc.as_str().to_shouty_snake_case(),
                data.name.to_shouty_snake_case()
            )),
            _ => None,
        };
        let default = default.filter(|_| value.is_primitive());
        Ok(Param {
            name: data.name.clone(),
            field,
            doc: data.description.clone(),
            required: (data.required || loc == Location::Path) && !is_content_type,
            default,
            value,
            code,
            pattern_static,
        })
    }

    pub(super) fn param_value(
        &self,
        at: &str,
        schema: &ReferenceOr<Schema>,
        media_type: bool,
    ) -> Result<(Value, Option<DefaultValue>), ServerError> {
        let (schema, model) = match schema {
            ReferenceOr::Item(s) => (s, None),
            ReferenceOr::Reference { reference } => {
                let name = schema_name(at, reference)?;
                if let Some(rust) = self.options.replacements.get(name) {
                    return Ok((Value::Replaced { rust: rust.clone() }, None));
                }
                // Only string models are parsed into the model type (typify
                // gives them `FromStr`); other models are read as their
                // primitive after the same checks.
                (self.schema(at, reference)?, Some(self.model_type(name)))
            }
        };
        let default = schema.schema_data.default.as_ref();
        Ok(match &schema.schema_kind {
            SchemaKind::Type(Type::String(s)) => {
                if let Some(p) = &s.pattern {
                    regex::Regex::new(p).map_err(|e| {
                        invalid(at.into(), format!("pattern is not a valid Rust regex: {e}"))
                    })?;
                }
                let enumeration: Vec<String> = s.enumeration.iter().flatten().cloned().collect();
                (
                    Value::Str {
                        min: s.min_length,
                        max: s.max_length,
                        pattern: s.pattern.clone(),
                        enumeration,
                        media_type,
                        model,
                    },
                    default
                        .and_then(|d| d.as_str())
                        .map(|d| DefaultValue::Str(d.to_owned())),
                )
            }
            SchemaKind::Type(Type::Integer(i)) => {
                let wide = !matches!(
                    i.format,
                    VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32)
                );
                let mut min = i.minimum.map(i128::from);
                let mut max = i.maximum.map(i128::from);
                if i.exclusive_minimum {
                    min = min.map(|m| m + 1);
                }
                if i.exclusive_maximum {
                    max = max.map(|m| m - 1);
                }
                let unsigned = min.is_some_and(|m| m >= 0);
                let (rust, lo, hi): (&'static str, i128, i128) = match (wide, unsigned) {
                    (true, true) => ("u64", 0, u64::MAX.into()),
                    (true, false) => ("i64", i64::MIN.into(), i64::MAX.into()),
                    (false, true) => ("u32", 0, u32::MAX.into()),
                    (false, false) => ("i32", i32::MIN.into(), i32::MAX.into()),
                };
                let min = min.map_or(lo, |m| m.max(lo));
                let max = max.map_or(hi, |m| m.min(hi));
                if min > max {
                    return Err(invalid(
                        at.into(),
                        format!("empty integer range {min}..={max}"),
                    ));
                }
                let default = default
                    .and_then(serde_json::Value::as_i64)
                    .map(i128::from)
                    .filter(|d| (min..=max).contains(d))
                    .map(DefaultValue::Int);
                (
                    Value::Int {
                        rust,
                        min,
                        max,
                        enumeration: i.enumeration.iter().flatten().copied().collect(),
                    },
                    default,
                )
            }
            SchemaKind::Type(Type::Number(n)) => {
                if n.exclusive_minimum || n.exclusive_maximum {
                    return Err(unsupported(
                        at.into(),
                        "exclusiveMinimum/Maximum on a number".into(),
                    ));
                }
                (
                    Value::Number {
                        min: n.minimum,
                        max: n.maximum,
                    },
                    default
                        .and_then(serde_json::Value::as_f64)
                        .map(DefaultValue::Number),
                )
            }
            SchemaKind::Type(Type::Boolean(_)) => (
                Value::Bool,
                default
                    .and_then(serde_json::Value::as_bool)
                    .map(DefaultValue::Bool),
            ),
            _ => {
                return Err(unsupported(
                    at.into(),
                    "a parameter schema other than string, integer, number or boolean \
                     (replace the schema with a Rust type that has FromStr)"
                        .into(),
                ));
            }
        })
    }
}
