//! The checks, one module per group. Each check is an `async fn(&Ctx) ->
//! Verdict` registered with its group and rule by [`checks!`]; this module
//! also holds what several groups share: writing a [`Query`] in either query
//! form and walking a repository page by page.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use crate::call::{Call, Problem, Verdict, fail};
use crate::context::Ctx;
use crate::oracle::{Query, Records};
use crate::plan::Repo;

/// A check's future.
pub(crate) type BoxFut<'a> = Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>;

/// One check: its full name (`group.name`), group, rule and code.
#[derive(Clone)]
pub(crate) struct Check {
    pub name: &'static str,
    pub group: &'static str,
    pub rule: &'static str,
    pub run: for<'a> fn(&'a Ctx) -> BoxFut<'a>,
}

/// `checks!("group": fn_name => "rule", …)` defines `checks()`, listing each
/// function as the check `group.fn_name`.
macro_rules! checks {
    ($group:literal: $($name:ident => $rule:expr),* $(,)?) => {
        pub(crate) fn checks() -> Vec<crate::checks::Check> {
            vec![$(crate::checks::Check {
                name: concat!($group, ".", stringify!($name)),
                group: $group,
                rule: $rule,
                run: |ctx| Box::pin($name(ctx)),
            }),*]
        }
    };
}

mod aksk;
mod auth;
mod bounds;
mod errors;
mod headers;
mod names;
mod order;
mod paging;
mod pairs;
mod query;
mod spec;
mod tenancy;

/// Every check, in the order they run.
pub(crate) fn all() -> Vec<Check> {
    [
        paging::checks(),
        order::checks(),
        query::checks(),
        pairs::checks(),
        bounds::checks(),
        names::checks(),
        errors::checks(),
        auth::checks(),
        aksk::checks(),
        tenancy::checks(),
        headers::checks(),
        spec::checks(),
    ]
    .concat()
}

/// Which query form a [`Query`] travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `offset=…&limit=…&order_column=…&order_type=…&tag=…`
    Separate,
    /// `filter=offset::…|limit::…|…`
    Filter,
}

/// The `key, value` pairs of `q`, in the filter grammar's key order.
fn pairs(q: &Query) -> Vec<(&'static str, String)> {
    let mut p = Vec::new();
    if let Some((offset, limit)) = q.page {
        p.push(("offset", offset.to_string()));
        p.push(("limit", limit.to_string()));
    }
    if let Some((column, dir)) = q.order {
        p.push(("order_column", column.wire().to_owned()));
        p.push(("order_type", dir.wire().to_owned()));
    }
    if let Some(tag) = &q.tag {
        p.push(("tag", tag.clone()));
    }
    p
}

/// `q` as a `filter` value.
pub(crate) fn filter_value(q: &Query) -> String {
    pairs(q)
        .iter()
        .map(|(k, v)| format!("{k}::{v}"))
        .collect::<Vec<_>>()
        .join("|")
}

/// A GET of `repo` asking `q` in `form`, with the owner's token.
pub(crate) fn list(ctx: &Ctx, repo: &Repo, q: &Query, form: Form) -> Call {
    match form {
        Form::Separate => {
            let p = pairs(q);
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ctx.get(repo, &p)
        }
        Form::Filter => {
            let f = filter_value(q);
            if f.is_empty() {
                ctx.get(repo, &[])
            } else {
                ctx.get(repo, &[("filter", &f)])
            }
        }
    }
}

/// Sends `q` and checks the answer against the oracle; returns the ids.
pub(crate) async fn expect_page(
    ctx: &Ctx,
    repo: &Repo,
    records: &Records,
    q: &Query,
    form: Form,
) -> Result<Vec<i64>, Problem> {
    let ex = ctx.send(list(ctx, repo, q, form)).await;
    records.check(&ex, q)
}

/// A page size that gives several pages (7 for the standard fixture, so its
/// last page is partial), at most about 25 of them for a big repository.
pub(crate) fn page_size(total: usize) -> u64 {
    let total = total as u64;
    if total >= 21 {
        total.div_ceil(25).clamp(7, 1000)
    } else {
        (total / 3).max(1)
    }
}

/// Walks `repo` page by page in `q`'s order (`q.page` is ignored): every
/// page must be the oracle's, and together they must hold every matching
/// record exactly once.
pub(crate) async fn walk(ctx: &Ctx, repo: &Repo, records: &Records, q: &Query) -> Verdict {
    let total = records
        .expect(&Query {
            page: None,
            ..q.clone()
        })
        .ids
        .len();
    let limit = page_size(total);
    let mut seen = HashSet::new();
    let mut offset = 0;
    while offset < total as u64 {
        let page = Query {
            page: Some((offset, limit)),
            ..q.clone()
        };
        for id in expect_page(ctx, repo, records, &page, Form::Separate).await? {
            if !seen.insert(id) {
                return Err(fail(format!("id {id} is on two pages (limit {limit})")));
            }
        }
        offset += limit;
    }
    if seen.len() != total {
        return Err(fail(format!(
            "the pages of {limit} hold {} records, expected {total}",
            seen.len()
        )));
    }
    Ok(())
}
