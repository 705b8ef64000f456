//! Edits to progenitor's output, on the syn tree.
//!
//! Each pass checks that it found what it expected and returns
//! [`Error::Shape`] otherwise, so a progenitor upgrade that changes its output
//! fails the build instead of quietly bringing the old behaviour back.

use openapiv3::{OpenAPI, Parameter, ReferenceOr, Schema};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ImplItem, Item, Lit, Stmt, Type};

use crate::Error;

/// Splits progenitor's single file into (types, client) and applies the passes.
pub(crate) fn run(
    file: syn::File,
    spec: &OpenAPI,
    constructor_prelude: Option<&str>,
) -> Result<(syn::File, syn::File), Error> {
    let (types, mut client) = split_types(file)?;
    drop_api_version_header(&mut client, operation_count(spec))?;
    fallible_constructor(&mut client, constructor_prelude)?;
    default_required_params(&mut client, spec)?;
    Ok((types, client))
}

/// Moves the contents of progenitor's `pub mod types { ... }` into a file of
/// their own, and makes the client reach them as `super::types` (its own
/// `builder` module says `use super::types`, which now resolves through this
/// re-export). One set of model types then serves client and server alike.
fn split_types(file: syn::File) -> Result<(syn::File, syn::File), Error> {
    let mut types = None;
    let mut items = Vec::with_capacity(file.items.len());
    let empty = syn::File {
        items: Vec::new(),
        ..file
    };
    for item in file.items {
        match item {
            Item::Mod(m) if m.ident == "types" => {
                let (_, content) = m.content.ok_or_else(|| shape("`mod types` has no body"))?;
                types = Some(content);
            }
            other => items.push(other),
        }
    }
    let types = types.ok_or_else(|| shape("no `mod types` in progenitor output"))?;
    let reexport: Item = syn::parse_quote! {
        /// The model types, generated once beside this module and shared with
        /// the server.
        pub use super::types;
    };
    items.insert(0, reexport);
    Ok((
        syn::File {
            items: types,
            ..empty.clone()
        },
        syn::File { items, ..empty },
    ))
}

/// Removes the `api-version` header that progenitor adds to every request
/// (`header_map.append(HeaderName::from_static("api-version"),
/// HeaderValue::from_static(Client::api_version()))`, from `info.version`).
///
/// SWR defines no such header, and sending our spec's version to Huawei's
/// servers (or to signing code that lists headers) is noise at best. There is
/// no progenitor setting for it, so the statement is deleted from each
/// operation. `ClientInfo::api_version()` itself stays: the trait requires it.
fn drop_api_version_header(client: &mut syn::File, operations: usize) -> Result<(), Error> {
    struct Drop {
        removed: usize,
    }
    impl VisitMut for Drop {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            let before = block.stmts.len();
            block.stmts.retain(|s| !is_api_version_append(s));
            self.removed += before - block.stmts.len();
            visit_mut::visit_block_mut(self, block);
        }
    }
    let mut pass = Drop { removed: 0 };
    pass.visit_file_mut(client);
    if pass.removed != operations {
        return Err(shape(format!(
            "expected one `api-version` header insertion per operation ({operations}), found {}",
            pass.removed
        )));
    }
    Ok(())
}

fn is_api_version_append(stmt: &Stmt) -> bool {
    let Stmt::Expr(Expr::MethodCall(call), _) = stmt else {
        return false;
    };
    if call.method != "append" {
        return false;
    }
    let Some(Expr::Call(name)) = call.args.first() else {
        return false;
    };
    let is_from_static = matches!(&*name.func, Expr::Path(p)
        if p.path.segments.last().is_some_and(|s| s.ident == "from_static"));
    is_from_static
        && matches!(name.args.first(), Some(Expr::Lit(l))
            if matches!(&l.lit, Lit::Str(s) if s.value().eq_ignore_ascii_case("api-version")))
}

