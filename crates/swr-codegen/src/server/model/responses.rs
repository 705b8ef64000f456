//! Request bodies, responses and response headers.

use heck::{ToSnakeCase, ToUpperCamelCase};
use openapiv3::{Header, ParameterSchemaOrContent, ReferenceOr, RequestBody, Response};

use super::operation::unique_fields;
use super::schema::json_schema;
use super::{
    Cx, RequestBodyModel, ResponseHeader, ResponseModel, StatusModel, invalid, rust_ident,
    unsupported,
};
use crate::server::ServerError;

impl Cx<'_> {
    pub(super) fn request_body(
        &self,
        at: &str,
        body: &ReferenceOr<RequestBody>,
    ) -> Result<RequestBodyModel, ServerError> {
        let at = format!("{at}.requestBody");
        let body = match body {
            ReferenceOr::Item(b) => b,
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/requestBodies/")
                    .ok_or_else(|| unsupported(at.clone(), format!("$ref {reference}")))?;
                match self
                    .spec
                    .components
                    .as_ref()
                    .and_then(|c| c.request_bodies.get(name))
                {
                    Some(ReferenceOr::Item(b)) => b,
                    _ => return Err(invalid(at, format!("$ref {reference} does not resolve"))),
                }
            }
        };
        let schema = json_schema(&at, &body.content)?.ok_or_else(|| {
            unsupported(at.clone(), "a request body without a JSON schema".into())
        })?;
        Ok(RequestBodyModel {
            rust: self.data_type(&at, schema)?,
            required: body.required,
            doc: body.description.clone(),
        })
    }

    pub(super) fn response(
        &self,
        at: &str,
        status: StatusModel,
        resp: &ReferenceOr<Response>,
    ) -> Result<ResponseModel, ServerError> {
        let (variant, label) = match status {
            StatusModel::Code(c) => {
                let reason = ::http::StatusCode::from_u16(c)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .map(|r| r.to_upper_camel_case())
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| format!("Status{c}"));
                (reason, c.to_string())
            }
            StatusModel::Range(r) => (format!("Status{r}xx"), format!("{r}XX")),
            StatusModel::Default => ("Default".to_owned(), "default".to_owned()),
        };
        let at = format!("{at}.responses.{label}");
        let resp = match resp {
            ReferenceOr::Item(r) => r,
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/responses/")
                    .ok_or_else(|| unsupported(at.clone(), format!("$ref {reference}")))?;
                match self
                    .spec
                    .components
                    .as_ref()
                    .and_then(|c| c.responses.get(name))
                {
                    Some(ReferenceOr::Item(r)) => r,
                    _ => return Err(invalid(at, format!("$ref {reference} does not resolve"))),
                }
            }
        };
        let (body, body_is_array) = match json_schema(&at, &resp.content)? {
            Some(schema) => match self.array_items(&at, schema)? {
                Some(items) => (
                    Some(format!(
                        "{}::JsonArray<{items}>",
                        self.options.support_module
                    )),
                    true,
                ),
                None => (Some(self.data_type(&at, schema)?), false),
            },
            None => (None, false),
        };
        let mut headers = Vec::new();
        for (name, header) in &resp.headers {
            let set_by_router = self
                .options
                .router_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name));
            if !set_by_router {
                headers.push(self.response_header(&at, name, header)?);
            }
        }
        let reserved: &[&str] = match status {
            StatusModel::Code(_) => &["body"],
            _ => &["body", "status"],
        };
        unique_fields(
            &at,
            headers
                .iter()
                .map(|h| h.field.as_str())
                .chain(reserved.iter().copied()),
        )?;
        Ok(ResponseModel {
            doc: format!("`{label}`: {}", resp.description.trim()),
            status,
            variant,
            body,
            body_is_array,
            headers,
        })
    }

    pub(super) fn response_header(
        &self,
        at: &str,
        name: &str,
        header: &ReferenceOr<Header>,
    ) -> Result<ResponseHeader, ServerError> {
        let at = format!("{at}.headers.{name}");
        let header = match header {
            ReferenceOr::Item(h) => h,
            ReferenceOr::Reference { reference } => {
                let key = reference
                    .strip_prefix("#/components/headers/")
                    .ok_or_else(|| unsupported(at.clone(), format!("$ref {reference}")))?;
                match self
                    .spec
                    .components
                    .as_ref()
                    .and_then(|c| c.headers.get(key))
                {
                    Some(ReferenceOr::Item(h)) => h,
                    _ => return Err(invalid(at, format!("$ref {reference} does not resolve"))),
                }
            }
        };
        let replaced = self
            .options
            .response_header_types
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, rust)| rust.clone());
        let rust = match (replaced, &header.format) {
            (Some(rust), _) => rust,
            (None, ParameterSchemaOrContent::Schema(s)) => self.data_type(&at, s)?,
            (None, ParameterSchemaOrContent::Content(_)) => {
                return Err(unsupported(at, "`content` instead of `schema`".into()));
            }
        };
        Ok(ResponseHeader {
            name: name.to_owned(),
            field: rust_ident(&name.to_snake_case()),
            rust,
            required: header.required,
            doc: header.description.clone(),
        })
    }
}
