//! The `swr` binary against a live swrd on 127.0.0.1 (and, for retries and
//! error shapes swrd never sends, tiny scripted servers).

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{AK, NOW, SK, Swrd, import_tags, scripted, snapshot, swr};
use serde_json::Value;
use swr_api::client::{ListOptions, SwrClient};
use swr_api::swr_filter::{OrderColumn, OrderType};

fn ids_of_ndjson(stdout: &str) -> Vec<i64> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

fn ok(run: &common::Run) {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
}

/// The server's complete list in one request (no paging params).
fn full_list(s: &Swrd, repository: &str, options: ListOptions) -> Vec<i64> {
    let client = SwrClient::builder()
        .endpoint(&s.base)
        .token(common::TOKEN)
        .build()
        .unwrap();
    let page = s
        .runtime
        .block_on(client.list_tags("group", repository, &options))
        .unwrap();
    page.tags.iter().map(|t| t.id).collect()
}

#[test]
fn table_snapshot() {
    let s = Swrd::start();
    let run = s.swr(&["tags", "list", "group/busybox"]);
    ok(&run);
    snapshot("table.txt", &run.stdout);
    assert_eq!(run.stderr, "", "no notes or progress in pipes");
}

#[test]
fn wide_snapshot() {
    let s = Swrd::start();
    let run = s.swr(&["tags", "list", "group/busybox", "-o", "wide"]);
    ok(&run);
    snapshot("wide.txt", &run.stdout);
}

#[test]
fn csv_snapshot() {
    let s = Swrd::start();
    let run = s.swr(&["tags", "list", "group/busybox", "-o", "csv"]);
    ok(&run);
    snapshot("tags.csv", &run.stdout);
    // Empty results still have the header.
    let run = s.swr(&[
        "tags",
        "list",
        "group/busybox",
        "--tag",
        "nope",
        "-o",
        "csv",
    ]);
    ok(&run);
    assert_eq!(run.stdout.lines().count(), 1);
}

#[test]
fn json_and_ndjson_are_the_api_objects() {
    let s = Swrd::start();
    let json = s.swr(&["tags", "list", "group/busybox", "-o", "json"]);
    ok(&json);
    let array: Vec<Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(array.len(), 6);
    assert_eq!(array[0]["Tag"], "edge", "newest first, the API's `Tag` key");
    assert_eq!(array[0]["path"], "swr.test.example/group/busybox:edge");
    assert!(array[0]["deleted"].is_null());
    let ndjson = s.swr(&["tags", "list", "group/busybox", "-o", "ndjson"]);
    ok(&ndjson);
    let lines: Vec<Value> = ndjson
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, array);
    // `--all` gives the same objects.
    let all = s.swr(&["tags", "list", "group/busybox", "--all", "-o", "json"]);
    ok(&all);
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&all.stdout).unwrap(),
        array
    );
}

#[test]
fn paging_flags_and_a_repository_with_a_slash() {
    let s = Swrd::start();
    let run = s.swr(&[
        "tags",
        "list",
        "group/busybox",
        "--limit",
        "2",
        "-o",
        "ndjson",
    ]);
    ok(&run);
    assert_eq!(run.stdout.lines().count(), 2);
    let run = s.swr(&[
        "tags",
        "list",
        "group/busybox",
        "--offset",
        "4",
        "-o",
        "csv",
    ]);
    ok(&run);
    assert_eq!(run.stdout.lines().count(), 3, "header + the last two");
    let run = s.swr(&["tags", "list", "group/tools/busybox", "-o", "json"]);
    ok(&run);
    let array: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        array[0]["path"],
        "swr.test.example/group/tools/busybox:1.36"
    );
}

#[test]
fn all_over_thousands_of_tags_equals_the_full_list() {
    let s = Swrd::start();
    s.synth("big", 3500);
    let full = full_list(&s, "big", ListOptions::default());
    assert_eq!(full.len(), 3500);
    let run = s.swr(&["tags", "list", "group/big", "--all", "-o", "ndjson"]);
    ok(&run);
    assert_eq!(ids_of_ndjson(&run.stdout), full);
    // Small pages and another order.
    let by_tag = full_list(
        &s,
        "big",
        ListOptions::default().with_order(OrderColumn::Tag, OrderType::Asc),
    );
    let run = s.swr(&[
        "tags",
        "list",
        "group/big",
        "--all",
        "--page-size",
        "333",
        "--order-by",
        "tag",
        "-o",
        "ndjson",
    ]);
    ok(&run);
    assert_eq!(ids_of_ndjson(&run.stdout), by_tag);
}