/// Turns `Client::new(baseurl) -> Self`, which unwraps
/// `reqwest::ClientBuilder::build()`, into
/// `Client::new(baseurl) -> Result<Self, reqwest::Error>` (same 15 s
/// timeouts), so no public constructor panics on a TLS or resolver setup
/// error. `new_with_client` is untouched. `prelude`, if any, is a statement
/// run first (this project installs its TLS crypto provider there).
fn fallible_constructor(client: &mut syn::File, prelude: Option<&str>) -> Result<(), Error> {
    let new = client
        .items
        .iter_mut()
        .filter_map(|item| match item {
            Item::Impl(i) if i.trait_.is_none() && is_type_named(&i.self_ty, "Client") => Some(i),
            _ => None,
        })
        .flat_map(|i| i.items.iter_mut())
        .find_map(|item| match item {
            ImplItem::Fn(f) if f.sig.ident == "new" => Some(f),
            _ => None,
        })
        .ok_or_else(|| shape("no `Client::new`"))?;

    struct Unwrap {
        replaced: usize,
    }
    impl VisitMut for Unwrap {
        fn visit_expr_mut(&mut self, expr: &mut Expr) {
            visit_mut::visit_expr_mut(self, expr);
            if let Expr::MethodCall(call) = expr
                && call.method == "unwrap"
                && call.args.is_empty()
                && matches!(&*call.receiver, Expr::MethodCall(b) if b.method == "build")
            {
                let receiver = &call.receiver;
                *expr = syn::parse_quote!(#receiver?);
                self.replaced += 1;
            }
        }
    }
    let mut pass = Unwrap { replaced: 0 };
    pass.visit_block_mut(&mut new.block);
    if pass.replaced != 1 {
        return Err(shape(format!(
            "expected one `build().unwrap()` in `Client::new`, found {}",
            pass.replaced
        )));
    }
    let Some(Stmt::Expr(tail, None)) = new.block.stmts.last_mut() else {
        return Err(shape("`Client::new` has no tail expression"));
    };
    *tail = syn::parse_quote!(::std::result::Result::Ok(#tail));
    if let Some(prelude) = prelude {
        let stmt: Stmt = syn::parse_str(prelude)?;
        new.block.stmts.insert(0, stmt);
    }
    new.sig.output = syn::parse_quote!(-> ::std::result::Result<Self, ::reqwest::Error>);
    new.attrs.push(syn::parse_quote!(#[doc = ""]));
    new.attrs.push(syn::parse_quote!(
        #[doc = " Fails, instead of panicking, when reqwest cannot build its client."]
    ));
    Ok(())
}

/// Makes a required parameter whose schema has a string `default` start at
/// that default in its operation builder, instead of failing `send()` with
/// "`x` was not initialized" until the caller sets it.
///
/// progenitor ignores `default` on required parameters. Our `Content-Type`
/// header is `required: true` with `default: application/json` (the API page
/// calls it mandatory), so without this every call would need
/// `.content_type(...)`. The default is converted with the same `TryInto` the
/// setter uses, so a default that breaks its own schema is reported by
/// `send()` as an invalid request, never a panic.
fn default_required_params(client: &mut syn::File, spec: &OpenAPI) -> Result<(), Error> {
    for (operation_id, params) in required_string_defaults(spec) {
        let method = sanitize_snake(&operation_id);
        let builder = builder_struct_of(client, &method)
            .ok_or_else(|| shape(format!("no `Client::{method}` returning a builder")))?;
        let new = builder_new(client, &builder)
            .ok_or_else(|| shape(format!("no `builder::{builder}::new`")))?;
        let Some(Stmt::Expr(Expr::Struct(init), None)) = new.block.stmts.last_mut() else {
            return Err(shape(format!(
                "`builder::{builder}::new` does not end in a struct literal"
            )));
        };
        for (param, default) in params {
            let field = sanitize_snake(&param);
            let slot = init
                .fields
                .iter_mut()
                .find(|f| matches!(&f.member, syn::Member::Named(i) if *i == field))
                .ok_or_else(|| shape(format!("`{builder}` has no field `{field}`")))?;
            let message =
                format!("the default of {param} ({default:?}) is not a valid value for it");
            slot.expr = syn::parse_quote! {
                ::std::convert::TryFrom::try_from(#default).map_err(|_| #message.to_string())
            };
        }
    }
    Ok(())
}

/// (operationId, [(parameter name, default)]) for required parameters whose
/// schema (or the schema it references) has a string `default`.
fn required_string_defaults(spec: &OpenAPI) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for (_, item) in spec.paths.iter() {
        let Some(item) = item.as_item() else { continue };
        for (_, op) in item.iter() {
            let Some(id) = &op.operation_id else { continue };
            let params: Vec<_> = item
                .parameters
                .iter()
                .chain(&op.parameters)
                .filter_map(|p| resolve_parameter(spec, p))
                .map(Parameter::parameter_data_ref)
                .filter(|data| data.required)
                .filter_map(|data| {
                    let openapiv3::ParameterSchemaOrContent::Schema(schema) = &data.format else {
                        return None;
                    };
                    let default = resolve_schema(spec, schema)?.schema_data.default.as_ref()?;
                    Some((data.name.clone(), default.as_str()?.to_owned()))
                })
                .collect();
            if !params.is_empty() {
                out.push((id.clone(), params));
            }
        }
    }
    out
}

fn operation_count(spec: &OpenAPI) -> usize {
    spec.paths
        .iter()
        .filter_map(|(_, item)| item.as_item())
        .map(|item| item.iter().count())
        .sum()
}

fn resolve_parameter<'a>(
    spec: &'a OpenAPI,
    p: &'a ReferenceOr<Parameter>,
) -> Option<&'a Parameter> {
    match p {
        ReferenceOr::Item(p) => Some(p),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/parameters/")?;
            resolve_parameter(spec, spec.components.as_ref()?.parameters.get(name)?)
        }
    }
}

fn resolve_schema<'a>(spec: &'a OpenAPI, s: &'a ReferenceOr<Schema>) -> Option<&'a Schema> {
    match s {
        ReferenceOr::Item(s) => Some(s),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/schemas/")?;
            resolve_schema(spec, spec.components.as_ref()?.schemas.get(name)?)
        }
    }
}

/// progenitor's identifier rule for methods and builder fields (its private
/// `util::sanitize(_, Case::Snake)`, without the keyword escape): a mismatch
/// is caught by the lookups above, not silently skipped.
fn sanitize_snake(name: &str) -> String {
    use heck::ToSnakeCase;
    let cleaned: String = name
        .chars()
        .filter(|&c| c != '\'')
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned.to_snake_case()
}

/// The builder type name returned by `Client::{method}(&self)`.
fn builder_struct_of(client: &syn::File, method: &str) -> Option<syn::Ident> {
    client.items.iter().find_map(|item| {
        let Item::Impl(i) = item else { return None };
        if i.trait_.is_some() || !is_type_named(&i.self_ty, "Client") {
            return None;
        }
        i.items.iter().find_map(|item| match item {
            ImplItem::Fn(f) if f.sig.ident == method => match &f.sig.output {
                syn::ReturnType::Type(_, ty) => match &**ty {
                    Type::Path(p) => p.path.segments.last().map(|s| s.ident.clone()),
                    _ => None,
                },
                syn::ReturnType::Default => None,
            },
            _ => None,
        })
    })
}

/// `builder::{name}::new` inside the client's `pub mod builder`.
fn builder_new<'a>(
    client: &'a mut syn::File,
    name: &syn::Ident,
) -> Option<&'a mut syn::ImplItemFn> {
    client.items.iter_mut().find_map(|item| {
        let Item::Mod(m) = item else { return None };
        if m.ident != "builder" {
            return None;
        }
        m.content.as_mut()?.1.iter_mut().find_map(|item| {
            let Item::Impl(i) = item else { return None };
            if i.trait_.is_some() || !is_type_named(&i.self_ty, &name.to_string()) {
                return None;
            }
            i.items.iter_mut().find_map(|item| match item {
                ImplItem::Fn(f) if f.sig.ident == "new" => Some(f),
                _ => None,
            })
        })
    })
}

fn is_type_named(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == name))
}

fn shape(msg: impl Into<String>) -> Error {
    Error::Shape(msg.into())
}
