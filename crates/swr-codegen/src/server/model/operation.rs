//! Operations: names, parameters, body, responses and security, and cross-field checks.

use std::collections::BTreeSet;

use heck::{ToSnakeCase, ToUpperCamelCase};
use openapiv3::{
    APIKeyLocation, Operation, ParameterData, PathItem, ReferenceOr, SecurityScheme, StatusCode,
};

use super::{
    Cx, Location, Op, Param, Scheme, Security, StatusModel, invalid, rust_ident, unsupported,
};
use crate::server::ServerError;

impl Cx<'_> {
    pub(super) fn operation(
        &self,
        path: &str,
        item: &PathItem,
        method: &str,
        op: &Operation,
    ) -> Result<Op, ServerError> {
        let at = format!("paths.{path}.{method}");
        let id = op
            .operation_id
            .clone()
            .ok_or_else(|| invalid(at.clone(), "every operation needs an operationId".into()))?;
        let method_name = rust_ident(&id.to_snake_case());
        let type_prefix = id.to_upper_camel_case();
        if type_prefix.is_empty() || type_prefix.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(invalid(
                at,
                format!("operationId {id:?} is not usable as a Rust name"),
            ));
        }

        // Path-level parameters, overridden by operation-level ones.
        let mut params: Vec<(Location, ParameterData)> = Vec::new();
        for p in item.parameters.iter().chain(&op.parameters) {
            let (loc, data) = self.parameter(&at, p)?;
            params.retain(|(l, d)| !(*l == loc && d.name == data.name));
            params.push((loc, data));
        }
        let mut path_params = Vec::new();
        let mut query_params = Vec::new();
        let mut header_params = Vec::new();
        for (loc, data) in &params {
            let built = self.param(&at, &type_prefix, *loc, data)?;
            match loc {
                Location::Path => path_params.push(built),
                Location::Query => query_params.push(built),
                Location::Header => header_params.push(built),
            }
        }
        check_path_template(&at, path, &path_params)?;
        for group in [&path_params, &query_params, &header_params] {
            unique_fields(&at, group.iter().map(|p| p.field.as_str()))?;
        }

        let body = match &op.request_body {
            None => None,
            Some(b) => Some(self.request_body(&at, b)?),
        };
        let mut responses = Vec::new();
        for (status, resp) in &op.responses.responses {
            let status = match status {
                StatusCode::Code(c) if (100..=599).contains(c) => StatusModel::Code(*c),
                StatusCode::Range(r) if (1..=5).contains(r) => StatusModel::Range(*r),
                other => {
                    return Err(invalid(
                        at.clone(),
                        format!("response status {other} is not an HTTP status"),
                    ));
                }
            };
            responses.push(self.response(&at, status, resp)?);
        }
        if let Some(resp) = &op.responses.default {
            responses.push(self.response(&at, StatusModel::Default, resp)?);
        }
        if responses.is_empty() {
            return Err(invalid(
                at,
                "an operation needs at least one response".into(),
            ));
        }
        let security = self.security(&at, op)?;
        Ok(Op {
            rules: self.options.query_rules.get(&id).cloned(),
            id,
            method_name,
            type_prefix,
            http_method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            summary: op.summary.clone(),
            description: op.description.clone(),
            deprecated: op.deprecated,
            path_params,
            query_params,
            header_params,
            body,
            responses,
            security,
        })
    }

    pub(super) fn security(&self, at: &str, op: &Operation) -> Result<Security, ServerError> {
        let Some(reqs) = op.security.as_ref().or(self.spec.security.as_ref()) else {
            return Ok(Security::None);
        };
        if reqs.is_empty() {
            return Ok(Security::None);
        }
        let mut schemes = Vec::new();
        let mut required = true;
        for req in reqs {
            let mut names = req.keys();
            let (Some(name), None) = (names.next(), names.next()) else {
                if req.is_empty() {
                    required = false;
                    continue;
                }
                return Err(unsupported(
                    format!("{at}.security"),
                    "an alternative that needs several schemes at once".into(),
                ));
            };
            let scheme_at = format!("components.securitySchemes.{name}");
            let scheme = match self
                .spec
                .components
                .as_ref()
                .and_then(|c| c.security_schemes.get(name))
            {
                Some(ReferenceOr::Item(s)) => s,
                _ => return Err(invalid(scheme_at, "not defined".into())),
            };
            let configured = self.options.credential_extractors.get(name).cloned();
            let (header, extractor) = match (scheme, configured) {
                (
                    SecurityScheme::APIKey {
                        location: APIKeyLocation::Header,
                        name: header,
                        ..
                    },
                    configured,
                ) => (
                    header.clone(),
                    configured.unwrap_or_else(|| {
                        format!("{}::token_credentials", self.options.support_module)
                    }),
                ),
                (SecurityScheme::HTTP { .. }, Some(configured)) => {
                    ("Authorization".to_owned(), configured)
                }
                _ => {
                    return Err(unsupported(
                        scheme_at,
                        "a security scheme other than an apiKey header \
                         (configure an extractor in ServerOptions::credential_extractors \
                         for http schemes)"
                            .into(),
                    ));
                }
            };
            schemes.push(Scheme { header, extractor });
        }
        Ok(Security::Schemes { schemes, required })
    }
}

pub(super) fn check_path_template(
    at: &str,
    path: &str,
    params: &[Param],
) -> Result<(), ServerError> {
    let mut in_template = BTreeSet::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| invalid(at.into(), "unclosed { in the path".into()))?;
        in_template.insert(&rest[start + 1..start + end]);
        rest = &rest[start + end + 1..];
    }
    let declared: BTreeSet<&str> = params.iter().map(|p| p.name.as_str()).collect();
    if in_template != declared {
        return Err(invalid(
            at.into(),
            format!(
                "path template parameters {in_template:?} differ from the declared path parameters {declared:?}"
            ),
        ));
    }
    Ok(())
}

pub(super) fn unique_fields<'a>(
    at: &str,
    fields: impl Iterator<Item = &'a str>,
) -> Result<(), ServerError> {
    let mut seen = BTreeSet::new();
    for f in fields {
        if !seen.insert(f) {
            return Err(invalid(
                at.into(),
                format!("two names map to the Rust field `{f}`"),
            ));
        }
    }
    Ok(())
}
