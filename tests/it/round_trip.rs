//! The generated client against the generated router, over a real socket on
//! 127.0.0.1: every parameter form, the `filter` type, the response headers and
//! every documented error status travel through both halves of the generated
//! code and come back typed.
#![cfg(all(feature = "client", feature = "server"))]

use std::num::NonZeroU32;
use std::sync::Arc;

use swr_api::ContentRange;
use swr_api::client::{Client, Error};
use swr_api::server::paging::paginate;
use swr_api::server::support::{Credentials, Rejection};
use swr_api::server::{Api, ListRepositoryTagsRequest, ListRepositoryTagsResponse, router};
use swr_api::swr_filter::{OrderColumn, OrderType, TagFilter};
use swr_api::types::{ErrorResponse, ShowReposTagResp};

/// 25 tags `t00`..`t24`; `updated` grows with the number, so `updated_at desc`
/// is `t24` first.
struct InMemory;

fn tag(i: i64) -> ShowReposTagResp {
    ShowReposTagResp {
        id: i,
        repo_id: 1,
        tag: format!("t{i:02}"),
        image_id: "741f24a795d6".into(),
        manifest: "{}".into(),
        digest: format!("sha256:{i:064}"),
        schema: 2,
        path: format!("swr.example/group/busybox:t{i:02}"),
        internal_path: format!("10.0.0.1:20202/group/busybox:t{i:02}"),
        size: 1000 + i,
        is_trusted: false,
        created: "2018-07-06T06:18:55Z".into(),
        updated: format!("2018-07-06T06:{i:02}:00Z"),
        deleted: None,
        domain_id: "d1".into(),
        scanned: i % 2 == 0,
        tag_type: 0.try_into().unwrap(),
    }
}

impl Api for InMemory {
    /// Only the token `good` gets in; nobody in particular.
    type Principal = ();

    async fn authenticate(&self, credentials: Credentials, _: &str) -> Result<(), Rejection> {
        match credentials {
            Credentials::Token(t) if t == "good" => Ok(()),
            _ => Err(Rejection::unauthorized(
                "SVCSTG.SWR.4010000",
                "the token is not valid",
            )),
        }
    }

    async fn list_repository_tags(
        &self,
        req: ListRepositoryTagsRequest<()>,
    ) -> Result<ListRepositoryTagsResponse, Rejection> {
        match req.path.repository.as_str() {
            "missing" => return Err(Rejection::not_found_repository("group", "missing")),
            "boom" => return Err(Rejection::internal()),
            _ => {}
        }
        // The router has merged every query form into one `ListQuery`.
        let tags: Vec<ShowReposTagResp> = (0..25).map(tag).collect();
        let page = paginate(&tags, &req.query);
        Ok(ListRepositoryTagsResponse::Ok {
            content_range: page.content_range,
            body: page.items.into_iter().cloned().collect::<Vec<_>>().into(),
        })
    }
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router(Arc::new(InMemory)))
            .await
            .unwrap()
    });
    format!("http://{addr}")
}

fn names(tags: &[ShowReposTagResp]) -> Vec<&str> {
    tags.iter().map(|t| t.tag.as_str()).collect()
}

