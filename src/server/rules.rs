//! Cross-parameter query rules, one hook per operation that needs one.
//!
//! The generated router calls a hook with the operation's raw query
//! parameters ([`Params`]: declared names only, percent-decoded, each at most
//! once) **before** it parses them into the typed `{Op}Query`. A hook may
//! reject the request or rewrite the parameters; the typed parse then runs on
//! what it leaves. Hooks are registered by operationId in the generator's
//! `ServerOptions::query_rules` (see `swr-codegen`).
//!
//! Why before, not after, the typed parse: `filter=offset::20&limit=10` is a
//! complete page split across both forms, but `filter` alone (`offset::20`) is
//! half a pair and does not parse as a [`TagFilter`]. Merging has to see the
//! raw strings, which is also what [`RawQuery`] takes so that every error
//! keeps the code and message `swr-filter` assigns.

use swr_filter::{Key, RawQuery, TagFilter};

use super::support::{ParamError, Params, Rejection};

/// `list_repository_tags`: merges the separate `offset`, `limit`,
/// `order_column`, `order_type` and `tag` parameters into `filter` with
/// [`RawQuery::merge`] (the same key twice with different values, half a pair,
/// a bad value: a 400 with `swr-filter`'s code and message).
///
/// Afterwards `filter` holds the one effective query in canonical form (absent
/// when nothing was sent) and the separate parameters are removed, so in the
/// typed `ListRepositoryTagsQuery` the implementation reads `query.filter`
/// only; the separate fields are always `None`.
pub fn list_repository_tags(query: &mut Params) -> Result<(), Rejection> {
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
    for key in Key::ALL {
        query.remove(key.as_str());
    }
    if merged.is_empty() {
        query.remove("filter");
    } else {
        query.set("filter", merged.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::support::Location;

    fn run(query: &str) -> Result<Params, Rejection> {
        let declared = [
            "offset",
            "limit",
            "order_column",
            "order_type",
            "tag",
            "filter",
        ]
        .map(|n| (n, "SVCSTG.SWR.4000014"));
        let mut params = Params::from_query(Some(query), &declared)?;
        list_repository_tags(&mut params)?;
        Ok(params)
    }

    #[test]
    fn separate_params_fold_into_filter() {
        let p = run("limit=10&offset=0&order_column=tag&order_type=asc&tag=v1").unwrap();
        assert_eq!(
            p.get("filter"),
            Some("offset::0|limit::10|order_column::tag|order_type::asc|tag::v1")
        );
        assert_eq!(p.get("limit"), None);
        assert_eq!(p.location(), Location::Query);
    }

    #[test]
    fn a_pair_may_be_split_across_forms() {
        let p = run("filter=offset%3A%3A20&limit=10").unwrap();
        assert_eq!(p.get("filter"), Some("offset::20|limit::10"));
    }

    #[test]
    fn nothing_sent_leaves_no_filter() {
        assert_eq!(run("").unwrap().get("filter"), None);
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
