//! Number bounds: `limit` is 1..=1000, `offset` any int64 from 0; anything
//! else is a 400 with the parameter's own error code, naming it.

use super::{Form, expect_page};
use crate::call::Verdict;
use crate::context::{Code, Ctx, expect_error};
use crate::oracle::Query;
use crate::spec_facts::param_code;

checks!("bounds":
    limit_zero => "limit=0 is a 400 with limit's error code (SVCSTG.SWR.4000056), naming limit",
    limit_over_max => "limit=1001 is a 400 with limit's error code: limit is 1 to 1000",
    limit_not_a_number => "limit=abc is a 400 with limit's error code, naming limit",
    limit_negative => "limit=-1 is a 400 with limit's error code, naming limit",
    limit_too_big => "limit=10^23 (not an int64) is a 400 with limit's error code, naming limit",
    limit_in_filter => "filter=offset::0|limit::1001 is a 400 with limit's error code, naming limit",
    limit_range_accepted => "limit=1 and limit=1000 are accepted",
    offset_negative => "offset=-1 is a 400 with offset's error code, naming offset",
    offset_not_a_number => "offset=abc is a 400 with offset's error code, naming offset",
    offset_too_big => "offset=10^23 (not an int64) is a 400 with offset's error code, naming offset",
    offset_int64_max => "offset=9223372036854775807 (the largest int64) is accepted: 200, [] past \
        the end",
);

const TEN_TO_23: &str = "100000000000000000000000";

/// `offset=…&limit=…` must be a 400 with `param`'s code naming it.
async fn rejected(ctx: &Ctx, offset: &str, limit: &str, param: &str) -> Verdict {
    let main = ctx.main()?;
    let ex = ctx
        .send(ctx.get(main, &[("offset", offset), ("limit", limit)]))
        .await;
    expect_error(&ex, 400, Code::Exact(param_code(param)?), &[param])?;
    Ok(())
}

async fn limit_zero(ctx: &Ctx) -> Verdict {
    rejected(ctx, "0", "0", "limit").await
}

async fn limit_over_max(ctx: &Ctx) -> Verdict {
    rejected(ctx, "0", "1001", "limit").await
}

async fn limit_not_a_number(ctx: &Ctx) -> Verdict {
    rejected(ctx, "0", "abc", "limit").await
}

async fn limit_negative(ctx: &Ctx) -> Verdict {
    rejected(ctx, "0", "-1", "limit").await
}

async fn limit_too_big(ctx: &Ctx) -> Verdict {
    rejected(ctx, "0", TEN_TO_23, "limit").await
}

async fn limit_in_filter(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let ex = ctx
        .send(ctx.get(main, &[("filter", "offset::0|limit::1001")]))
        .await;
    expect_error(&ex, 400, Code::Exact(param_code("limit")?), &["limit"])?;
    Ok(())
}

async fn limit_range_accepted(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let records = ctx.records(main)?;
    for limit in [1, 1000] {
        let q = Query {
            page: Some((0, limit)),
            ..Query::default()
        };
        expect_page(ctx, main, records, &q, Form::Separate).await?;
    }
    Ok(())
}

async fn offset_negative(ctx: &Ctx) -> Verdict {
    rejected(ctx, "-1", "10", "offset").await
}

async fn offset_not_a_number(ctx: &Ctx) -> Verdict {
    rejected(ctx, "abc", "10", "offset").await
}

async fn offset_too_big(ctx: &Ctx) -> Verdict {
    rejected(ctx, TEN_TO_23, "10", "offset").await
}

async fn offset_int64_max(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let q = Query {
        page: Some((i64::MAX as u64, 1)),
        ..Query::default()
    };
    expect_page(ctx, main, ctx.records(main)?, &q, Form::Separate).await?;
    Ok(())
}
