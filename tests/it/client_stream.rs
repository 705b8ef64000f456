//! `TagsStream` against an in-memory paging server whose tag list changes
//! between requests: inserts and deletions before, at and after the cursor,
//! and a randomized check of the guarantees stated on `TagsStream`.
#![cfg(feature = "client")]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use swr_api::client::{RetryPolicy, SwrClient, SwrError, TagsStreamOptions};
use swr_api::types::ShowReposTagResp;

type Mutation = Box<dyn FnOnce(&mut Vec<i64>) + Send>;

/// Tags are their ids; the server's order is id descending (like the default
/// newest first), so a new tag's id says where it lands.
struct Server {
    base: String,
    ids: Arc<Mutex<Vec<i64>>>,
    requests: Arc<Mutex<usize>>,
}

fn tag(id: i64) -> ShowReposTagResp {
    ShowReposTagResp {
        id,
        repo_id: 1,
        tag: format!("t{id}"),
        image_id: String::new(),
        manifest: String::new(),
        digest: format!("sha256:{id:064}"),
        schema: 2,
        path: String::new(),
        internal_path: String::new(),
        size: id,
        is_trusted: false,
        created: "2024-01-01T00:00:00Z".into(),
        updated: "2024-01-01T00:00:00Z".into(),
        deleted: None,
        domain_id: "d".into(),
        scanned: false,
        tag_type: 0.try_into().unwrap(),
    }
}

fn query_param(uri: &axum::http::Uri, key: &str) -> Option<u64> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.parse().ok())?
    })
}

