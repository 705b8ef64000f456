//! The reference servers pass every check in process: MemoryServer, and
//! swrd on SQLite and PostgreSQL. Also: what the standard fixture holds, and
//! how a fixture without some part makes checks skip.

use std::collections::BTreeMap;

use swr_conformance::{Options, Outcome, run, run_with, standard_fixture};

use super::common::{self, PgDb, assert_clean, memory_router, sqlite_store, swrd_app};

#[tokio::test]
async fn memory_server_passes_every_check() {
    let fixture = standard_fixture();
    let report = run(memory_router(&fixture), &fixture).await;
    assert_clean("MemoryServer", &report);
    let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &report.checks {
        *groups.entry(c.group.as_str()).or_default() += 1;
    }
    println!("{} checks: {groups:?}", report.checks.len());
}

#[tokio::test]
async fn swrd_on_sqlite_passes_every_check() {
    let fixture = standard_fixture();
    let (store, _dir) = sqlite_store().await;
    let report = run(swrd_app(store, &fixture).await, &fixture).await;
    assert_clean("swrd on SQLite", &report);
}

#[tokio::test]
async fn swrd_on_postgres_passes_every_check() {
    let Some(admin) = common::external(
        "SWRD_TEST_DATABASE_URL",
        "the kit against swrd on PostgreSQL",
    ) else {
        return;
    };
    let db = PgDb::create(&admin).await;
    let store = swrd::store::open(&db.url).await.unwrap();
    let fixture = standard_fixture();
    let report = run(swrd_app(store, &fixture).await, &fixture).await;
    assert_clean("swrd on PostgreSQL", &report);
}

#[test]
fn the_standard_fixture_has_what_the_checks_need() {
    let f = standard_fixture();
    let [a, b] = &f.domains[..] else {
        panic!("two domains")
    };
    assert!(!a.tokens.is_empty() && !a.credentials.is_empty() && !a.expiring_tokens.is_empty());
    assert!(!b.tokens.is_empty() && !b.credentials.is_empty());
    let repos: Vec<_> = f
        .namespaces
        .iter()
        .filter(|n| n.domain == a.id)
        .flat_map(|n| &n.repositories)
        .collect();
    let big = repos.iter().max_by_key(|r| r.tags.len()).unwrap();
    assert!(big.tags.len() >= 150);
    assert!(repos.iter().any(|r| r.name.contains('/')));
    assert!(repos.iter().any(|r| r.tags.is_empty()));
    assert!(f.namespaces.iter().any(|n| n.domain == b.id));
    let mut times: Vec<_> = big.tags.iter().map(|t| t.updated.unwrap()).collect();
    assert!(
        big.tags
            .iter()
            .all(|t| t.created.is_some() && t.updated.is_some())
    );
    times.sort();
    let distinct = {
        let mut d = times.clone();
        d.dedup();
        d.len()
    };
    assert!(times.len() - distinct >= 40, "many ties");
    let mut by_bytes: Vec<&str> = big.tags.iter().map(|t| t.tag.as_str()).collect();
    by_bytes.sort();
    let mut by_case: Vec<&str> = by_bytes.clone();
    by_case.sort_by_key(|t| t.to_ascii_lowercase());
    assert_ne!(
        by_bytes, by_case,
        "byte order differs from case-insensitive order"
    );
    for name in ["B1", "a1", "_x", "V1.0", "v1.0", "10"] {
        assert!(big.tags.iter().any(|t| t.tag == name), "{name}");
    }
}

#[tokio::test]
async fn skipped_groups_are_reported_as_skipped() {
    let fixture = standard_fixture();
    let options = Options {
        skip: vec!["aksk".into(), "spec.openapi_json".into()],
    };
    let report = run_with(memory_router(&fixture), &fixture, &options).await;
    assert!(report.is_success(), "{report}");
    for c in &report.checks {
        let skipped = matches!(c.outcome, Outcome::Skipped(_));
        assert_eq!(
            skipped,
            c.group == "aksk" || c.name == "spec.openapi_json",
            "{}",
            c.name
        );
    }
    assert!(
        report
            .to_string()
            .ends_with(&format!(", {} skipped\n", report.skipped()))
    );
}

/// A fixture without AK/SK pairs, a second domain, an empty repository or
/// expiring tokens: what depends on them is skipped with the reason, the
/// rest still passes.
#[tokio::test]
async fn a_smaller_fixture_skips_what_it_cannot_support() {
    let mut fixture = standard_fixture();
    let a = fixture.domains[0].id.clone();
    fixture.domains.truncate(1);
    fixture.domains[0].credentials.clear();
    fixture.domains[0].expiring_tokens.clear();
    fixture.namespaces.retain(|n| n.domain == a);
    for n in &mut fixture.namespaces {
        n.repositories.retain(|r| !r.tags.is_empty());
    }
    let report = run(memory_router(&fixture), &fixture).await;
    assert!(report.is_success(), "{report}");
    let reason = |name: &str| {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.outcome.clone())
            .unwrap()
    };
    let skipped = |name: &str, why: &str| match reason(name) {
        Outcome::Skipped(r) => assert!(r.contains(why), "{name}: {r}"),
        other => panic!("{name}: {other:?}"),
    };
    skipped("aksk.valid", "no AK/SK pair");
    skipped("tenancy.other_namespace_token", "second domain");
    skipped("paging.empty_repository", "without tags");
    skipped("auth.token_expired", "expiry has passed");
    assert_eq!(reason("order.ties_by_id"), Outcome::Passed);
}

/// Checks read what they need from the fixture they are given: swrd's own
/// schemathesis fixture (7 tags, no ties to speak of, times missing on some
/// tags) passes on both reference servers, with what it cannot support
/// skipped.
#[tokio::test]
async fn another_fixture_passes_with_skips() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../swrd/tests/fixtures/conformance.yaml"
    );
    let fixture = swr_api::fixture::load(path).unwrap();
    let memory = run(memory_router(&fixture), &fixture).await;
    let (store, _dir) = sqlite_store().await;
    let swrd = run(swrd_app(store, &fixture).await, &fixture).await;
    for (what, report) in [("MemoryServer", memory), ("swrd", swrd)] {
        assert!(report.is_success(), "{what}:\n{report}");
        assert!(report.passed() > 50, "{what}: {}", report.summary());
        let skipped: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
            .map(|c| c.name.as_str())
            .collect();
        assert!(
            skipped.contains(&"paging.unpaged_over_100"),
            "{what}: {skipped:?}"
        );
        println!(
            "{what} with swrd's conformance.yaml: {}; skipped {skipped:?}",
            report.summary()
        );
    }
}

/// The README's 60-line example server (`examples/minimal_server.rs`),
/// compiled into this test as a module.
#[path = "../../../../examples/minimal_server.rs"]
#[allow(dead_code)]
mod minimal_server;

#[tokio::test]
async fn the_minimal_example_passes_every_check() {
    let fixture = standard_fixture();
    let report = run(minimal_server::app(&fixture), &fixture).await;
    assert_clean("examples/minimal_server.rs", &report);
}
