//! The intermediate model -> Rust tokens.

use heck::ToShoutySnakeCase;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::model::{
    AUTHENTICATE, DefaultValue, Model, Op, Param, RequestBodyModel, ResponseModel, Security,
    StatusModel, Value,
};
use super::{ServerError, ServerOptions};

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

/// `type Principal` and `fn authenticate` of the `Api` trait, for specs where
/// some operation has `security`.
fn auth_trait_items(support: &syn::Path) -> TokenStream {
    let authenticate = format_ident!("{AUTHENTICATE}");
    quote! {
        /// Who the caller is, as [`Api::authenticate`] established it (an
        /// account id, a user with its permissions, …). The request of every
        /// operation with `security` carries it as `principal`.
        type Principal: Send + 'static;

        /// Verifies the credentials the router extracted from a request (a
        /// token to look up, a signature to check with the secret key of its
        /// access key) and says who the caller is.
        ///
        /// The router calls it right after extracting the credentials and
        /// before any parameter (path, query, headers, body) is looked at, so
        /// unauthenticated callers learn nothing about parameters: wrong
        /// credentials with a bad parameter are a 401, never a 400 naming the
        /// parameter. Only operations with `security` call it, and a request
        /// it rejects never reaches the operation's method.
        ///
        /// Return a 401 `Rejection` for bad credentials (`Rejection::unauthorized`,
        /// or `Rejection::new` with `StatusCode::UNAUTHORIZED` for another
        /// message), and a 500 when the store that holds them fails. The router
        /// answers it as the spec's `ErrorResponse` with
        /// `X-Request-Id: {request_id}`.
        fn #authenticate(
            &self,
            credentials: #support::Credentials,
            request_id: &str,
        ) -> impl ::std::future::Future<
            Output = ::std::result::Result<Self::Principal, #support::Rejection>,
        > + Send;
    }
}