#[test]
fn filter_form_equals_the_separate_flags() {
    let s = Swrd::start();
    s.synth("big", 300);
    let flags = s.swr(&[
        "tags",
        "list",
        "group/big",
        "--offset",
        "3",
        "--limit",
        "20",
        "--order-by",
        "tag",
        "--order",
        "desc",
        "--tag",
        "v0",
        "-o",
        "json",
    ]);
    let filter = s.swr(&[
        "tags",
        "list",
        "group/big",
        "--filter",
        "tag::v0|order_type::desc|order_column::tag|limit::20|offset::3",
        "-o",
        "json",
    ]);
    ok(&flags);
    ok(&filter);
    assert_eq!(flags.stdout, filter.stdout);
    let tags: Vec<Value> = serde_json::from_str(&flags.stdout).unwrap();
    assert_eq!(tags.len(), 20);
    assert!(
        tags.iter()
            .all(|t| t["Tag"].as_str().unwrap().contains("v0"))
    );
    // Half from each side, and the same key twice with equal values, merge.
    let mixed = s.swr(&[
        "tags",
        "list",
        "group/big",
        "--offset",
        "3",
        "--filter",
        "limit::20|order_column::tag|order_type::desc|tag::v0",
        "--tag",
        "v0",
        "-o",
        "json",
    ]);
    ok(&mixed);
    assert_eq!(mixed.stdout, flags.stdout);
    // With --all, the filter's order and tag apply.
    let all_filter = s.swr(&[
        "tags",
        "list",
        "group/big",
        "--all",
        "--filter",
        "order_column::tag|order_type::desc|tag::v0",
        "-o",
        "ndjson",
    ]);
    let all_flags = s.swr(&[
        "tags",
        "list",
        "group/big",
        "--all",
        "--order-by",
        "tag",
        "--order",
        "desc",
        "--tag",
        "v0",
        "-o",
        "ndjson",
    ]);
    ok(&all_filter);
    assert_eq!(all_filter.stdout, all_flags.stdout);
}

