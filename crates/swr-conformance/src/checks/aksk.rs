//! AK/SK (`SDK-HMAC-SHA256`) authentication: what must pass, what must fail,
//! and that every failure looks the same to the caller. The date checks sign
//! with the kit's clock: against a live server they assume the two clocks
//! agree within a few minutes.

use std::time::{Duration, SystemTime};

use crate::call::{Call, Exchange, Problem, Verdict, skip};
use crate::context::{Code, Ctx, ErrorBody, expect_error};
use crate::oracle::{Column, Dir, Query};
use crate::plan::{Key, tags_path};
use crate::spec_facts::error_code;

checks!("aksk":
    valid => "A request signed with SDK-HMAC-SHA256 by a known AK/SK is accepted, whatever the \
        order of its query parameters",
    valid_filter => "A signed request with filter (| and : percent-encoded) is accepted",
    valid_dollar_path => "A signed request to a repository with $ in its path (sent as $ or %24) \
        is accepted",
    wrong_secret => "A signature made with the wrong SK is a 401",
    unknown_access_key => "An unknown AK is a 401",
    tampered_query => "A query changed after signing is a 401",
    tampered_path => "A path changed after signing is a 401",
    stale_date => "An X-Sdk-Date 20 minutes old is a 401 (at most 15 minutes of clock skew)",
    future_date => "An X-Sdk-Date 20 minutes ahead is a 401 (at most 15 minutes of clock skew)",
    date_within_skew => "An X-Sdk-Date 10 minutes old or ahead is accepted",
    same_message => "Every AK/SK failure (wrong SK, unknown AK, tampering, stale date) gets one and \
        the same status, code and message, so a caller cannot probe which keys exist",
    before_validation => "A bad signature with a bad parameter is a 401, never a 400",
);

const MINUTE: Duration = Duration::from_secs(60);

/// A's key, and a call of `path?query` signed with `key` at `at`.
fn signed(
    ctx: &Ctx,
    path: &str,
    query: &[(&str, &str)],
    key: &Key,
    at: SystemTime,
) -> Result<Call, Problem> {
    let a = ctx.a()?;
    Ok(Call::get(path)
        .query(query)
        .signed(key, &format!("AK/SK of {}", a.domain), at))
}

async fn valid(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let key = ctx.key()?;
    let query = [
        ("order_type", "asc"),
        ("limit", "7"),
        ("offset", "3"),
        ("order_column", "tag"),
    ];
    let ex = ctx
        .send(signed(ctx, &main.path(), &query, key, SystemTime::now())?)
        .await;
    let q = Query {
        order: Some((Column::Tag, Dir::Asc)),
        page: Some((3, 7)),
        ..Query::default()
    };
    ctx.records(main)?.check(&ex, &q)?;
    Ok(())
}

async fn valid_filter(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let key = ctx.key()?;
    let filter = "offset::0|limit::5|order_column::tag|order_type::desc";
    let ex = ctx
        .send(signed(
            ctx,
            &main.path(),
            &[("filter", filter)],
            key,
            SystemTime::now(),
        )?)
        .await;
    let q = Query {
        order: Some((Column::Tag, Dir::Desc)),
        page: Some((0, 5)),
        ..Query::default()
    };
    ctx.records(main)?.check(&ex, &q)?;
    Ok(())
}

async fn valid_dollar_path(ctx: &Ctx) -> Verdict {
    let a = ctx.a()?;
    let key = ctx.key()?;
    let slash = ctx
        .plan
        .slash
        .as_ref()
        .filter(|s| s.domain == a.domain)
        .ok_or_else(|| skip("needs a repository with / in its name in domain A"))?;
    let records = ctx.records(slash)?;
    for wire in [slash.name.replace('/', "$"), slash.name.replace('/', "%24")] {
        let path = tags_path(&slash.namespace, &wire);
        let ex = ctx
            .send(signed(ctx, &path, &[], key, SystemTime::now())?)
            .await;
        records.check(&ex, &Query::default())?;
    }
    Ok(())
}

/// A request that must fail authentication, and its answer's body.
async fn refused(ctx: &Ctx, call: Call) -> Result<(Exchange, ErrorBody), Problem> {
    let ex = ctx.send(call).await;
    let body = expect_error(&ex, 401, Code::Exact(error_code("unauthorized")?), &[])?;
    Ok((ex, body))
}

