//! Per-operation items: request, parameter and response types, and the route handler.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::params::{body_field, code_expr, params_struct};
use super::responses::response_enum;
use super::{Paths, doc, ident, parse_path};
use crate::server::model::{AUTHENTICATE, Op, Param, Security, Value};
use crate::server::{ServerError, ServerOptions};

pub(super) fn operation_items(
    op: &Op,
    paths: &Paths,
    options: &ServerOptions,
) -> Result<TokenStream, ServerError> {
    let support = &paths.support;
    let derives = &paths.derives;
    let prefix = &op.type_prefix;
    let path_ty = format_ident!("{prefix}Path");
    let query_ty = format_ident!("{prefix}Query");
    let headers_ty = format_ident!("{prefix}Headers");
    let request_ty = format_ident!("{prefix}Request");
    let response_ty = format_ident!("{prefix}Response");
    let method = ident(&op.method_name)?;
    let bare = op.method_name.trim_start_matches("r#");
    let handler = format_ident!("handle_{bare}");
    let extract = format_ident!("extract_{bare}");
    let op_ref = format!("[`Api::{bare}`]");

    let mut statics = Vec::new();
    let mut structs = Vec::new();
    if let Some(rules) = &op.rules {
        let target = parse_path("ServerOptions::query_rules", &rules.query_type)?;
        let doc = doc(&format!(
            "Query parameters of {op_ref}, as the query rules hook `{}` returns \
             them from the raw parameters (see [`{}`]).",
            rules.hook, rules.query_type
        ));
        structs.push(quote! { #doc pub type #query_ty = #target; });
    }
    for (ty, params, loc, what) in [
        (&path_ty, &op.path_params, quote!(Path), "Path parameters"),
        (
            &query_ty,
            &op.query_params,
            quote!(Query),
            "Query parameters",
        ),
        (
            &headers_ty,
            &op.header_params,
            quote!(Header),
            "Request headers",
        ),
    ] {
        if what.starts_with("Query") && op.rules.is_some() {
            continue;
        }
        let doc_text = format!("{what} of {op_ref}.");
        structs.push(params_struct(ty, params, &loc, &doc_text, paths)?);
        for p in params {
            if let (
                Some(name),
                Value::Str {
                    pattern: Some(pattern),
                    ..
                },
            ) = (&p.pattern_static, &p.value)
            {
                let name = format_ident!("{name}");
                let doc = doc(&format!("`{}`'s pattern, compiled once.", p.name));
                statics.push(quote! {
                    #doc
                    static #name: ::std::sync::LazyLock<#support::Regex> =
                        ::std::sync::LazyLock::new(|| {
                            #support::Regex::new(#pattern)
                                .expect("the pattern was checked when the server was generated")
                        });
                });
            }
        }
    }

    let body_field = op.body.as_ref().map(body_field).transpose()?;
    let authenticate = format_ident!("{AUTHENTICATE}");
    let secured = !matches!(op.security, Security::None);
    let (principal_field, principal_extract, principal_init) = match &op.security {
        Security::None => (quote! {}, quote! {}, quote! {}),
        Security::Schemes { schemes, required } => {
            let list = schemes
                .iter()
                .map(|s| {
                    let header = &s.header;
                    let extractor = parse_path("credential extractor", &s.extractor)?;
                    Ok(quote! { (#header, #extractor as #support::CredentialExtractor) })
                })
                .collect::<Result<Vec<_>, ServerError>>()?;
            let schemes = quote! { &[#(#list),*] };
            let (field, extract) = if *required {
                (
                    quote! {
                        /// Who is calling: what [`Api::authenticate`] returned
                        /// for the request's credentials.
                        pub principal: P,
                    },
                    quote! {
                        let credentials = #support::authenticate(
                            parts, &body, #schemes, error_codes::UNAUTHORIZED,
                        )?;
                        let principal = api.#authenticate(credentials, request_id).await?;
                    },
                )
            } else {
                (
                    quote! {
                        /// Who is calling: what [`Api::authenticate`] returned
                        /// for the request's credentials, or `None` when the
                        /// request carried none (the operation's `security`
                        /// allows that).
                        pub principal: ::std::option::Option<P>,
                    },
                    quote! {
                        let principal = match #support::try_authenticate(
                            parts, &body, #schemes, error_codes::UNAUTHORIZED,
                        )? {
                            ::std::option::Option::Some(credentials) => ::std::option::Option::Some(
                                api.#authenticate(credentials, request_id).await?,
                            ),
                            ::std::option::Option::None => ::std::option::Option::None,
                        };
                    },
                )
            };
            (field, extract, quote! { principal, })
        }
    };
    let (body_decl, body_init) = match &op.body {
        None => (quote! {}, quote! {}),
        Some(b) => {
            let expr = if b.required {
                quote! { #support::parse_json_body(&body, error_codes::BAD_REQUEST)? }
            } else {
                quote! {
                    if body.is_empty() {
                        ::std::option::Option::None
                    } else {
                        ::std::option::Option::Some(#support::parse_json_body(&body, error_codes::BAD_REQUEST)?)
                    }
                }
            };
            (
                quote! { let body_value = #expr; },
                quote! { body: body_value, },
            )
        }
    };

    let declared = |params: &[Param]| {
        let entries = params.iter().map(|p| {
            let name = &p.name;
            let code = code_expr(p);
            quote! { (#name, #code) }
        });
        quote! { &[#(#entries),*] }
    };
    let path_params = if op.path_params.is_empty() {
        quote! { #support::Params::new(#support::Location::Path) }
    } else {
        let d = declared(&op.path_params);
        quote! { #support::Params::from_path(parts, #d).await? }
    };
    let query_declared = declared(&op.query_params);
    let header_declared = declared(&op.header_params);
    let parse_query = match &op.rules {
        None => quote! { #query_ty::from_params(&query)? },
        Some(rules) => {
            let hook = parse_path("ServerOptions::query_rules", &rules.hook)?;
            quote! { #hook(&query)? }
        }
    };
    let limit = Literal::usize_unsuffixed(options.body_limit);

    let needs_body = op.body.is_some() || secured;
    let (body_arg, read_body) = if needs_body {
        (
            quote! { body },
            quote! { let body = #support::read_body(body, #limit, error_codes::BAD_REQUEST).await?; },
        )
    } else {
        (quote! { _body }, quote! {})
    };

    // The router itself calls a deprecated operation; only its clients
    // should see the warning.
    let allow_deprecated = op.deprecated.then(|| quote! { #[allow(deprecated)] });

    let response = response_enum(op, &response_ty, paths)?;
    let documented = op
        .responses
        .iter()
        .filter(|r| r.status.is_error())
        .map(|r| {
            let (lo, hi) = r.status.range();
            quote! { (#lo, #hi) }
        });
    let documented = quote! { &[#(#documented),*] };
    let mut request_doc = format!("One validated request to {op_ref}.");
    // With `security`, the request is generic over the principal.
    let (request_generics, request_out, extract_generics, api_param, api_arg) = if secured {
        request_doc.push_str(
            "\n\n`P` is the implementation's [`Api::Principal`]. The struct is\n\
             generic over it rather than holding `<A as Api>::Principal`: that\n\
             would make it generic over the whole implementation `A`, and its\n\
             derives would then bound `A` itself (`A: Clone`, …); this way\n\
             they bound only the principal, and a request can be built\n\
             (in a test, say) with any principal type and no `Api` at all.",
        );
        (
            quote! { <P> },
            quote! { #request_ty<A::Principal> },
            quote! { <A: Api> },
            quote! { api: &A, },
            quote! { &*api, },
        )
    } else {
        (
            quote! {},
            quote! { #request_ty },
            quote! {},
            quote! {},
            quote! {},
        )
    };
    let request_doc = doc(&request_doc);

    Ok(quote! {
        #(#statics)*
        #(#structs)*

        #request_doc
        #[derive(#(#derives),*)]
        pub struct #request_ty #request_generics {
            /// Path parameters.
            pub path: #path_ty,
            /// Query parameters.
            pub query: #query_ty,
            /// Request headers declared as parameters.
            pub headers: #headers_ty,
            #body_field
            #principal_field
            /// The request id: the client's `X-Request-Id` when usable, else a
            /// generated one. The router sends it back in `X-Request-Id`; use
            /// it in logs.
            pub request_id: ::std::string::String,
        }

        #response

        async fn #extract #extract_generics(
            #api_param
            parts: &mut ::axum::http::request::Parts,
            #body_arg: ::axum::body::Body,
            request_id: &str,
        ) -> ::std::result::Result<#request_out, #support::Rejection> {
            #read_body
            #principal_extract
            let path = #path_ty::from_params(&#path_params)?;
            let query = #support::Params::from_query(parts.uri.query(), #query_declared)?;
            let query = #parse_query;
            let headers = #headers_ty::from_params(
                &#support::Params::from_headers(&parts.headers, #header_declared)?,
            )?;
            #body_decl
            ::std::result::Result::Ok(#request_ty {
                path,
                query,
                headers,
                #body_init
                #principal_init
                request_id: request_id.to_owned(),
            })
        }

        #allow_deprecated
        async fn #handler<A: Api>(
            ::axum::extract::State(api): ::axum::extract::State<::std::sync::Arc<A>>,
            request: ::axum::extract::Request,
        ) -> ::axum::response::Response {
            let (mut parts, body) = request.into_parts();
            let request_id = #support::request_id(&parts.headers);
            match #extract(#api_arg &mut parts, body, &request_id).await {
                ::std::result::Result::Ok(request) => match api.#method(request).await {
                    ::std::result::Result::Ok(response) => #support::with_request_id(
                        ::axum::response::IntoResponse::into_response(response),
                        &request_id,
                    ),
                    ::std::result::Result::Err(rejection) => rejection
                        .documented(#documented, error_codes::INTERNAL)
                        .into_response_with_id(&request_id),
                },
                ::std::result::Result::Err(rejection) => rejection.into_response_with_id(&request_id),
            }
        }
    })
}
