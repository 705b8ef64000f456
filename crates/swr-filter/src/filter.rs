//! [`TagFilter`]: the parsed `filter` string, its strict parser and canonical
//! formatter, and the value validators shared with [`RawQuery`](crate::RawQuery).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{FilterError, Key, MAX_LIMIT, MAX_OFFSET, OrderColumn, OrderType, PATTERN, Source};

/// Maximum tag length accepted by [`TAG_PATTERN`](crate::TAG_PATTERN).
const MAX_TAG_LEN: usize = 128;

/// The four examples published in the schema, seed first.
const EXAMPLES: [&str; 4] = [
    "offset::0|limit::10|order_column::updated_at|order_type::desc|tag::v1",
    "offset::0|limit::100",
    "order_column::tag|order_type::asc",
    "tag::v1",
];

/// One page: `offset` and `limit` always travel together because SWR rejects
/// either without the other.
///
/// Invariant (enforced by [`Page::new`], hence private fields):
/// `offset <= MAX_OFFSET` and `1 <= limit <= MAX_LIMIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Page {
    offset: u64,
    limit: u32,
}

impl Page {
    /// Checks the invariant. Errors carry [`Source::Param`], as the values
    /// did not come from a `filter` string.
    pub fn new(offset: u64, limit: u32) -> Result<Page, FilterError> {
        if offset > MAX_OFFSET {
            return Err(FilterError::InvalidInteger {
                key: Key::Offset,
                value: offset.to_string(),
                source: Source::Param,
            });
        }
        check_limit(u64::from(limit), Source::Param)?;
        Ok(Page { offset, limit })
    }

    /// Rows to skip, at most [`MAX_OFFSET`].
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Page size, within `1..=MAX_LIMIT`.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}

/// Sort order: column and direction always travel together because SWR
/// rejects either without the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Order {
    /// Sort column.
    pub column: OrderColumn,
    /// Sort direction.
    pub direction: OrderType,
}

impl Order {
    /// An order from its two halves.
    pub const fn new(column: OrderColumn, direction: OrderType) -> Self {
        Order { column, direction }
    }
}

/// The `filter` query parameter of ListRepositoryTags, e.g.
/// `offset::0|limit::10|order_column::updated_at|order_type::desc|tag::v1`.
///
/// `Display` writes the canonical form (present parts only, in the order
/// offset, limit, order_column, order_type, tag); `FromStr` parses strictly
/// (keys in any order, each at most once, pairs complete). Serde uses the
/// string form, so the generated client sends exactly what the server parses.
///
/// `tag` is a public field for convenience; [`set_tag`](Self::set_tag)
/// validates it. A filter holding an invalid tag, or an empty filter, formats
/// to a string that does not parse back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct TagFilter {
    /// `offset` + `limit`.
    pub page: Option<Page>,
    /// `order_column` + `order_type`.
    pub order: Option<Order>,
    /// `tag`: tag-name substring, matching [`TAG_PATTERN`](crate::TAG_PATTERN).
    pub tag: Option<String>,
}

impl TagFilter {
    /// True when no part is set; such a filter should be omitted from the
    /// request, since an empty `filter` is rejected as malformed.
    pub fn is_empty(&self) -> bool {
        self.page.is_none() && self.order.is_none() && self.tag.is_none()
    }

    /// Sets `tag` after checking it against [`TAG_PATTERN`](crate::TAG_PATTERN);
    /// on error the filter is unchanged.
    pub fn set_tag(&mut self, tag: impl Into<String>) -> Result<(), FilterError> {
        let tag = tag.into();
        parse_tag(&tag, Source::Param)?;
        self.tag = Some(tag);
        Ok(())
    }

    /// Builder form of [`set_tag`](Self::set_tag).
    pub fn with_tag(mut self, tag: impl Into<String>) -> Result<Self, FilterError> {
        self.set_tag(tag)?;
        Ok(self)
    }
}

/// Whether `tag` matches [`TAG_PATTERN`](crate::TAG_PATTERN)
/// (`^[A-Za-z0-9_.-]{1,128}$`), without compiling a regex.
pub fn is_valid_tag(tag: &str) -> bool {
    (1..=MAX_TAG_LEN).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut part = |f: &mut fmt::Formatter<'_>, key: Key, value: &dyn fmt::Display| {
            let r = write!(f, "{sep}{key}::{value}");
            sep = "|";
            r
        };
        if let Some(page) = &self.page {
            part(f, Key::Offset, &page.offset)?;
            part(f, Key::Limit, &page.limit)?;
        }
        if let Some(order) = &self.order {
            part(f, Key::OrderColumn, &order.column)?;
            part(f, Key::OrderType, &order.direction)?;
        }
        if let Some(tag) = &self.tag {
            part(f, Key::Tag, tag)?;
        }
        Ok(())
    }
}

impl FromStr for TagFilter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, FilterError> {
        Parts::parse_filter(s)?.finish()
    }
}

impl Serialize for TagFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TagFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = TagFilter;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a filter string such as \"offset::0|limit::10\"")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TagFilter, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

/// Hand-written: the schema is a pattern-constrained string, and `pattern`
/// must be the exact [`PATTERN`] string the OpenAPI spec uses.
impl JsonSchema for TagFilter {
    fn schema_name() -> Cow<'static, str> {
        "TagFilter".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::TagFilter").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": PATTERN,
            "examples": EXAMPLES,
        })
    }
}

