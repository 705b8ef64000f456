//! Paging: everything without parameters, offset/limit pages, and the
//! `Content-Range` header.

use super::{Form, expect_page, walk};
use crate::call::{Problem, Verdict, skip};
use crate::context::Ctx;
use crate::oracle::{Query, content_range};

checks!("paging":
    unpaged_records => "Without paging parameters the answer holds exactly the fixture's tags, \
        each with the fixture's fields (the records every other check compares with)",
    unpaged_over_100 => "Without paging parameters every tag is returned, also when there are \
        more than 100: there is no default page size",
    unpaged_content_range => "Without paging parameters Content-Range is 0-N/N (0-0/0 for an \
        empty repository)",
    pages_cover => "offset/limit pages are the oracle's pages: they never overlap and together \
        hold every tag exactly once",
    content_range_count => "Content-Range is {offset}-{count}/{total}, count being the number of \
        items in the body (not an inclusive end index)",
    last_page_partial => "The last page holds what is left, and Content-Range counts exactly that",
    offset_past_end => "An offset at or past the end is 200 with [] and Content-Range \
        {offset}-0/{total}",
    filtered_total => "With a tag filter, the total in Content-Range counts the matching tags only",
    empty_repository => "An empty repository lists [] with Content-Range 0-0/0, paged or not",
);

fn page(offset: u64, limit: u64) -> Query {
    Query {
        page: Some((offset, limit)),
        ..Query::default()
    }
}

async fn unpaged_records(ctx: &Ctx) -> Verdict {
    ctx.main()?;
    let plan = &ctx.plan;
    for repo in [&plan.main, &plan.slash, &plan.empty, &plan.second]
        .into_iter()
        .flatten()
    {
        if let Some(Err(failure)) = ctx.records.get(&repo.label()) {
            return Err(Problem::Fail(Box::new(failure.clone())));
        }
    }
    Ok(())
}

async fn unpaged_over_100(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    if main.tags.len() <= 100 {
        return Err(skip("needs a repository with more than 100 tags"));
    }
    let ex = ctx.send(ctx.get(main, &[])).await;
    ex.expect_status(200)?;
    let n = ex.json()?.as_array().map_or(0, Vec::len);
    if n != main.tags.len() {
        return Err(ex.fail(format!(
            "{n} tags without paging parameters; {} has {}",
            main.label(),
            main.tags.len()
        )));
    }
    Ok(())
}

async fn unpaged_content_range(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    for repo in [Some(main), ctx.plan.empty.as_ref()].into_iter().flatten() {
        let n = repo.tags.len() as u64;
        let ex = ctx.send(ctx.get(repo, &[])).await;
        ex.expect_status(200)?;
        let range = content_range(&ex)?;
        if range != (0, n, n) {
            return Err(ex.fail(format!(
                "Content-Range is {}-{}/{}, expected 0-{n}/{n}",
                range.0, range.1, range.2
            )));
        }
    }
    Ok(())
}

async fn pages_cover(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    walk(ctx, main, ctx.records(main)?, &Query::default()).await
}

async fn content_range_count(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let records = ctx.records(main)?;
    let n = main.tags.len() as u64;
    // A count differs from an inclusive end index unless offset is 1.
    let middle = if n >= 20 { 10 } else { 2 };
    for (offset, limit) in [(0, 2), (middle, (n - middle).clamp(1, 5))] {
        expect_page(ctx, main, records, &page(offset, limit), Form::Separate).await?;
    }
    Ok(())
}

async fn last_page_partial(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let n = main.tags.len() as u64;
    let q = page(n - 2, 5);
    expect_page(ctx, main, ctx.records(main)?, &q, Form::Separate).await?;
    Ok(())
}

async fn offset_past_end(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let records = ctx.records(main)?;
    let n = main.tags.len() as u64;
    for offset in [n, n + 7] {
        expect_page(ctx, main, records, &page(offset, 10), Form::Separate).await?;
    }
    Ok(())
}

async fn filtered_total(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let needle = ctx.plan.needle.clone().ok_or_else(|| {
        skip("needs a substring of several (not all) tag names of the main repository")
    })?;
    let q = Query {
        tag: Some(needle),
        page: Some((0, 1)),
        ..Query::default()
    };
    expect_page(ctx, main, ctx.records(main)?, &q, Form::Separate).await?;
    Ok(())
}

async fn empty_repository(ctx: &Ctx) -> Verdict {
    let empty = ctx
        .plan
        .empty
        .as_ref()
        .ok_or_else(|| skip("needs a repository without tags"))?;
    let records = ctx.records(empty)?;
    for q in [Query::default(), page(0, 10), page(5, 10)] {
        expect_page(ctx, empty, records, &q, Form::Separate).await?;
    }
    Ok(())
}