fn trait_method(op: &Op, support: &syn::Path) -> Result<TokenStream, ServerError> {
    let name = ident(&op.method_name)?;
    let request = format_ident!("{}Request", op.type_prefix);
    let request = match op.security {
        Security::None => quote! { #request },
        Security::Schemes { .. } => quote! { #request<Self::Principal> },
    };
    let response = format_ident!("{}Response", op.type_prefix);
    let mut text = format!("`{} {}`", op.http_method, op.path);
    if let Some(summary) = &op.summary {
        text = format!("{}: {text}.", summary.trim_end_matches('.'));
    }
    if let Some(description) = &op.description {
        text.push_str("\n\n");
        text.push_str(description.trim_end());
    }
    let errors: Vec<String> = op
        .responses
        .iter()
        .filter(|r| r.status.is_error())
        .map(|r| match r.status {
            StatusModel::Code(c) => c.to_string(),
            StatusModel::Range(r) => format!("{r}XX"),
            StatusModel::Default => "default".to_owned(),
        })
        .collect();
    if !errors.is_empty() {
        text.push_str(&format!(
            "\n\nErrors are a `Rejection` (documented: {}); one with another \
             status is answered as a 500.",
            errors.join(", ")
        ));
    }
    let doc = doc(&text);
    let deprecated = op.deprecated.then(|| quote! { #[deprecated] });
    Ok(quote! {
        #doc
        #deprecated
        fn #name(&self, request: #request)
            -> impl ::std::future::Future<
                Output = ::std::result::Result<#response, #support::Rejection>,
            > + Send;
    })
}

fn operation_items(
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

fn body_field(body: &RequestBodyModel) -> Result<TokenStream, ServerError> {
    let ty = parse_type(&body.rust)?;
    let ty = if body.required {
        quote! { #ty }
    } else {
        quote! { ::std::option::Option<#ty> }
    };
    let doc = doc(&format!(
        "The JSON request body.{}",
        body.doc
            .as_deref()
            .map(|d| format!("\n\n{}", d.trim_end()))
            .unwrap_or_default()
    ));
    Ok(quote! { #doc pub body: #ty, })
}

fn code_expr(p: &Param) -> TokenStream {
    match &p.code {
        Some(code) => quote! { #code },
        None => quote! { error_codes::BAD_REQUEST },
    }
}

fn params_struct(
    ty: &syn::Ident,
    params: &[Param],
    loc: &TokenStream,
    doc_text: &str,
    paths: &Paths,
) -> Result<TokenStream, ServerError> {
    let support = &paths.support;
    let derives = &paths.derives;
    let mut fields = Vec::new();
    let mut inits = Vec::new();
    for p in params {
        let field = ident(&p.field)?;
        let inner = parse_type(&p.value.rust_type())?;
        let optional = !p.required && p.default.is_none();
        let field_ty = if optional {
            quote! { ::std::option::Option<#inner> }
        } else {
            quote! { #inner }
        };
        let mut text = format!("`{}`", p.name);
        if let Some(d) = &p.doc {
            text.push_str(": ");
            text.push_str(d.trim_end());
        }
        let doc = doc(&text);
        fields.push(quote! { #doc pub #field: #field_ty, });

        let name = &p.name;
        let code = code_expr(p);
        let convert = convert(p, loc, &code, support)?;
        let init = if p.required {
            quote! {{
                let raw = params.required(#name, #code)?;
                #convert
            }}
        } else if let Some(default) = &p.default {
            let default = default_expr(default);
            quote! {
                match params.get(#name) {
                    ::std::option::Option::Some(raw) => #convert,
                    ::std::option::Option::None => #default,
                }
            }
        } else {
            quote! {
                match params.get(#name) {
                    ::std::option::Option::Some(raw) => ::std::option::Option::Some(#convert),
                    ::std::option::Option::None => ::std::option::Option::None,
                }
            }
        };
        inits.push(quote! { #field: #init, });
    }
    let doc = doc(doc_text);
    let arg = if params.is_empty() {
        quote! { _params }
    } else {
        quote! { params }
    };
    Ok(quote! {
        #doc
        #[derive(#(#derives),*)]
        pub struct #ty {
            #(#fields)*
        }

        impl #ty {
            /// Validates and converts the raw values; the first failure is the
            /// rejection.
            pub fn from_params(#arg: &#support::Params) -> ::std::result::Result<Self, #support::Rejection> {
                ::std::result::Result::Ok(Self {
                    #(#inits)*
                })
            }
        }
    })
}

/// A block that checks `raw: &str` and evaluates to the field's inner value.
fn convert(
    p: &Param,
    loc: &TokenStream,
    code: &TokenStream,
    support: &syn::Path,
) -> Result<TokenStream, ServerError> {
    let name = &p.name;
    let location = quote! { #support::Location::#loc };
    Ok(match &p.value {
        Value::Str {
            min,
            max,
            pattern,
            enumeration,
            media_type,
            model,
        } => {
            let mut checks = Vec::new();
            if min.is_some() || max.is_some() {
                let min = opt_usize(*min);
                let max = opt_usize(*max);
                checks.push(quote! {
                    #support::check_length(#name, raw, #min, #max, #location, #code)?;
                });
            }
            if pattern.is_some() {
                let stat = format_ident!(
                    "{}",
                    p.pattern_static.as_deref().unwrap_or("MISSING_PATTERN")
                );
                checks.push(quote! {
                    #support::check_pattern(#name, raw, &#stat, #location, #code)?;
                });
            }
            let value = if enumeration.is_empty() {
                quote! { raw }
            } else {
                let check = if *media_type {
                    quote! { #support::check_media_type }
                } else {
                    quote! { #support::check_enum }
                };
                quote! { #check(#name, raw, &[#(#enumeration),*], #location, #code)? }
            };
            let out = match model {
                Some(m) => {
                    let m = parse_type(m)?;
                    quote! { #support::parse_model::<#m>(#name, #value, #location, #code)? }
                }
                None => quote! { ::std::borrow::ToOwned::to_owned(#value) },
            };
            if checks.is_empty() {
                out
            } else {
                quote! {{ #(#checks)* #out }}
            }
        }
        Value::Int {
            rust,
            min,
            max,
            enumeration,
        } => {
            let ty = parse_type(rust)?;
            let min = Literal::i128_unsuffixed(*min);
            let max = Literal::i128_unsuffixed(*max);
            let parse = quote! {
                #support::parse_int::<#ty>(#name, raw, #min, #max, #location, #code)?
            };
            if enumeration.is_empty() {
                parse
            } else {
                let allowed = enumeration
                    .iter()
                    .map(|v| Literal::i128_unsuffixed((*v).into()));
                quote! {{
                    let value = #parse;
                    #support::check_int_enum(#name, value, &[#(#allowed),*], #location, #code)?
                }}
            }
        }
        Value::Number { min, max } => {
            let min = opt_f64(*min);
            let max = opt_f64(*max);
            quote! { #support::parse_number(#name, raw, #min, #max, #location, #code)? }
        }
        Value::Bool => quote! { #support::parse_bool(#name, raw, #location, #code)? },
        Value::Replaced { rust } => {
            let ty = parse_type(rust)?;
            quote! { #support::parse_with::<#ty>(#name, raw, #location, #code)? }
        }
    })
}

fn default_expr(default: &DefaultValue) -> TokenStream {
    match default {
        DefaultValue::Str(s) => quote! { ::std::borrow::ToOwned::to_owned(#s) },
        DefaultValue::Int(i) => {
            let lit = Literal::i128_unsuffixed(*i);
            quote! { #lit }
        }
        DefaultValue::Number(n) => {
            let lit = Literal::f64_suffixed(*n);
            quote! { #lit }
        }
        DefaultValue::Bool(b) => quote! { #b },
    }
}

fn opt_usize(v: Option<usize>) -> TokenStream {
    match v {
        Some(v) => {
            let lit = Literal::usize_unsuffixed(v);
            quote! { ::std::option::Option::Some(#lit) }
        }
        None => quote! { ::std::option::Option::None },
    }
}

fn opt_f64(v: Option<f64>) -> TokenStream {
    match v {
        Some(v) => {
            let lit = Literal::f64_suffixed(v);
            quote! { ::std::option::Option::Some(#lit) }
        }
        None => quote! { ::std::option::Option::None },
    }
}

fn response_enum(op: &Op, ty: &syn::Ident, paths: &Paths) -> Result<TokenStream, ServerError> {
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

fn response_variant(r: &ResponseModel) -> Result<TokenStream, ServerError> {
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

fn response_arm(r: &ResponseModel, support: &syn::Path) -> Result<TokenStream, ServerError> {
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

/// `#[doc = " line"]` for each line, so prettyplease prints `///` comments.
fn doc(text: &str) -> TokenStream {
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

fn ident(name: &str) -> Result<syn::Ident, ServerError> {
    syn::parse_str(name).map_err(|e| ServerError::Invalid {
        at: name.to_owned(),
        what: format!("not a Rust identifier: {e}"),
    })
}

fn parse_type(ty: &str) -> Result<syn::Type, ServerError> {
    syn::parse_str(ty).map_err(|e| ServerError::Invalid {
        at: ty.to_owned(),
        what: format!("not a Rust type: {e}"),
    })
}

fn parse_path(what: &str, path: &str) -> Result<syn::Path, ServerError> {
    syn::parse_str(path).map_err(|e| ServerError::Invalid {
        at: what.to_owned(),
        what: format!("{path:?} is not a Rust path: {e}"),
    })
}
