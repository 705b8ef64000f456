//! The intermediate model -> Rust tokens.

mod api_trait;
mod operation;
mod params;
mod responses;

use heck::ToShoutySnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::model::{AUTHENTICATE, Model};
use super::{ServerError, ServerOptions};
use api_trait::{auth_trait_items, trait_method};
use operation::operation_items;

struct Paths {
    support: syn::Path,
    derives: Vec<syn::Path>,
}

pub(super) fn file(model: &Model, options: &ServerOptions) -> Result<TokenStream, ServerError> {
    let paths = Paths {
        support: parse_path("ServerOptions::support_module", &options.support_module)?,
        derives: options
            .derives
            .iter()
            .map(|d| parse_path("ServerOptions::derives", d))
            .collect::<Result<_, _>>()?,
    };
    let support = &paths.support;

    let code_consts = model.codes.iter().map(|(key, code)| {
        let name = format_ident!("{}", key.to_shouty_snake_case());
        let doc = doc(&format!("`x-error-codes.{key}`."));
        quote! { #doc pub const #name: &str = #code; }
    });

    let mut items = Vec::new();
    let mut methods = Vec::new();
    let mut routes: Vec<(String, Vec<(String, syn::Ident)>)> = Vec::new();
    for op in &model.ops {
        items.push(operation_items(op, &paths, options)?);
        methods.push(trait_method(op, &paths.support)?);
        let handler = format_ident!("handle_{}", op.method_name.trim_start_matches("r#"));
        match routes.iter_mut().find(|(p, _)| *p == op.path) {
            Some((_, methods)) => methods.push((op.http_method.clone(), handler)),
            None => routes.push((op.path.clone(), vec![(op.http_method.clone(), handler)])),
        }
    }
    let routes = routes.iter().map(|(path, handlers)| {
        let mut chain = quote! {};
        for (i, (method, handler)) in handlers.iter().enumerate() {
            let filter = format_ident!("{}", method);
            chain = if i == 0 {
                quote! { ::axum::routing::on(::axum::routing::MethodFilter::#filter, #handler::<A>) }
            } else {
                quote! { #chain.on(::axum::routing::MethodFilter::#filter, #handler::<A>) }
            };
        }
        quote! { .route(#path, #chain) }
    });

    let mut api_doc = "The API: one method per operation of the spec.\n\n\
        Implement it with plain `async fn`s (no boxing); every method gets a\n\
        request that has already been extracted and validated, and returns a\n\
        response that can only have a documented status and headers. Serve\n\
        it with [`router`]."
        .to_owned();
    let auth_items = if model.secured {
        api_doc.push_str(&format!(
            "\n\nOperations with `security` first have their credentials checked by\n\
             [`Api::{AUTHENTICATE}`], before any parameter is looked at; their\n\
             requests carry its [`Api::Principal`] instead of the credentials."
        ));
        auth_trait_items(support)
    } else {
        quote! {}
    };
    let api_doc = doc(&api_doc);

    Ok(quote! {
        /// SWR error codes from the spec's `x-error-codes`, used by the router
        /// for rejections that no parameter's `x-error-code` covers.
        pub mod error_codes {
            #(#code_consts)*
        }

        #(#items)*

        #api_doc
        pub trait Api: Send + Sync + 'static {
            #auth_items
            #(#methods)*
        }

        /// The axum router: one route per operation, JSON `ErrorResponse`s with
        /// SWR codes for every rejection, 404 for unknown paths and 405 (with
        /// `Allow`) for known paths with another method.
        pub fn router<A: Api>(api: ::std::sync::Arc<A>) -> ::axum::Router {
            ::axum::Router::new()
                #(#routes)*
                .fallback(fallback_not_found)
                .method_not_allowed_fallback(fallback_method_not_allowed)
                .with_state(api)
        }

        async fn fallback_not_found(
            method: ::axum::http::Method,
            uri: ::axum::http::Uri,
            headers: ::axum::http::HeaderMap,
        ) -> ::axum::response::Response {
            #support::not_found(&method, &uri, &headers, error_codes::NOT_FOUND)
        }

        async fn fallback_method_not_allowed(
            method: ::axum::http::Method,
            uri: ::axum::http::Uri,
            headers: ::axum::http::HeaderMap,
        ) -> ::axum::response::Response {
            #support::method_not_allowed(&method, &uri, &headers, error_codes::METHOD_NOT_ALLOWED)
        }
    })
}

/// `#[doc = " line"]` for each line, so prettyplease prints `///` comments.
pub(super) fn doc(text: &str) -> TokenStream {
    let lines = text.trim_end().lines().map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote! { #[doc = #line] }
    });
    quote! { #(#lines)* }
}

pub(super) fn ident(name: &str) -> Result<syn::Ident, ServerError> {
    syn::parse_str(name).map_err(|e| ServerError::Invalid {
        at: name.to_owned(),
        what: format!("not a Rust identifier: {e}"),
    })
}

pub(super) fn parse_type(ty: &str) -> Result<syn::Type, ServerError> {
    syn::parse_str(ty).map_err(|e| ServerError::Invalid {
        at: ty.to_owned(),
        what: format!("not a Rust type: {e}"),
    })
}

pub(super) fn parse_path(what: &str, path: &str) -> Result<syn::Path, ServerError> {
    syn::parse_str(path).map_err(|e| ServerError::Invalid {
        at: what.to_owned(),
        what: format!("{path:?} is not a Rust path: {e}"),
    })
}
