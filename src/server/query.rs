//! [`ListQuery`]: what a `list_repository_tags` request asks for, once both
//! query forms are merged and the defaults applied.

use swr_filter::{Order, Page, TagFilter};

/// The effective query of one `list_repository_tags` request.
///
/// The router builds it from the separate parameters (`offset`, `limit`,
/// `order_column`, `order_type`, `tag`) and `filter`, merged by
/// [`RawQuery::merge`](swr_filter::RawQuery::merge): the same key in both forms
/// with two values, half a pair, or a bad value never reaches the
/// implementation (it is a 400 naming the parameter). What is left is this
/// value, with nothing optional that has a default:
///
/// | field | absent from the request | meaning |
/// |---|---|---|
/// | `page` | `None` | `None`: **every** tag, with `Content-Range: 0-N/N` |
/// | `order` | `updated_at desc` | ties broken by record `id`, same direction |
/// | `tag` | `None` | case-sensitive substring of the tag name |
///
/// [`paginate`](crate::server::paging::paginate) applies it to an in-memory
/// list exactly as the spec describes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ListQuery {
    /// `offset` + `limit`; `None` when neither was sent: the whole list.
    pub page: Option<Page>,
    /// `order_column` + `order_type`; [`Order::default`] (`updated_at desc`)
    /// when neither was sent.
    pub order: Order,
    /// Only tags whose name contains this (case-sensitive, byte-wise);
    /// `None` when not sent. Already checked against
    /// [`TAG_PATTERN`](swr_filter::TAG_PATTERN).
    pub tag: Option<String>,
}

impl From<TagFilter> for ListQuery {
    fn from(filter: TagFilter) -> Self {
        ListQuery {
            page: filter.page,
            order: filter.order.unwrap_or_default(),
            tag: filter.tag,
        }
    }
}

impl ListQuery {
    /// The same query as a `filter` value (canonical form, default order
    /// spelled out), e.g. for logs or to forward it.
    pub fn to_filter(&self) -> TagFilter {
        TagFilter {
            page: self.page,
            order: Some(self.order),
            tag: self.tag.clone(),
        }
    }
}

impl super::ListRepositoryTagsPath {
    /// The repository as stored and shown: the wire's `$` back to `/`
    /// (`tools$busybox` is the repository `tools/busybox`).
    pub fn repository_name(&self) -> String {
        self.repository.replace('$', "/")
    }
}

#[cfg(test)]
mod tests {
    use swr_filter::{OrderColumn, OrderType};

    use super::*;

    #[test]
    fn defaults_are_spelled_out() {
        let q = ListQuery::from(TagFilter::default());
        assert_eq!(q.page, None);
        assert_eq!(q.order, Order::new(OrderColumn::UpdatedAt, OrderType::Desc));
        assert_eq!(q.tag, None);
        assert_eq!(
            q.to_filter().to_string(),
            "order_column::updated_at|order_type::desc"
        );
    }
}