#[test]
fn server_errors_print_code_message_and_request_id() {
    let s = Swrd::start();
    // 401: a token swrd does not know.
    let run = swr(
        &[
            "--endpoint",
            &s.base,
            "--token",
            "wrong",
            "tags",
            "list",
            "group/busybox",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: SVCSTG.SWR.4010000: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(HTTP 401, request id "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    // 404: a missing repository, and another account's namespace alike.
    for repo in ["group/missing", "secret/busybox", "nowhere/busybox"] {
        let run = s.swr(&["tags", "list", repo]);
        assert_eq!(run.code, 1, "{repo}");
        assert!(
            run.stderr.contains("SVCSTG.SWR.404"),
            "{repo}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("(HTTP 404, request id "),
            "{}",
            run.stderr
        );
    }
    // 400: swrd rejects nothing the client lets through, so a scripted one.
    let bad = scripted(vec![(
        400,
        r#"[{"errorCode":"SVCSTG.SWR.4001072","errorMessage":"param offset error","detail":""}]"#,
    )]);
    let run = swr(
        &[
            "--endpoint",
            &bad.base,
            "--token",
            "t",
            "tags",
            "list",
            "group/busybox",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: SVCSTG.SWR.4001072: param offset error (HTTP 400, request id rid-400)\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let s = Swrd::start();
    for args in [
        vec!["tags", "list", "busybox"],
        vec!["tags", "list", "group/busybox", "--limit", "0"],
        vec!["tags", "list", "group/busybox", "--tag", "a b"],
        vec!["tags", "list", "Group/busybox"],
        vec!["tags", "list", "group/busybox", "--filter", "limit::5"],
        vec![
            "tags",
            "list",
            "group/busybox",
            "--filter",
            "tag::v1",
            "--tag",
            "v2",
        ],
        vec![
            "tags",
            "list",
            "group/busybox",
            "--all",
            "--filter",
            "offset::0|limit::5",
        ],
        vec!["tags", "list", "group/busybox", "--all", "--offset", "5"],
        vec!["--project-id", "p", "tags", "list", "group/busybox"],
    ] {
        let run = s.swr(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }
    assert_eq!(s.requests(), 0, "nothing was sent");
    // No endpoint, no credentials.
    let run = swr(&["--token", "t", "tags", "list", "group/busybox"], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no endpoint"), "{}", run.stderr);
    let run = swr(
        &["--endpoint", &s.base, "tags", "list", "group/busybox"],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no credentials"), "{}", run.stderr);
}

#[test]
fn aksk_signing_against_swrd() {
    let s = Swrd::start();
    let by_token = s.swr(&["tags", "list", "group/busybox", "-o", "csv"]);
    ok(&by_token);
    let signed = swr(
        &[
            "--endpoint",
            &s.base,
            "--ak",
            AK,
            "--sk",
            SK,
            "--project-id",
            "proj",
            "tags",
            "list",
            "group/busybox",
            "-o",
            "csv",
        ],
        &[],
    );
    ok(&signed);
    assert_eq!(signed.stdout, by_token.stdout);
    // From the SDKs' environment variables, with the endpoint from SWR_ENDPOINT.
    let env = swr(
        &["tags", "list", "group/busybox", "-o", "csv"],
        &[
            ("SWR_ENDPOINT", &s.base),
            ("HUAWEICLOUD_SDK_AK", AK),
            ("HUAWEICLOUD_SDK_SK", SK),
            ("HUAWEICLOUD_SDK_PROJECT_ID", "proj"),
        ],
    );
    ok(&env);
    assert_eq!(env.stdout, by_token.stdout);
    // A wrong secret is a 401 that says why.
    let wrong = swr(
        &[
            "--endpoint",
            &s.base,
            "--ak",
            AK,
            "--sk",
            "nope",
            "tags",
            "list",
            "group/busybox",
        ],
        &[],
    );
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("signature"), "{}", wrong.stderr);
    // SWR_TOKEN from the environment.
    let token = swr(
        &["tags", "list", "group/busybox", "-o", "csv"],
        &[("SWR_ENDPOINT", &s.base), ("SWR_TOKEN", common::TOKEN)],
    );
    ok(&token);
    assert_eq!(token.stdout, by_token.stdout);
}

#[test]
fn retries_503_then_succeeds_but_not_400() {
    let flaky = scripted(vec![(503, "busy"), (503, "busy"), (200, "[]")]);
    let run = swr(
        &[
            "--endpoint",
            &flaky.base,
            "--token",
            "t",
            "tags",
            "list",
            "group/busybox",
            "-o",
            "json",
        ],
        &[],
    );
    ok(&run);
    assert_eq!(run.stdout.trim(), "[]");
    assert_eq!(flaky.requests.load(std::sync::atomic::Ordering::SeqCst), 3);

    let bad = scripted(vec![(
        400,
        r#"{"error_code":"SVCSTG.SWR.4000014","error_msg":"bad"}"#,
    )]);
    let run = swr(
        &[
            "--endpoint",
            &bad.base,
            "--token",
            "t",
            "tags",
            "list",
            "group/busybox",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    assert_eq!(bad.requests.load(std::sync::atomic::Ordering::SeqCst), 1);

    let down = scripted(vec![(503, "down")]);
    let run = swr(
        &[
            "--endpoint",
            &down.base,
            "--token",
            "t",
            "--retries",
            "1",
            "tags",
            "list",
            "group/busybox",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    assert_eq!(down.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(run.stderr.contains("HTTP 503"), "{}", run.stderr);
}

/// Tags pushed through the store between two pages of `--all`.
#[test]
fn tags_pushed_while_paging() {
    let store_slot: Arc<std::sync::OnceLock<Arc<swrd::store::AnyStore>>> = Arc::default();
    let slot = store_slot.clone();
    let hook: common::Hook = Arc::new(move |n| {
        let slot = slot.clone();
        Box::pin(async move {
            if n == 3 {
                let store = slot.get().unwrap();
                // Newest of all (front of the default order), and the oldest
                // (end of it).
                import_tags(
                    store,
                    "paged",
                    &[
                        ("pushed-new", "2030-01-01T00:00:00Z"),
                        ("pushed-old", "2000-01-01T00:00:00Z"),
                    ],
                )
                .await;
            }
        })
    });
    let s = Swrd::start_with(Some(hook));
    store_slot.set(s.store.clone()).ok().unwrap();
    s.synth("paged", 50);
    let before = full_list(&s, "paged", ListOptions::default());
    assert_eq!(s.requests(), 1);
    // Requests 2 and 3 are pages 1 and 2 of the stream; the push lands
    // before page 2 is answered.
    let run = s.swr(&[
        "tags",
        "list",
        "group/paged",
        "--all",
        "--page-size",
        "10",
        "-o",
        "ndjson",
    ]);
    ok(&run);
    let ids = ids_of_ndjson(&run.stdout);
    let tags: Vec<String> = run
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["Tag"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no tag twice"
    );
    // Every tag from before, in order; the new front tag is newer than the
    // listing and not shown; the one sorting last is.
    assert_eq!(&ids[..50], &before[..]);
    assert_eq!(tags[50..], ["pushed-old"]);
    assert!(!tags.contains(&"pushed-new".to_owned()));
}

#[test]
fn completions_and_version() {
    for shell in ["bash", "zsh", "fish"] {
        let run = swr(&["completions", shell], &[]);
        ok(&run);
        assert!(run.stdout.contains("swr"), "{shell}");
    }
    let run = swr(&["--version"], &[]);
    ok(&run);
    assert!(run.stdout.starts_with("swr "));
    let run = swr(&["completions", "nosh"], &[]);
    assert_eq!(run.code, 2);
}

#[test]
fn ages_follow_the_clock() {
    let s = Swrd::start();
    let later = swr(
        &[
            "--endpoint",
            &s.base,
            "--token",
            common::TOKEN,
            "tags",
            "list",
            "group/busybox",
        ],
        &[("SWR_NOW", "2025-06-01T12:00:00Z")],
    );
    ok(&later);
    assert!(later.stdout.contains("12 months ago"), "{}", later.stdout);
    assert_ne!(NOW, "2025-06-01T12:00:00Z");
}
