//! [`RawQuery`]: merging `filter` with the equivalent separate parameters.

use crate::filter::{Parts, Slot, parse_limit, parse_offset, parse_tag};
use crate::{FilterError, Key, OrderColumn, OrderType, Source, TagFilter};

/// The separate query params exactly as received (raw strings, already
/// percent-decoded), plus the optional raw `filter`.
///
/// The server takes these raw rather than typed so that every rejection,
/// including a non-numeric `limit`, becomes a [`FilterError`] with the right
/// SWR code instead of a framework-level extraction error.
#[derive(Default, Debug, Clone, Copy)]
pub struct RawQuery<'a> {
    /// `offset` parameter.
    pub offset: Option<&'a str>,
    /// `limit` parameter.
    pub limit: Option<&'a str>,
    /// `order_column` parameter.
    pub order_column: Option<&'a str>,
    /// `order_type` parameter.
    pub order_type: Option<&'a str>,
    /// `tag` parameter.
    pub tag: Option<&'a str>,
    /// `filter` parameter.
    pub filter: Option<&'a str>,
}

impl RawQuery<'_> {
    /// Combines `filter` and the separate parameters into one [`TagFilter`].
    ///
    /// Checks, first error wins: `filter` is parsed strictly (without the
    /// pair rules); each separate parameter is validated ([`Source::Param`]);
    /// a key given both ways must have equal parsed values (`010` equals
    /// `10`), else [`FilterError::Conflict`]; finally the pair rules apply to
    /// the merged set, so `offset` in `filter` plus a `limit` parameter is a
    /// complete page.
    pub fn merge(&self) -> Result<TagFilter, FilterError> {
        const SRC: Source = Source::Param;
        let from_filter = match self.filter {
            Some(filter) => Parts::parse_filter(filter)?,
            None => Parts::default(),
        };
        let from_params = Parts {
            offset: param(self.offset, |r| parse_offset(r, SRC))?,
            limit: param(self.limit, |r| parse_limit(r, SRC))?,
            order_column: param(self.order_column, |r| OrderColumn::parse_from(r, SRC))?,
            order_type: param(self.order_type, |r| OrderType::parse_from(r, SRC))?,
            tag: param(self.tag, |r| parse_tag(r, SRC))?,
        };
        Parts {
            offset: combine(Key::Offset, from_filter.offset, from_params.offset)?,
            limit: combine(Key::Limit, from_filter.limit, from_params.limit)?,
            order_column: combine(
                Key::OrderColumn,
                from_filter.order_column,
                from_params.order_column,
            )?,
            order_type: combine(
                Key::OrderType,
                from_filter.order_type,
                from_params.order_type,
            )?,
            tag: combine(Key::Tag, from_filter.tag, from_params.tag)?,
        }
        .finish()
    }
}

fn param<'a, T>(
    raw: Option<&'a str>,
    parse: impl FnOnce(&'a str) -> Result<T, FilterError>,
) -> Result<Option<Slot<'a, T>>, FilterError> {
    raw.map(|raw| {
        Ok(Slot {
            value: parse(raw)?,
            raw,
        })
    })
    .transpose()
}

/// One key from both sources: either alone wins; both must agree by value.
fn combine<'a, T: PartialEq>(
    key: Key,
    from_filter: Option<Slot<'a, T>>,
    from_param: Option<Slot<'a, T>>,
) -> Result<Option<Slot<'a, T>>, FilterError> {
    match (from_filter, from_param) {
        (Some(f), Some(p)) if f.value != p.value => Err(FilterError::Conflict {
            key,
            filter_value: f.raw.to_owned(),
            param_value: p.raw.to_owned(),
        }),
        (f, p) => Ok(f.or(p)),
    }
}
