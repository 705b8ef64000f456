//! The `Api` trait: its authentication items and one method per operation.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{doc, ident};
use crate::server::ServerError;
use crate::server::model::{AUTHENTICATE, Op, Security, StatusModel};

/// `type Principal` and `fn authenticate` of the `Api` trait, for specs where
/// some operation has `security`.
pub(super) fn auth_trait_items(support: &syn::Path) -> TokenStream {
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

pub(super) fn trait_method(op: &Op, support: &syn::Path) -> Result<TokenStream, ServerError> {
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
