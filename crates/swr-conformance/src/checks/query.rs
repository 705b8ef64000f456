//! The two query forms, how they merge, and the `tag` filter.

use super::{Form, expect_page, filter_value};
use crate::call::{Problem, Verdict, skip};
use crate::context::{Code, Ctx, expect_error};
use crate::oracle::{Column, Dir, Query};
use crate::plan::Repo;
use crate::spec_facts::param_code;

checks!("query":
    separate_params => "offset, limit, order_column, order_type and tag as separate query \
        parameters select the oracle's page",
    filter_param => "The same query packed into filter=key::value|… (keys in any order, | and : \
        percent-encoded) selects the same page",
    merge_same_value => "A key sent in both forms with the same value is accepted",
    merge_split_pair => "A pair may be split across the forms (filter=offset::… with limit=…)",
    merge_conflict => "A key sent in both forms with different values is a 400 naming the key, \
        never a silent pick",
    tag_substring => "tag keeps every tag whose name contains it, not only an exact match",
    tag_case_sensitive => "tag matches case-sensitively (v1 does not match V1)",
    tag_no_match => "A tag that matches nothing is 200 with [] and Content-Range 0-0/0",
    malformed_filter => "A filter that is not key::value parts, or has an unknown key, is a 400 \
        naming filter",
    invalid_order_values => "order_column other than updated_at/tag, or order_type other than \
        desc/asc, is a 400 naming the parameter",
    invalid_tag_value => "A tag outside [A-Za-z0-9_.-]{1,128} is a 400 with tag's error code, \
        naming tag",
);

/// A query touching every key: a page of the needle's matches by name.
fn full_query(ctx: &Ctx) -> Query {
    Query {
        tag: ctx.plan.needle.clone(),
        order: Some((Column::Tag, Dir::Asc)),
        page: Some((1, 2)),
    }
}

async fn separate_params(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let q = full_query(ctx);
    expect_page(ctx, main, ctx.records(main)?, &q, Form::Separate).await?;
    Ok(())
}

async fn filter_param(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let records = ctx.records(main)?;
    let q = full_query(ctx);
    expect_page(ctx, main, records, &q, Form::Filter).await?;
    // The grammar's keys in reverse order.
    let f = filter_value(&q);
    let mut parts: Vec<&str> = f.split('|').collect();
    parts.reverse();
    let ex = ctx
        .send(ctx.get(main, &[("filter", &parts.join("|"))]))
        .await;
    records.check(&ex, &q)?;
    Ok(())
}

async fn merge_same_value(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let q = Query {
        order: Some((Column::Tag, Dir::Asc)),
        page: Some((1, 3)),
        ..Query::default()
    };
    let ex = ctx
        .send(ctx.get(
            main,
            &[
                ("offset", "1"),
                ("limit", "3"),
                ("filter", &filter_value(&q)),
            ],
        ))
        .await;
    ctx.records(main)?.check(&ex, &q)?;
    Ok(())
}

async fn merge_split_pair(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let records = ctx.records(main)?;
    let paged = Query {
        page: Some((2, 3)),
        ..Query::default()
    };
    let ex = ctx
        .send(ctx.get(main, &[("filter", "offset::2"), ("limit", "3")]))
        .await;
    records.check(&ex, &paged)?;
    let ordered = Query {
        order: Some((Column::Tag, Dir::Desc)),
        ..Query::default()
    };
    let ex = ctx
        .send(ctx.get(
            main,
            &[("order_column", "tag"), ("filter", "order_type::desc")],
        ))
        .await;
    records.check(&ex, &ordered)?;
    Ok(())
}

async fn merge_conflict(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("offset", "0"), ("limit", "5"), ("filter", "limit::6")],
            "limit",
        ),
        (
            &[
                ("order_column", "tag"),
                ("order_type", "asc"),
                ("filter", "order_type::desc"),
            ],
            "order_type",
        ),
        (&[("tag", "a"), ("filter", "tag::b")], "tag"),
    ];
    for (query, key) in cases {
        let ex = ctx.send(ctx.get(main, query)).await;
        expect_error(&ex, 400, Code::Documented, &[key])?;
    }
    Ok(())
}

fn needle(ctx: &Ctx) -> Result<String, Problem> {
    ctx.plan
        .needle
        .clone()
        .ok_or_else(|| skip("needs a substring of several (not all) tag names"))
}

async fn tag_query(ctx: &Ctx, main: &Repo, tag: String) -> Verdict {
    let q = Query {
        tag: Some(tag),
        ..Query::default()
    };
    expect_page(ctx, main, ctx.records(main)?, &q, Form::Separate).await?;
    Ok(())
}

async fn tag_substring(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    tag_query(ctx, main, needle(ctx)?).await
}

async fn tag_case_sensitive(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let needle = ctx.plan.case_needle.clone().ok_or_else(|| {
        skip("needs a substring that a case-insensitive match would widen (v1 and V1)")
    })?;
    tag_query(ctx, main, needle).await
}

async fn tag_no_match(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    tag_query(ctx, main, ctx.plan.no_match.clone()).await
}

async fn malformed_filter(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    for filter in ["offset::0|limit", "size::1", "offset::0||limit::5"] {
        let ex = ctx.send(ctx.get(main, &[("filter", filter)])).await;
        expect_error(&ex, 400, Code::Documented, &["filter"])?;
    }
    Ok(())
}

async fn invalid_order_values(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    for (column, dir, bad) in [("size", "asc", "order_column"), ("tag", "up", "order_type")] {
        let ex = ctx
            .send(ctx.get(main, &[("order_column", column), ("order_type", dir)]))
            .await;
        expect_error(&ex, 400, Code::Exact(param_code(bad)?), &[bad])?;
    }
    Ok(())
}

async fn invalid_tag_value(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let long = "a".repeat(129);
    for tag in ["a b", "v1:0", long.as_str()] {
        let ex = ctx.send(ctx.get(main, &[("tag", tag)])).await;
        expect_error(&ex, 400, Code::Exact(param_code("tag")?), &["tag"])?;
    }
    Ok(())
}
