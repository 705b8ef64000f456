//! [`paginate`]: a [`ListQuery`] applied to an in-memory list, exactly as the
//! spec describes it, with the `Content-Range` of the result.
//!
//! For servers that hold a repository's tags in memory (the reference
//! [`memory`](super::memory) server, tests, small deployments). swrd's SQL
//! and page cache give the same pages (property-tested in swrd's suite).
//!
//! The rules, in the order they apply:
//! 1. `tag`: keep the tags whose name contains it, byte-wise and
//!    case-sensitive (`V1` does not match `v1`).
//! 2. order: `updated_at` compares the update time, `tag` compares names by
//!    byte order (C collation: `B` < `a` < `b`, never a locale's order);
//!    equal keys are broken by record `id` **in the same direction**, so
//!    `asc` is the exact reverse of `desc` and pages never overlap.
//! 3. page: skip `offset`, take `limit`. An offset past the end is an empty
//!    page, not an error. No page: everything.
//!
//! `Content-Range` is `{offset}-{count}/{total}`: `count` is the number of
//! items on this page, `total` the number that matched step 1.

use std::cmp::Ordering;

use swr_filter::{OrderColumn, OrderType};

use super::ListQuery;
use crate::ContentRange;
use crate::types::ShowReposTagResp;

/// What [`paginate`] needs of a listed item.
pub trait Listed {
    /// The record id: the tie-breaker of every order.
    fn id(&self) -> i64;
    /// The tag name, for the substring filter and the `tag` order.
    fn tag_name(&self) -> &str;
    /// The update time as a sortable key (e.g. Unix seconds).
    fn updated_key(&self) -> i64;
}

/// The API's own model: `updated` is the API's `YYYY-MM-DDTHH:MM:SSZ`
/// (an unparsable time sorts first).
impl Listed for ShowReposTagResp {
    fn id(&self) -> i64 {
        self.id
    }

    fn tag_name(&self) -> &str {
        &self.tag
    }

    fn updated_key(&self) -> i64 {
        crate::time::parse_rfc3339(&self.updated).unwrap_or(i64::MIN)
    }
}

/// One page of a list: the items in order and the response's
/// `Content-Range`.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<'a, T> {
    /// The items of this page, in the requested order.
    pub items: Vec<&'a T>,
    /// `{offset}-{items.len()}/{total matching}`.
    pub content_range: ContentRange,
}

/// The `200` answer of `list_repository_tags` for a page of the API's model:
/// `Ok(paginate(&tags, &request.query).into())`.
impl From<Paged<'_, ShowReposTagResp>> for super::ListRepositoryTagsResponse {
    fn from(page: Paged<'_, ShowReposTagResp>) -> Self {
        let items: Vec<ShowReposTagResp> = page.items.into_iter().cloned().collect();
        super::ListRepositoryTagsResponse::Ok {
            body: items.into(),
            content_range: page.content_range,
        }
    }
}

/// Applies `query` to `items` (in any order): filter, sort, page. See the
/// module doc for the rules.
pub fn paginate<'a, T: Listed>(items: &'a [T], query: &ListQuery) -> Paged<'a, T> {
    let mut matching: Vec<(i64, &'a T)> = items
        .iter()
        .filter(|t| {
            query
                .tag
                .as_deref()
                .is_none_or(|needle| t.tag_name().contains(needle))
        })
        .map(|t| (t.updated_key(), t))
        .collect();
    let ascending = |a: &(i64, &T), b: &(i64, &T)| -> Ordering {
        let by_key = match query.order.column {
            OrderColumn::UpdatedAt => a.0.cmp(&b.0),
            OrderColumn::Tag => a.1.tag_name().as_bytes().cmp(b.1.tag_name().as_bytes()),
        };
        by_key.then_with(|| a.1.id().cmp(&b.1.id()))
    };
    match query.order.direction {
        OrderType::Asc => matching.sort_unstable_by(ascending),
        OrderType::Desc => matching.sort_unstable_by(|a, b| ascending(b, a)),
    }
    let total = matching.len() as u64;
    let (offset, limit) = match query.page {
        Some(page) => (page.offset(), u64::from(page.limit())),
        None => (0, total),
    };
    let items: Vec<&'a T> = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(_, t)| t)
        .collect();
    Paged {
        content_range: ContentRange {
            offset,
            count: items.len() as u64,
            total,
        },
        items,
    }
}

#[cfg(test)]
mod tests {
    use swr_filter::{Order, Page};

    use super::*;

    #[derive(Debug, PartialEq)]
    struct T(i64, &'static str, i64);

    impl Listed for T {
        fn id(&self) -> i64 {
            self.0
        }
        fn tag_name(&self) -> &str {
            self.1
        }
        fn updated_key(&self) -> i64 {
            self.2
        }
    }

    const ITEMS: [T; 5] = [
        T(1, "b", 10),
        T(2, "a", 20),
        T(3, "B", 20),
        T(4, "_x", 5),
        T(5, "ab", 20),
    ];

    fn ids(query: &ListQuery) -> (Vec<i64>, String) {
        let p = paginate(&ITEMS, query);
        (
            p.items.iter().map(|t| t.0).collect(),
            p.content_range.to_string(),
        )
    }

    fn q(column: OrderColumn, direction: OrderType) -> ListQuery {
        ListQuery {
            order: Order::new(column, direction),
            ..ListQuery::default()
        }
    }

    #[test]
    fn default_order_is_updated_desc_with_ids_desc_on_ties() {
        assert_eq!(
            ids(&ListQuery::default()),
            (vec![5, 3, 2, 1, 4], "0-5/5".into())
        );
        assert_eq!(
            ids(&q(OrderColumn::UpdatedAt, OrderType::Asc)).0,
            vec![4, 1, 2, 3, 5]
        );
    }

    #[test]
    fn tag_order_is_byte_order() {
        assert_eq!(
            ids(&q(OrderColumn::Tag, OrderType::Asc)).0,
            vec![3, 4, 2, 5, 1] // "B" < "_x" < "a" < "ab" < "b"
        );
    }

    #[test]
    fn substring_is_case_sensitive() {
        let query = ListQuery {
            tag: Some("b".into()),
            ..ListQuery::default()
        };
        assert_eq!(ids(&query), (vec![5, 1], "0-2/2".into()));
    }

    #[test]
    fn pages_and_offset_past_the_end() {
        let page = |offset, limit| ListQuery {
            page: Some(Page::new(offset, limit).unwrap()),
            ..ListQuery::default()
        };
        assert_eq!(ids(&page(1, 2)), (vec![3, 2], "1-2/5".into()));
        assert_eq!(ids(&page(4, 10)), (vec![4], "4-1/5".into()));
        assert_eq!(ids(&page(9, 10)), (vec![], "9-0/5".into()));
    }
}
