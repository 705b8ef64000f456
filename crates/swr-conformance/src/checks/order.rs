//! Orders: the default, all four explicit ones (unpaged and page by page),
//! ties, and byte order for tag names.

use super::{Form, expect_page, walk};
use crate::call::{Verdict, skip};
use crate::context::Ctx;
use crate::oracle::{Column, Dir, Query};

checks!("order":
    default => "Without ordering parameters the order is updated_at desc, ties broken by id desc",
    updated_at_desc => "order_column=updated_at&order_type=desc: newest first, ties by id desc, \
        unpaged and page by page (pages never overlap and cover everything)",
    updated_at_asc => "order_column=updated_at&order_type=asc: oldest first, ties by id asc, \
        unpaged and page by page",
    tag_desc => "order_column=tag&order_type=desc: names in descending byte order, unpaged and \
        page by page",
    tag_asc => "order_column=tag&order_type=asc: names in ascending byte order, unpaged and page \
        by page",
    ties_by_id => "Tags with equal update times are ordered by id in the order's own direction, \
        so asc is the exact reverse of desc and pages are stable",
    tag_byte_order => "order_column=tag compares names by byte order (C collation: B1 < _x < a1, \
        V1.0 < v1.0), never case-insensitively or by a locale",
);

async fn default(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    expect_page(
        ctx,
        main,
        ctx.records(main)?,
        &Query::default(),
        Form::Separate,
    )
    .await?;
    Ok(())
}

/// Unpaged, then page by page.
async fn in_order(ctx: &Ctx, column: Column, dir: Dir) -> Verdict {
    let main = ctx.main()?;
    let records = ctx.records(main)?;
    let q = Query {
        order: Some((column, dir)),
        ..Query::default()
    };
    expect_page(ctx, main, records, &q, Form::Separate).await?;
    walk(ctx, main, records, &q).await
}

async fn updated_at_desc(ctx: &Ctx) -> Verdict {
    in_order(ctx, Column::Updated, Dir::Desc).await
}

async fn updated_at_asc(ctx: &Ctx) -> Verdict {
    in_order(ctx, Column::Updated, Dir::Asc).await
}

async fn tag_desc(ctx: &Ctx) -> Verdict {
    in_order(ctx, Column::Tag, Dir::Desc).await
}

async fn tag_asc(ctx: &Ctx) -> Verdict {
    in_order(ctx, Column::Tag, Dir::Asc).await
}

async fn ties_by_id(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let Some((a, b)) = &ctx.plan.tie_example else {
        return Err(skip("needs two tags with the same update time"));
    };
    ctx.records(main)?;
    for dir in [Dir::Desc, Dir::Asc] {
        let ex = ctx
            .send(ctx.get(
                main,
                &[("order_column", "updated_at"), ("order_type", dir.wire())],
            ))
            .await;
        ex.expect_status(200)?;
        let body = ex.json()?;
        let items = body.as_array().cloned().unwrap_or_default();
        for pair in items.windows(2) {
            let (x, y) = (&pair[0], &pair[1]);
            if x["updated"] != y["updated"] {
                continue;
            }
            let (ix, iy) = (x["id"].as_i64(), y["id"].as_i64());
            let right = match dir {
                Dir::Asc => ix < iy,
                Dir::Desc => ix > iy,
            };
            if !right {
                return Err(ex.fail(format!(
                    "{} (id {}) and {} (id {}) share the update time {}, so in {} order id {} \
                     must come first (the fixture's ties include {a:?} and {b:?})",
                    x["Tag"],
                    x["id"],
                    y["Tag"],
                    y["id"],
                    x["updated"],
                    dir.wire(),
                    match dir {
                        Dir::Asc => ix.min(iy).unwrap_or_default(),
                        Dir::Desc => ix.max(iy).unwrap_or_default(),
                    }
                )));
            }
        }
    }
    Ok(())
}

async fn tag_byte_order(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let Some((lo, hi)) = &ctx.plan.byte_order_example else {
        return Err(skip(
            "needs tag names whose byte order differs from their case-insensitive order",
        ));
    };
    let ex = ctx
        .send(ctx.get(main, &[("order_column", "tag"), ("order_type", "asc")]))
        .await;
    ex.expect_status(200)?;
    let body = ex.json()?;
    let names: Vec<&str> = body
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["Tag"].as_str()).collect())
        .unwrap_or_default();
    if let Some(pair) = names.windows(2).find(|p| p[0].as_bytes() > p[1].as_bytes()) {
        return Err(ex.fail(format!(
            "{:?} is listed before {:?}, but byte order puts it after (so {lo:?} < {hi:?})",
            pair[0], pair[1]
        )));
    }
    Ok(())
}
