//! Mutation test: servers that each break exactly one rule of the decision
//! table. The kit must catch every one — at least one failed check, and one
//! of the group the rule belongs to — and the table of which checks caught
//! which mutant is printed (`cargo test -p swr-conformance -- --nocapture`).

mod http;
mod twist;

use swr_api::fixture::Fixture;
use swr_api::server::axum::Router;
use swr_conformance::{run, standard_fixture};

use super::common::memory_router;
use twist::{Twist, router_with};

/// A server that breaks one rule.
pub struct Mutant {
    pub name: &'static str,
    /// The rule it breaks.
    pub breaks: &'static str,
    /// Check groups of which at least one failing check is expected.
    pub groups: &'static [&'static str],
    pub router: Router,
}

/// Every mutant, over the reference server seeded with `fixture`.
pub fn all(fixture: &Fixture) -> Vec<Mutant> {
    let base = || memory_router(fixture);
    let m = |name, breaks, groups, router| Mutant {
        name,
        breaks,
        groups,
        router,
    };
    vec![
        m(
            "tie_order",
            "ties broken by id asc in desc orders",
            &["order"],
            router_with(fixture, Twist::TieOrder),
        ),
        m(
            "tenancy_403",
            "another domain's namespace is a 403 with its own body",
            &["tenancy"],
            http::tenancy_403(base(), fixture),
        ),
        m(
            "content_range_inclusive_end",
            "Content-Range's middle number is an inclusive end index",
            &["paging"],
            http::content_range_inclusive_end(base()),
        ),
        m(
            "offset_past_end_error",
            "an offset past the end is a 400 instead of []",
            &["paging"],
            http::offset_past_end_error(base()),
        ),
        m(
            "case_insensitive_tag",
            "tag matches case-insensitively",
            &["query"],
            router_with(fixture, Twist::CaseInsensitiveTag),
        ),
        m(
            "limit_1001_accepted",
            "limit=1001 is served (as 1000)",
            &["bounds"],
            http::limit_1001_accepted(base()),
        ),
        m(
            "half_pair_served",
            "offset without limit is served",
            &["pairs"],
            http::half_pair_served(base()),
        ),
        m(
            "filter_conflict_silent",
            "a key in both forms: filter wins silently",
            &["query"],
            http::filter_conflict_silent(base()),
        ),
        m(
            "validation_before_auth",
            "bad parameters are a 400 before credentials are checked",
            &["auth"],
            http::validation_before_auth(base(), fixture),
        ),
        m(
            "locale_tag_sort",
            "tag order is case-insensitive",
            &["order"],
            router_with(fixture, Twist::LocaleTagSort),
        ),
        m(
            "unpaged_truncated",
            "no paging parameters gives the first 100 only",
            &["paging"],
            router_with(fixture, Twist::UnpagedTruncated),
        ),
        m(
            "date_skew_ignored",
            "a stale X-Sdk-Date is accepted",
            &["aksk"],
            http::date_skew_ignored(base(), fixture),
        ),
        m(
            "expired_token_accepted",
            "an expired token is accepted",
            &["auth"],
            http::expired_token_accepted(base(), fixture),
        ),
        m(
            "aksk_messages_differ",
            "an unknown AK gets its own message",
            &["aksk"],
            router_with(fixture, Twist::AkskMessagesDiffer),
        ),
        m(
            "foreign_repository_leaks",
            "a missing repository in another domain's namespace is 'repository not found'",
            &["tenancy"],
            router_with(fixture, Twist::ForeignRepositoryLeaks),
        ),
        m(
            "default_order_ascending",
            "no ordering parameters gives oldest first",
            &["order"],
            http::default_order_ascending(base()),
        ),
        m(
            "filter_ignored",
            "the filter parameter is ignored",
            &["query"],
            http::filter_ignored(base()),
        ),
        m(
            "bad_name_is_404",
            "a rule-breaking path name is a 404",
            &["names"],
            http::bad_name_is_404(base()),
        ),
        m(
            "old_error_shape",
            "errors only in the older {\"errors\": [...]} shape",
            &["errors"],
            http::old_error_shape(base()),
        ),
        m(
            "request_id_missing_on_errors",
            "errors carry no X-Request-Id",
            &["headers"],
            http::request_id_missing_on_errors(base()),
        ),
        m(
            "spec_altered",
            "/openapi.json is not the spec",
            &["spec"],
            http::spec_altered(base()),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutant_is_caught() {
    let fixture = standard_fixture();
    let mut table = vec![format!("{:<30} {:<10} caught by", "mutant", "expected")];
    let mut missed = Vec::new();
    let mutants = all(&fixture);
    for mutant in mutants {
        let report = run(mutant.router, &fixture).await;
        if std::env::var_os("SWR_CONFORMANCE_SHOW_MUTANTS").is_some() {
            println!("--- {} ({})\n{report}", mutant.name, mutant.breaks);
        }
        let failed: Vec<(String, String)> = report
            .failures()
            .map(|(c, _)| (c.name.clone(), c.group.clone()))
            .collect();
        let in_group = failed
            .iter()
            .any(|(_, g)| mutant.groups.contains(&g.as_str()));
        let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
        table.push(format!(
            "{:<30} {:<10} {}",
            mutant.name,
            mutant.groups.join(","),
            if names.is_empty() {
                "NOTHING".to_owned()
            } else {
                names.join(", ")
            }
        ));
        if !in_group {
            missed.push(format!("{} ({}): {report}", mutant.name, mutant.breaks));
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        missed.is_empty(),
        "mutants not caught by a check of their group:\n{}",
        missed.join("\n")
    );
}
