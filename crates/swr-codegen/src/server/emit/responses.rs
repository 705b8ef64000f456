//! Response types: the per-operation response enum, its variants and its `IntoResponse` arms.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Paths, doc, ident, parse_type};
use crate::server::ServerError;
use crate::server::model::{Op, ResponseModel, StatusModel};

pub(super) fn response_enum(
    op: &Op,
    ty: &syn::Ident,
    paths: &Paths,
) -> Result<TokenStream, ServerError> {
    let support = &paths.support;
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    for r in op.responses.iter().filter(|r| !r.status.is_error()) {
        variants.push(response_variant(r)?);
        arms.push(response_arm(r, support)?);
    }
    let doc = doc(&format!(
        "Every documented success response of [`Api::{}`]; the router renders \
         it with its status, JSON body and headers (errors are a `Rejection`).",
        op.method_name.trim_start_matches("r#")
    ));
    // Only `Debug`: an array body may hold a stream, which is neither `Clone`
    // nor comparable.
    Ok(quote! {
        #doc
        #[derive(Debug)]
        pub enum #ty {
            #(#variants)*
        }

        impl ::axum::response::IntoResponse for #ty {
            fn into_response(self) -> ::axum::response::Response {
                match self {
                    #(#arms)*
                }
            }
        }
    })
}

pub(super) fn response_variant(r: &ResponseModel) -> Result<TokenStream, ServerError> {
    let name = format_ident!("{}", r.variant);
    let variant_doc = doc(&r.doc);
    let status = (!matches!(r.status, StatusModel::Code(_))).then(|| {
        quote! {
            /// The status to answer with.
            status: ::axum::http::StatusCode,
        }
    });
    let body = match &r.body {
        Some(b) => {
            let ty = parse_type(b)?;
            Some(quote! {
                /// The JSON body.
                body: #ty,
            })
        }
        None => None,
    };
    let headers = r
        .headers
        .iter()
        .map(|h| {
            let field = ident(&h.field)?;
            let ty = parse_type(&h.rust)?;
            let ty = if h.required {
                quote! { #ty }
            } else {
                quote! { ::std::option::Option<#ty> }
            };
            let mut text = format!("The `{}` header.", h.name);
            if let Some(d) = &h.doc {
                text.push_str("\n\n");
                text.push_str(d.trim_end());
            }
            let doc = doc(&text);
            Ok(quote! { #doc #field: #ty, })
        })
        .collect::<Result<Vec<_>, ServerError>>()?;
    Ok(quote! {
        #variant_doc
        #name {
            #status
            #body
            #(#headers)*
        },
    })
}

pub(super) fn response_arm(
    r: &ResponseModel,
    support: &syn::Path,
) -> Result<TokenStream, ServerError> {
    let name = format_ident!("{}", r.variant);
    let mut bindings = Vec::new();
    let builder = match r.status {
        StatusModel::Code(c) => {
            quote! { #support::ResponseBuilder::new(#c, error_codes::INTERNAL) }
        }
        StatusModel::Range(_) | StatusModel::Default => {
            bindings.push(quote! { status });
            quote! { #support::ResponseBuilder::with_status(status, error_codes::INTERNAL) }
        }
    };
    let mut steps = Vec::new();
    if r.body.is_some() {
        bindings.push(quote! { body });
        steps.push(if r.body_is_array {
            quote! { response.json_array(body); }
        } else {
            quote! { response.json_body(&body); }
        });
    }
    for h in &r.headers {
        let field = ident(&h.field)?;
        let name = &h.name;
        bindings.push(quote! { #field });
        steps.push(if h.required {
            quote! { response.header(#name, &#field); }
        } else {
            quote! {
                if let ::std::option::Option::Some(value) = &#field {
                    response.header(#name, value);
                }
            }
        });
    }
    let mutable = if steps.is_empty() {
        quote! {}
    } else {
        quote! { mut }
    };
    Ok(quote! {
        Self::#name { #(#bindings),* } => {
            let #mutable response = #builder;
            #(#steps)*
            response.finish()
        }
    })
}
