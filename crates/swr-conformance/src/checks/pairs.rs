//! Pairs: `offset` needs `limit` and `order_column` needs `order_type`, and
//! the reverse; half a pair is a 400 naming the missing half, in either form.

use crate::call::Verdict;
use crate::context::{Code, Ctx, expect_error};

checks!("pairs":
    offset_without_limit => "offset without limit is a 400 whose message names limit (separate \
        parameter or inside filter)",
    limit_without_offset => "limit without offset is a 400 whose message names offset",
    order_column_without_type => "order_column without order_type is a 400 whose message names \
        order_type",
    order_type_without_column => "order_type without order_column is a 400 whose message names \
        order_column",
);

/// Sends `key=value` alone, then `filter=key::value`: both must be a 400
/// naming `missing`.
async fn half(ctx: &Ctx, key: &str, value: &str, missing: &str) -> Verdict {
    let main = ctx.main()?;
    let in_filter = format!("{key}::{value}");
    for query in [[(key, value)], [("filter", in_filter.as_str())]] {
        let ex = ctx.send(ctx.get(main, &query)).await;
        expect_error(&ex, 400, Code::Documented, &[missing])?;
    }
    Ok(())
}

async fn offset_without_limit(ctx: &Ctx) -> Verdict {
    half(ctx, "offset", "0", "limit").await
}

async fn limit_without_offset(ctx: &Ctx) -> Verdict {
    half(ctx, "limit", "10", "offset").await
}

async fn order_column_without_type(ctx: &Ctx) -> Verdict {
    half(ctx, "order_column", "tag", "order_type").await
}

async fn order_type_without_column(ctx: &Ctx) -> Verdict {
    half(ctx, "order_type", "asc", "order_column").await
}
