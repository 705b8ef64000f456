//! The `filter` query grammar of Huawei Cloud SWR's ListRepositoryTags API
//! (`GET /v2/manage/namespaces/{ns}/repos/{repo}/tags`) as a type.
//!
//! Paging, sorting and tag filtering can be sent as separate query params
//! (`offset`, `limit`, `order_column`, `order_type`, `tag`) or as one
//! `filter` param: `key::value` parts joined by `|`, keys in any order, e.g.
//! `offset::0|limit::10|order_column::updated_at|order_type::desc|tag::v1`.
//!
//! - [`TagFilter`] is that string parsed: the generated client uses it as the
//!   `filter` query type (serialized as the canonical string), the server
//!   parses it strictly.
//! - [`RawQuery::merge`] is the server side: it combines `filter` with the
//!   separate params, rejects conflicts and half pairs.
//! - [`FilterError`] says what is wrong, which param to fix
//!   ([`FilterError::parameter`]) and which SWR error code to answer with
//!   ([`FilterError::code`]).
//!
//! # Rules
//!
//! - Parsing is strict: no trimming, case-sensitive keys and values, each key
//!   at most once per `filter`, no empty parts, no empty `filter`.
//! - Each part is split on its first `::`; a value containing `::` is just
//!   an invalid value for its key.
//! - `offset` and `limit` are ASCII digits (leading zeros allowed) and must
//!   fit in an int64; `limit` must be in `1..=1000`.
//! - `offset`/`limit` and `order_column`/`order_type` are pairs: one half
//!   without the other is rejected, after merging both sources.
//! - Parsing never panics, whatever the input.
//!
//! # Error codes
//!
//! Every error is an HTTP 400 with one of these SWR codes:
//!
//! | [`FilterError`] variant | code | meaning |
//! |---|---|---|
//! | `Malformed`, `UnknownKey`, `DuplicateKey`, `InvalidOrderColumn`, `InvalidOrderType`, `Conflict` | `SVCSTG.SWR.4001035` | invalid filtering criteria |
//! | `EmptyValue` | `SVCSTG.SWR.4001025` | invalid parameter |
//! | `InvalidInteger` for `offset` | `SVCSTG.SWR.4001025` | invalid parameter |
//! | `InvalidInteger` for `limit`, `LimitOutOfRange` | `SVCSTG.SWR.4000056` | invalid page size |
//! | `InvalidTag` | `SVCSTG.SWR.4009021` | invalid tag |
//! | `MissingPair` | `SVCSTG.SWR.4001072` | what the live service returns for `limit` without `offset` |
//!
//! # Example
//!
//! ```
//! use swr_filter::{OrderColumn, OrderType, RawQuery, TagFilter};
//!
//! // Keys in any order; Display is canonical.
//! let f: TagFilter = "tag::v1|order_type::asc|order_column::tag".parse()?;
//! assert_eq!(f.order.map(|o| o.column), Some(OrderColumn::Tag));
//! assert_eq!(f.order.map(|o| o.direction), Some(OrderType::Asc));
//! assert_eq!(f.to_string(), "order_column::tag|order_type::asc|tag::v1");
//!
//! // Server side: a pair may be split across `filter` and a separate param.
//! let q = RawQuery { filter: Some("offset::20"), limit: Some("10"), ..RawQuery::default() };
//! let page = q.merge()?.page.unwrap();
//! assert_eq!((page.offset(), page.limit()), (20, 10));
//!
//! // ...but not left half-done.
//! let err = RawQuery { limit: Some("10"), ..RawQuery::default() }.merge().unwrap_err();
//! assert_eq!(err.code(), "SVCSTG.SWR.4001072");
//! assert_eq!(err.parameter(), "offset");
//! assert_eq!(err.to_string(), "limit was sent without offset; offset and limit must be sent together");
//! # Ok::<(), swr_filter::FilterError>(())
//! ```

#![deny(missing_docs)]
mod enums;
mod error;
mod filter;
mod query;

#[cfg(test)]
mod tests;

pub use enums::{Key, OrderColumn, OrderType};
pub use error::{FilterError, Source};
pub use filter::{Order, Page, TagFilter, is_valid_tag};
pub use query::RawQuery;

/// Largest accepted `limit` (page size).
pub const MAX_LIMIT: u32 = 1000;

/// Largest accepted `offset`: numbers must fit in an int64, the server's
/// column type.
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// Regex (valid in both ECMA-262 and Rust `regex`) for the string form; the
/// OpenAPI spec uses the SAME string.
///
/// It checks shape only: duplicate keys, pair completeness, int64 range and
/// the `limit` range are left to [`TagFilter`]'s parser, so every string the
/// parser accepts matches, not vice versa.
pub const PATTERN: &str = r"^(?:offset::[0-9]+|limit::[0-9]+|order_column::(?:updated_at|tag)|order_type::(?:desc|asc)|tag::[A-Za-z0-9_.-]{1,128})(?:\|(?:offset::[0-9]+|limit::[0-9]+|order_column::(?:updated_at|tag)|order_type::(?:desc|asc)|tag::[A-Za-z0-9_.-]{1,128}))*$";

/// Pattern for a tag substring (the `tag` param / `tag::` value): docker tag
/// characters. Checked without a regex by [`is_valid_tag`].
pub const TAG_PATTERN: &str = r"^[A-Za-z0-9_.-]{1,128}$";
