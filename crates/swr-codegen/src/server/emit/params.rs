//! Parameter extraction: typed parameter structs, their `from_params` checks, the body field.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Paths, doc, ident, parse_type};
use crate::server::ServerError;
use crate::server::model::{DefaultValue, Param, RequestBodyModel, Value};

pub(super) fn body_field(body: &RequestBodyModel) -> Result<TokenStream, ServerError> {
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

pub(super) fn code_expr(p: &Param) -> TokenStream {
    match &p.code {
        Some(code) => quote! { #code },
        None => quote! { error_codes::BAD_REQUEST },
    }
}

pub(super) fn params_struct(
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
pub(super) fn convert(
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

pub(super) fn default_expr(default: &DefaultValue) -> TokenStream {
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

pub(super) fn opt_usize(v: Option<usize>) -> TokenStream {
    match v {
        Some(v) => {
            let lit = Literal::usize_unsuffixed(v);
            quote! { ::std::option::Option::Some(#lit) }
        }
        None => quote! { ::std::option::Option::None },
    }
}

pub(super) fn opt_f64(v: Option<f64>) -> TokenStream {
    match v {
        Some(v) => {
            let lit = Literal::f64_suffixed(v);
            quote! { ::std::option::Option::Some(#lit) }
        }
        None => quote! { ::std::option::Option::None },
    }
}
