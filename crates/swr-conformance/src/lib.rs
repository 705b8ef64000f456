//! A conformance kit for servers of Huawei Cloud SWR's *ListRepositoryTags*
//! API (`GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags`).
//!
//! It checks the decision table of the project's DESIGN.md — both query forms
//! and their merge, pairs, bounds, defaults, orders and ties, byte-order tag
//! sort, case-sensitive filtering, `Content-Range`, `$` in repository names,
//! path name rules, error bodies and codes, token and AK/SK authentication,
//! tenancy, `X-Request-Id` and `/openapi.json` — against any server, and
//! says for each rule what was sent and what came back.
//!
//! Seed the server with a fixture ([`STANDARD_FIXTURE`] has everything every
//! check needs), then run the kit with the same fixture:
//!
//! - [`run`] / [`run_with`] drive an `axum::Router` in process (no socket);
//! - [`run_live`] talks HTTP(S) to a running server (the `swr-conformance`
//!   binary is a thin wrapper around it).
//!
//! Expectations come from the fixture, never from hard-coded data: the kit
//! first reads each repository it uses without paging parameters, checks that
//! the answer is exactly the fixture's tags, and then compares every other
//! answer with its own small model of filtering, ordering and paging applied
//! to those records (with the ids the server gave them). A check whose needs
//! the fixture does not meet is reported as skipped, with the reason.
//!
//! ```no_run
//! # async fn demo(router: swr_api::server::axum::Router) {
//! let report = swr_conformance::run(router, &swr_conformance::standard_fixture()).await;
//! print!("{report}"); // FAIL lines, then "N passed, M failed"
//! assert!(report.is_success());
//! # }
//! ```
#![deny(missing_docs)]

use std::time::SystemTime;

use swr_api::fixture::Fixture;
use swr_api::server::axum::Router;

mod call;
mod checks;
mod context;
mod fixture_data;
mod learn;
mod oracle;
mod plan;
mod report;
mod spec_facts;
mod transport;

pub use fixture_data::{STANDARD_FIXTURE, standard_fixture};
pub use report::{BODY_EXCERPT, CheckResult, Failure, Got, Outcome, Report, Sent};

use call::Problem;
use context::Ctx;
use plan::Plan;
use transport::Transport;

/// What to leave out of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Groups (`aksk`, `spec`, …) or single checks (`aksk.stale_date`) to
    /// skip, e.g. `aksk` for a server behind a gateway that does its own
    /// signing. Skipped checks are reported as such.
    pub skip: Vec<String>,
}

impl Options {
    fn skips(&self, group: &str, name: &str) -> Option<&str> {
        self.skip
            .iter()
            .find(|s| *s == group || *s == name)
            .map(String::as_str)
    }
}

/// The group names, in the order their checks run (what `Options::skip`
/// accepts, besides single check names).
pub fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for c in checks::all() {
        if !groups.contains(&c.group) {
            groups.push(c.group);
        }
    }
    groups
}

/// Every check as `(name, group, rule)`, in the order they run.
pub fn check_list() -> Vec<(&'static str, &'static str, &'static str)> {
    checks::all()
        .into_iter()
        .map(|c| (c.name, c.group, c.rule))
        .collect()
}

/// Runs every check against `router` in process (each request is a
/// `oneshot` call; no socket), `fixture` being what its server was seeded
/// with. Needs a tokio runtime (the router runs on spawned tasks, so a panic
/// in the server is a failed check).
pub async fn run(router: Router, fixture: &Fixture) -> Report {
    run_with(router, fixture, &Options::default()).await
}

/// [`run`] with [`Options`].
pub async fn run_with(router: Router, fixture: &Fixture, options: &Options) -> Report {
    execute(Transport::InProcess(router), fixture, options).await
}

/// Runs every check against the server at `base_url` (`http://127.0.0.1:8080`,
/// `https://swr.example`; a path prefix is kept), seeded with `fixture`.
/// A server that cannot be reached fails every check, saying why.
pub async fn run_live(base_url: &str, fixture: &Fixture, options: &Options) -> Report {
    execute(Transport::live(base_url), fixture, options).await
}

async fn execute(transport: Transport, fixture: &Fixture, options: &Options) -> Report {
    let mut ctx = Ctx::new(transport, Plan::new(fixture, SystemTime::now()));
    learn::learn(&mut ctx).await;
    let mut report = Report::default();
    for check in checks::all() {
        let outcome = match options.skips(check.group, check.name) {
            Some(by) => Outcome::Skipped(format!("skipped by request ({by})")),
            None => match (check.run)(&ctx).await {
                Ok(()) => Outcome::Passed,
                Err(Problem::Skip(why)) => Outcome::Skipped(why),
                Err(Problem::Fail(failure)) => Outcome::Failed(*failure),
            },
        };
        report.checks.push(CheckResult {
            name: check.name.to_owned(),
            group: check.group.to_owned(),
            rule: squeeze(check.rule),
            outcome,
        });
    }
    report
}

/// Rules are written across source lines; one space between words.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