/// Every way a signature must fail, as calls.
fn failures(ctx: &Ctx) -> Result<Vec<(&'static str, Call)>, Problem> {
    let main = ctx.main()?;
    let key = ctx.key()?;
    let path = main.path();
    let now = SystemTime::now();
    let page = [("offset", "0"), ("limit", "5")];
    let wrong = Key {
        ak: key.ak.clone(),
        sk: format!("{}-wrong", key.sk),
    };
    let unknown = Key {
        ak: "SWRCONFORMANCEUNKNOWNAK".to_owned(),
        sk: key.sk.clone(),
    };
    let other_path = match &ctx.plan.second {
        Some(r) => r.path(),
        None => tags_path(&main.namespace, &ctx.plan.missing_repository),
    };
    Ok(vec![
        (
            "wrong SK",
            signed(ctx, &path, &page, &wrong, now)?.note("the SK is wrong"),
        ),
        (
            "unknown AK",
            signed(ctx, &path, &page, &unknown, now)?.note("the AK is unknown"),
        ),
        (
            "tampered query",
            signed(ctx, &path, &page, key, now)?
                .retarget(&path, Some("offset=0&limit=6"))
                .note("signed for offset=0&limit=5"),
        ),
        (
            "tampered path",
            signed(ctx, &path, &page, key, now)?
                .retarget(&other_path, Some("offset=0&limit=5"))
                .note(format!("signed for {path}")),
        ),
        (
            "stale date",
            signed(ctx, &path, &page, key, now - 20 * MINUTE)?.note("X-Sdk-Date 20 minutes old"),
        ),
    ])
}

async fn failure(ctx: &Ctx, which: &str) -> Verdict {
    let (_, call) = failures(ctx)?
        .into_iter()
        .find(|(w, _)| *w == which)
        .ok_or_else(|| skip(format!("no {which} case")))?;
    refused(ctx, call).await.map(drop)
}

async fn wrong_secret(ctx: &Ctx) -> Verdict {
    failure(ctx, "wrong SK").await
}

async fn unknown_access_key(ctx: &Ctx) -> Verdict {
    failure(ctx, "unknown AK").await
}

async fn tampered_query(ctx: &Ctx) -> Verdict {
    failure(ctx, "tampered query").await
}

async fn tampered_path(ctx: &Ctx) -> Verdict {
    failure(ctx, "tampered path").await
}

async fn stale_date(ctx: &Ctx) -> Verdict {
    failure(ctx, "stale date").await
}

async fn future_date(ctx: &Ctx) -> Verdict {
    let path = ctx.main()?.path();
    let at = SystemTime::now() + 20 * MINUTE;
    let call = signed(ctx, &path, &[], ctx.key()?, at)?.note("X-Sdk-Date 20 minutes ahead");
    refused(ctx, call).await.map(drop)
}

async fn date_within_skew(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let records = ctx.records(main)?;
    let q = Query {
        page: Some((0, 3)),
        ..Query::default()
    };
    let now = SystemTime::now();
    for (at, note) in [
        (now - 10 * MINUTE, "X-Sdk-Date 10 minutes old"),
        (now + 10 * MINUTE, "X-Sdk-Date 10 minutes ahead"),
    ] {
        let call = signed(
            ctx,
            &main.path(),
            &[("offset", "0"), ("limit", "3")],
            ctx.key()?,
            at,
        )?;
        records.check(&ctx.send(call.note(note)).await, &q)?;
    }
    Ok(())
}

async fn same_message(ctx: &Ctx) -> Verdict {
    let mut first: Option<(&str, ErrorBody)> = None;
    for (which, call) in failures(ctx)? {
        let (ex, body) = refused(ctx, call).await?;
        let seen = (&body.code, &body.msg, &body.json["errors"]);
        match &first {
            None => first = Some((which, body)),
            Some((w0, b0)) if seen != (&b0.code, &b0.msg, &b0.json["errors"]) => {
                return Err(ex.fail(format!(
                    "the {which} case is answered {} {:?} (errors {}), the {w0} case {} {:?} \
                     (errors {}): the difference tells a caller which part was wrong",
                    body.code, body.msg, body.json["errors"], b0.code, b0.msg, b0.json["errors"]
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn before_validation(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let key = ctx.key()?;
    let wrong = Key {
        ak: key.ak.clone(),
        sk: format!("{}-wrong", key.sk),
    };
    let now = SystemTime::now();
    let calls = [
        signed(
            ctx,
            &main.path(),
            &[("offset", "0"), ("limit", "0")],
            &wrong,
            now,
        )?,
        signed(ctx, &main.path(), &[("offset", "0")], &wrong, now)?,
        signed(ctx, &tags_path("Bad-Namespace", "x"), &[], &wrong, now)?,
        signed(
            ctx,
            &main.path(),
            &[("limit", "1001"), ("offset", "0")],
            key,
            now - 20 * MINUTE,
        )?
        .note("X-Sdk-Date 20 minutes old"),
    ];
    for call in calls {
        refused(ctx, call).await?;
    }
    Ok(())
}