fn range(resp: &progenitor_client::ResponseValue<Vec<ShowReposTagResp>>) -> ContentRange {
    resp.headers()["content-range"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn every_query_form_round_trips() {
    let client = Client::new(&serve().await).unwrap();
    let list = || {
        client
            .list_repository_tags()
            .namespace("group")
            .repository("busybox")
            .x_auth_token("good")
    };

    // No paging params: everything, default order updated_at desc.
    let all = list().send().await.unwrap();
    assert_eq!(
        range(&all),
        ContentRange {
            offset: 0,
            count: 25,
            total: 25
        }
    );
    assert_eq!(all.headers()["x-request-id"].len(), 36);
    assert_eq!(all[0].tag, "t24");

    // Separate params.
    let page = list()
        .offset(5)
        .limit(NonZeroU32::new(10).unwrap())
        .order_column(OrderColumn::Tag)
        .order_type(OrderType::Asc)
        .send()
        .await
        .unwrap();
    assert_eq!(
        range(&page),
        ContentRange {
            offset: 5,
            count: 10,
            total: 25
        }
    );
    assert_eq!(names(&page)[..3], ["t05", "t06", "t07"]);

    // The filter form, typed: the same page.
    let filter: TagFilter = "offset::5|limit::10|order_column::tag|order_type::asc"
        .parse()
        .unwrap();
    let same = list().filter(filter).send().await.unwrap();
    assert_eq!(names(&same), names(&page));

    // Both forms together: the tag in `filter`, the page as separate params.
    // (A typed TagFilter is always complete, so it cannot carry half a pair;
    // the router's split-pair merge is covered by tests/it/server_router.rs.)
    let mixed = list()
        .filter("tag::t1".parse::<TagFilter>().unwrap())
        .offset(0)
        .limit(NonZeroU32::new(3).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        range(&mixed),
        ContentRange {
            offset: 0,
            count: 3,
            total: 10
        }
    );
    assert_eq!(names(&mixed), ["t19", "t18", "t17"]);

    // Offset past the end.
    let past = list()
        .offset(100)
        .limit(NonZeroU32::new(10).unwrap())
        .send()
        .await
        .unwrap();
    assert!(past.is_empty());
    assert_eq!(
        range(&past),
        ContentRange {
            offset: 100,
            count: 0,
            total: 25
        }
    );

    // The body is the full model, `Tag` key included.
    assert_eq!(all.into_inner().last().unwrap(), &tag(0));
}

async fn error_of(
    result: Result<progenitor_client::ResponseValue<Vec<ShowReposTagResp>>, Error<ErrorResponse>>,
) -> (u16, ErrorResponse) {
    match result {
        Err(Error::ErrorResponse(e)) => (e.status().as_u16(), e.into_inner()),
        other => panic!("expected an ErrorResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn every_error_status_round_trips() {
    let client = Client::new(&serve().await).unwrap();
    let list = || {
        client
            .list_repository_tags()
            .namespace("group")
            .repository("busybox")
    };

    let (status, body) = error_of(list().x_auth_token("good").offset(0).send().await).await;
    assert_eq!(
        (status, body.error_code.as_str()),
        (400, "SVCSTG.SWR.4001072")
    );
    assert!(body.error_msg.contains("limit"), "{}", body.error_msg);

    let (status, body) = error_of(
        list()
            .x_auth_token("good")
            .order_type(OrderType::Asc)
            .filter(
                "order_column::updated_at|order_type::desc"
                    .parse::<TagFilter>()
                    .unwrap(),
            )
            .send()
            .await,
    )
    .await;
    assert_eq!(
        (status, body.error_code.as_str()),
        (400, "SVCSTG.SWR.4001035")
    );
    assert!(body.error_msg.contains("order_type"), "{}", body.error_msg);

    let (status, body) = error_of(list().send().await).await;
    assert_eq!(
        (status, body.error_code.as_str()),
        (401, "SVCSTG.SWR.4010000")
    );

    let (status, body) = error_of(list().x_auth_token("bad").send().await).await;
    assert_eq!(
        (status, body.error_code.as_str()),
        (401, "SVCSTG.SWR.4010000")
    );

    let missing = client
        .list_repository_tags()
        .namespace("group")
        .repository("missing")
        .x_auth_token("good");
    let (status, body) = error_of(missing.send().await).await;
    assert_eq!(
        (status, body.error_code.as_str()),
        (404, "SVCSTG.SWR.4040010")
    );

    let boom = client
        .list_repository_tags()
        .namespace("group")
        .repository("boom")
        .x_auth_token("good");
    let (status, body) = error_of(boom.send().await).await;
    assert_eq!(
        (status, body.error_code.as_str()),
        (500, "SVCSTG.SWR.5000063")
    );
    assert_eq!(body.errors[0].error_code, "SVCSTG.SWR.5000063");
}

#[tokio::test]
async fn the_client_refuses_what_the_spec_forbids_before_sending() {
    let client = Client::new("http://127.0.0.1:9").unwrap();
    // `/` must travel as `$`; the generated type checks the pattern locally.
    let err = client
        .list_repository_tags()
        .namespace("group")
        .repository("tools/busybox")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    let err = client
        .list_repository_tags()
        .namespace("Group")
        .repository("busybox")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn a_repository_with_a_slash_travels_as_dollar() {
    let client = Client::new(&serve().await).unwrap();
    let resp = client
        .list_repository_tags()
        .namespace("group")
        .repository("tools$busybox")
        .x_auth_token("good")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.len(), 25);
}