// ---------------------------------------------------------------------------
// Value validators, shared by the `filter` parser and `RawQuery::merge`.

/// `offset`/`limit` digits: ASCII digits only (leading zeros fine), at most
/// [`MAX_OFFSET`]. Checked by hand because `u64::from_str` accepts `+1`.
fn parse_int(key: Key, raw: &str, source: Source) -> Result<u64, FilterError> {
    if raw.is_empty() {
        return Err(FilterError::EmptyValue { key, source });
    }
    let invalid = || FilterError::InvalidInteger {
        key,
        value: raw.to_owned(),
        source,
    };
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match raw.parse::<u64>() {
        Ok(n) if n <= MAX_OFFSET => Ok(n),
        _ => Err(invalid()),
    }
}

pub(crate) fn parse_offset(raw: &str, source: Source) -> Result<u64, FilterError> {
    parse_int(Key::Offset, raw, source)
}

pub(crate) fn parse_limit(raw: &str, source: Source) -> Result<u32, FilterError> {
    check_limit(parse_int(Key::Limit, raw, source)?, source)
}

fn check_limit(n: u64, source: Source) -> Result<u32, FilterError> {
    match u32::try_from(n) {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(FilterError::LimitOutOfRange { value: n, source }),
    }
}

pub(crate) fn parse_tag(raw: &str, source: Source) -> Result<&str, FilterError> {
    if raw.is_empty() {
        Err(FilterError::EmptyValue {
            key: Key::Tag,
            source,
        })
    } else if is_valid_tag(raw) {
        Ok(raw)
    } else {
        Err(FilterError::InvalidTag {
            value: raw.to_owned(),
            source,
        })
    }
}

// ---------------------------------------------------------------------------
// Partially assembled filters.

/// A validated value with the raw text it came from, kept so a
/// [`FilterError::Conflict`] can quote what the client actually sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot<'a, T> {
    pub(crate) value: T,
    pub(crate) raw: &'a str,
}

/// Every key individually validated, before the pair rules. `filter` alone
/// may legitimately hold half a pair when the other half is a separate
/// parameter, so pairing is checked only in [`Parts::finish`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Parts<'a> {
    pub(crate) offset: Option<Slot<'a, u64>>,
    pub(crate) limit: Option<Slot<'a, u32>>,
    pub(crate) order_column: Option<Slot<'a, OrderColumn>>,
    pub(crate) order_type: Option<Slot<'a, OrderType>>,
    pub(crate) tag: Option<Slot<'a, &'a str>>,
}

/// Stores `slot`, failing if the key was already set in this `filter`.
fn set_once<'a, T>(
    dst: &mut Option<Slot<'a, T>>,
    key: Key,
    raw: &'a str,
    value: impl FnOnce(&'a str) -> Result<T, FilterError>,
) -> Result<(), FilterError> {
    if dst.is_some() {
        return Err(FilterError::DuplicateKey { key });
    }
    *dst = Some(Slot {
        value: value(raw)?,
        raw,
    });
    Ok(())
}

impl<'a> Parts<'a> {
    /// Parses a `filter` string part by part, reporting the first error in
    /// string order. Each part is split on its first `::` only, so `a::b` in
    /// a value is simply an invalid value for that key.
    pub(crate) fn parse_filter(s: &'a str) -> Result<Self, FilterError> {
        const SRC: Source = Source::Filter;
        let mut parts = Parts::default();
        for part in s.split('|') {
            let Some((name, raw)) = part.split_once("::") else {
                return Err(FilterError::Malformed {
                    part: part.to_owned(),
                });
            };
            let Some(key) = Key::from_name(name) else {
                return Err(FilterError::UnknownKey {
                    key: name.to_owned(),
                });
            };
            match key {
                Key::Offset => set_once(&mut parts.offset, key, raw, |r| parse_offset(r, SRC)),
                Key::Limit => set_once(&mut parts.limit, key, raw, |r| parse_limit(r, SRC)),
                Key::OrderColumn => set_once(&mut parts.order_column, key, raw, |r| {
                    OrderColumn::parse_from(r, SRC)
                }),
                Key::OrderType => set_once(&mut parts.order_type, key, raw, |r| {
                    OrderType::parse_from(r, SRC)
                }),
                Key::Tag => set_once(&mut parts.tag, key, raw, |r| parse_tag(r, SRC)),
            }?;
        }
        Ok(parts)
    }

    /// Applies the pair rules (offset/limit, then order_column/order_type).
    pub(crate) fn finish(self) -> Result<TagFilter, FilterError> {
        let page = pair(self.offset, self.limit, Key::Offset, Key::Limit)?
            .map(|(offset, limit)| Page { offset, limit });
        let order = pair(
            self.order_column,
            self.order_type,
            Key::OrderColumn,
            Key::OrderType,
        )?
        .map(|(column, direction)| Order { column, direction });
        Ok(TagFilter {
            page,
            order,
            tag: self.tag.map(|t| t.value.to_owned()),
        })
    }
}

fn pair<A, B>(
    a: Option<Slot<'_, A>>,
    b: Option<Slot<'_, B>>,
    key_a: Key,
    key_b: Key,
) -> Result<Option<(A, B)>, FilterError> {
    match (a, b) {
        (Some(a), Some(b)) => Ok(Some((a.value, b.value))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(FilterError::MissingPair {
            present: key_a,
            missing: key_b,
        }),
        (None, Some(_)) => Err(FilterError::MissingPair {
            present: key_b,
            missing: key_a,
        }),
    }
}