/// `mutations[k]` runs just before request number `k` (1-based) is answered;
/// `fail_at` answers that request with a 400.
async fn server(
    mut ids: Vec<i64>,
    mutations: HashMap<usize, Mutation>,
    fail_at: Option<usize>,
) -> Server {
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let ids = Arc::new(Mutex::new(ids));
    let requests = Arc::new(Mutex::new(0));
    let mutations = Arc::new(Mutex::new(mutations));
    let (state, count) = (ids.clone(), requests.clone());
    let app = axum::Router::new().fallback(move |req: Request| {
        let (state, count, mutations) = (state.clone(), count.clone(), mutations.clone());
        async move {
            let n = {
                let mut c = count.lock().unwrap();
                *c += 1;
                *c
            };
            let mut ids = state.lock().unwrap();
            if let Some(m) = mutations.lock().unwrap().remove(&n) {
                m(&mut ids);
                ids.sort_unstable_by(|a, b| b.cmp(a));
            }
            if fail_at == Some(n) {
                return Response::builder()
                    .status(400)
                    .header("x-request-id", "rid-fail")
                    .body(Body::from(
                        r#"{"error_code":"SVCSTG.SWR.4000014","error_msg":"no"}"#,
                    ))
                    .unwrap();
            }
            let total = ids.len() as u64;
            let offset = query_param(req.uri(), "offset").unwrap_or(0);
            let limit = query_param(req.uri(), "limit").unwrap_or(total);
            let page: Vec<ShowReposTagResp> = ids
                .iter()
                .skip(offset as usize)
                .take(limit as usize)
                .map(|&id| tag(id))
                .collect();
            Response::builder()
                .header("content-type", "application/json")
                .header("content-range", format!("{offset}-{}/{total}", page.len()))
                .body(Body::from(serde_json::to_vec(&page).unwrap()))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        base,
        ids,
        requests,
    }
}

async fn stream_ids(s: &Server, page_size: u32) -> (Vec<i64>, u64) {
    let swr = SwrClient::builder()
        .endpoint(&s.base)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut stream = swr.tags_stream(
        "group",
        "busybox",
        TagsStreamOptions {
            page_size,
            ..TagsStreamOptions::default()
        },
    );
    let mut out = Vec::new();
    while let Some(t) = stream.next().await {
        out.push(t.unwrap().id);
    }
    (out, stream.requests())
}

fn range(from: i64, to: i64) -> Vec<i64> {
    (from..to).collect()
}

fn desc(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable_by(|a, b| b.cmp(a));
    v
}

fn at(k: usize, m: impl FnOnce(&mut Vec<i64>) + Send + 'static) -> HashMap<usize, Mutation> {
    HashMap::from([(k, Box::new(m) as Mutation)])
}

#[tokio::test]
async fn pages_through_everything_in_order() {
    let s = server(range(1, 2501), HashMap::new(), None).await;
    let (ids, requests) = stream_ids(&s, 1000).await;
    assert_eq!(ids, desc(range(1, 2501)));
    // 0..1000, 999..1999, 1998..2500: one tag of overlap per page.
    assert_eq!(requests, 3);
    assert_eq!(*s.requests.lock().unwrap(), 3);
}

#[tokio::test]
async fn exact_multiple_and_empty_repository() {
    let s = server(range(1, 21), HashMap::new(), None).await;
    assert_eq!(stream_ids(&s, 10).await.0, desc(range(1, 21)));
    let s = server(vec![], HashMap::new(), None).await;
    assert_eq!(stream_ids(&s, 10).await, (vec![], 1));
}

/// A push lands in front of the default newest-first order: it shifts every
/// later page by one. The caller gets each original tag once, in order, and
/// not the new one (it is newer than the stream).
#[tokio::test]
async fn a_push_in_front_shifts_pages_without_duplicates() {
    let s = server(range(1, 51), at(2, |ids| ids.extend([100, 101, 102])), None).await;
    let (ids, _) = stream_ids(&s, 10).await;
    assert_eq!(ids, desc(range(1, 51)));
}

/// A tag that sorts after the cursor is yielded.
#[tokio::test]
async fn a_push_behind_the_cursor_is_yielded() {
    let s = server(range(10, 60), at(2, |ids| ids.push(5)), None).await;
    let (ids, _) = stream_ids(&s, 10).await;
    let mut want = desc(range(10, 60));
    want.push(5);
    assert_eq!(ids, want);
}

/// Deleting tags already yielded moves the rest back; a naive offset pager
/// would skip the five tags that slide across the page boundary.
#[tokio::test]
async fn deletions_before_the_cursor_skip_nothing() {
    let s = server(
        range(1, 51),
        at(2, |ids| ids.retain(|&id| !(46..=50).contains(&id))),
        None,
    )
    .await;
    let (ids, requests) = stream_ids(&s, 10).await;
    assert_eq!(ids, desc(range(1, 51)), "deleted tags were yielded before");
    assert!(requests > 6, "it stepped back: {requests}");
}

#[tokio::test]
async fn deleting_the_boundary_tag_skips_nothing() {
    // Page 1 is 50..=41; 41 is its last tag, where page 2 would start.
    let s = server(range(1, 51), at(2, |ids| ids.retain(|&id| id != 41)), None).await;
    let (ids, _) = stream_ids(&s, 10).await;
    assert_eq!(ids, desc(range(1, 51)));
}

/// The list shrinks below the cursor: the stream walks back to find the rest.
#[tokio::test]
async fn mass_deletion_past_the_cursor() {
    let s = server(
        range(1, 51),
        at(4, |ids| ids.retain(|&id| id <= 5 || id % 2 == 0)),
        None,
    )
    .await;
    let (ids, _) = stream_ids(&s, 10).await;
    // Pages 1..3 (offsets 0, 9, 18) yielded 50..=23; then only even ids
    // (and 1..=5) remain, 22 of them, all before offset 27.
    let mut want = desc(range(23, 51));
    want.extend(desc((1..23).filter(|id| *id <= 5 || id % 2 == 0).collect()));
    assert_eq!(ids, want);
}

#[tokio::test]
async fn an_error_is_yielded_once_and_ends_the_stream() {
    let s = server(range(1, 51), HashMap::new(), Some(2)).await;
    let swr = SwrClient::builder().endpoint(&s.base).build().unwrap();
    let mut stream = swr.tags_stream(
        "group",
        "busybox",
        TagsStreamOptions {
            page_size: 10,
            ..TagsStreamOptions::default()
        },
    );
    let mut ok = 0;
    let mut errors = Vec::new();
    while let Some(t) = stream.next().await {
        match t {
            Ok(_) => ok += 1,
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(errors.len(), 1);
    assert!(matches!(&errors[0], SwrError::Api(e) if e.status == 400));
    assert_eq!(stream.total(), Some(50));
}

/// Random inserts and deletions between pages: no tag twice, the server's
/// order kept, and every tag that existed throughout yielded.
#[tokio::test]
async fn random_churn_keeps_the_guarantees() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    for round in 0..40 {
        let initial: Vec<i64> = (1..=200).map(|i| i * 10).collect();
        let deleted = Arc::new(Mutex::new(HashSet::new()));
        let mut mutations = HashMap::new();
        for k in 2..40 {
            let (adds, dels): (Vec<i64>, Vec<u64>) = (
                (0..next(4)).map(|_| next(2100) as i64 * 10 + 5).collect(),
                (0..next(4)).map(|_| next(1000)).collect(),
            );
            let deleted = deleted.clone();
            mutations.insert(
                k,
                Box::new(move |ids: &mut Vec<i64>| {
                    ids.extend(adds);
                    ids.sort_unstable_by(|a, b| b.cmp(a));
                    ids.dedup();
                    for d in dels {
                        if !ids.is_empty() {
                            let i = d as usize % ids.len();
                            deleted.lock().unwrap().insert(ids.remove(i));
                        }
                    }
                }) as Mutation,
            );
        }
        let page = 5 + next(20) as u32;
        let s = server(initial.clone(), mutations, None).await;
        let (ids, _) = stream_ids(&s, page).await;
        let unique: HashSet<i64> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "round {round}: a tag came twice");
        let deleted = deleted.lock().unwrap();
        let stable: HashSet<i64> = initial
            .iter()
            .copied()
            .filter(|id| !deleted.contains(id))
            .collect();
        for id in &stable {
            assert!(
                unique.contains(id),
                "round {round} (page {page}): {id} skipped"
            );
        }
        let stable_out: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| stable.contains(id))
            .collect();
        assert!(
            stable_out.windows(2).all(|w| w[0] > w[1]),
            "round {round}: out of order"
        );
        assert!(s.ids.lock().unwrap().len() <= 200 + 38 * 3);
    }
}
