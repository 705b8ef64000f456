//! Query rules hooks: one per operation whose query is more than its
//! parameters one by one.
//!
//! The generated router calls a hook with the operation's raw query
//! parameters ([`Params`]: declared names only, percent-decoded, each at most
//! once), and the hook returns the query the implementation sees: the
//! operation's `{Op}Query` is an alias of its return type. Hooks are
//! registered by operationId in the generator's `ServerOptions::query_rules`
//! (see `swr-codegen`).
//!
//! Why raw strings, not typed fields: `filter=offset::20&limit=10` is a
//! complete page split across both forms, but `filter` alone (`offset::20`) is
//! half a pair and does not parse as a [`TagFilter`]. Merging has to see the
//! raw strings, which is also what [`RawQuery`] takes so that every error
//! keeps the code and message `swr-filter` assigns.

use swr_filter::{Key, RawQuery, TagFilter};

use super::ListQuery;
use super::support::{ParamError, Params, Rejection};

/// `list_repository_tags`: merges the separate `offset`, `limit`,
/// `order_column`, `order_type` and `tag` parameters with `filter`
/// ([`RawQuery::merge`]: the same key twice with different values, half a
/// pair, a bad value: a 400 with `swr-filter`'s code and message) into one
/// [`ListQuery`], defaults applied.
pub fn list_repository_tags(query: &Params) -> Result<ListQuery, Rejection> {
    let merged: TagFilter = RawQuery {
        offset: query.get(Key::Offset.as_str()),
        limit: query.get(Key::Limit.as_str()),
        order_column: query.get(Key::OrderColumn.as_str()),
        order_type: query.get(Key::OrderType.as_str()),
        tag: query.get(Key::Tag.as_str()),
        filter: query.get("filter"),
    }
    .merge()
    .map_err(|e| {
        let raw = query.get(e.parameter()).unwrap_or_default();
        Rejection::bad_request(
            e.code(),
            query.location(),
            e.parameter(),
            ParamError::message(&e, e.parameter(), raw),
        )
    })?;
    Ok(ListQuery::from(merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(query: &str) -> Result<ListQuery, Rejection> {
        let declared = [
            "offset",
            "limit",
            "order_column",
            "order_type",
            "tag",
            "filter",
        ]
        .map(|n| (n, "SVCSTG.SWR.4000014"));
        let params = Params::from_query(Some(query), &declared)?;
        list_repository_tags(&params)
    }

    #[test]
    fn separate_params_fold_into_filter() {
        let p = run("limit=10&offset=0&order_column=tag&order_type=asc&tag=v1").unwrap();
        assert_eq!(
            p.to_filter().to_string(),
            "offset::0|limit::10|order_column::tag|order_type::asc|tag::v1"
        );
    }

    #[test]
    fn a_pair_may_be_split_across_forms() {
        let p = run("filter=offset%3A%3A20&limit=10").unwrap();
        let page = p.page.unwrap();
        assert_eq!((page.offset(), page.limit()), (20, 10));
    }

    #[test]
    fn nothing_sent_is_the_default_query() {
        assert_eq!(run("").unwrap(), ListQuery::default());
    }

    #[test]
    fn errors_keep_swr_filter_codes() {
        let cases = [
            ("limit=0&offset=0", "SVCSTG.SWR.4000056", "limit"),
            ("limit=10", "SVCSTG.SWR.4001072", "offset"),
            (
                "filter=limit%3A%3A10&limit=20&offset=0",
                "SVCSTG.SWR.4001035",
                "limit",
            ),
            (
                "order_column=size&order_type=asc",
                "SVCSTG.SWR.4001035",
                "order_column",
            ),
        ];
        for (query, code, param) in cases {
            let e = run(query).unwrap_err();
            assert_eq!(e.code, code, "{query}");
            assert!(e.message.contains(param), "{query}: {}", e.message);
            assert_eq!(e.detail, format!("invalid query parameter {param}"));
        }
    }
}
