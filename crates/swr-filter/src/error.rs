//! [`FilterError`]: every way a `filter` string or a separate paging/sorting
//! parameter can be rejected, with the SWR error code the live service uses.

use std::fmt;

use crate::{Key, MAX_LIMIT, MAX_OFFSET, OrderColumn, OrderType};

/// Where a value came from: inside the `filter` parameter, or a separate
/// query parameter of the same name.
///
/// Kept on value errors because the parameter a client must fix differs:
/// see [`FilterError::parameter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A `key::value` part of the `filter` parameter.
    Filter,
    /// A separate query parameter (`offset`, `limit`, `order_column`, `order_type`, `tag`).
    Param,
}

impl Source {
    /// `"filter"` or `"param"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Filter => "filter",
            Source::Param => "param",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `filter` string or a separate parameter was rejected.
///
/// All of these are HTTP 400 responses; [`code`](Self::code) gives the SWR
/// error code and [`parameter`](Self::parameter) the query parameter to fix.
/// `Display` names the offending parameter/key and the rejected value; values
/// are shown in Rust string-literal quoting so control characters and quotes
/// stay visible and cannot forge log lines.
///
/// `Display` and `std::error::Error` are implemented by hand rather than with
/// `thiserror`: thiserror treats any field named `source` as the wrapped
/// error, which [`Source`] is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// A `filter` part without `::`, an empty part (`a||b`, a leading or
    /// trailing `|`), or an empty `filter` (then `part` is empty).
    Malformed {
        /// The offending part, verbatim.
        part: String,
    },
    /// A `filter` part whose key is not one of the five known keys
    /// (keys are case-sensitive).
    UnknownKey {
        /// The key, verbatim.
        key: String,
    },
    /// The same key twice inside one `filter` string.
    DuplicateKey {
        /// The repeated key.
        key: Key,
    },
    /// `key::` in `filter`, or `key=` as a separate parameter.
    EmptyValue {
        /// The key whose value is empty.
        key: Key,
        /// Where the empty value came from.
        source: Source,
    },
    /// `offset`/`limit` that is not ASCII digits only (`-1`, `+1`, `1.0`,
    /// ` 1`, `abc`), or that does not fit in an int64.
    InvalidInteger {
        /// [`Key::Offset`] or [`Key::Limit`].
        key: Key,
        /// The rejected value, verbatim.
        value: String,
        /// Where the value came from.
        source: Source,
    },
    /// A well-formed `limit` of 0 or above [`MAX_LIMIT`].
    LimitOutOfRange {
        /// The parsed limit.
        value: u64,
        /// Where the value came from.
        source: Source,
    },
    /// `order_column` other than `updated_at` / `tag`.
    InvalidOrderColumn {
        /// The rejected value, verbatim.
        value: String,
        /// Where the value came from.
        source: Source,
    },
    /// `order_type` other than `desc` / `asc`.
    InvalidOrderType {
        /// The rejected value, verbatim.
        value: String,
        /// Where the value came from.
        source: Source,
    },
    /// A `tag` not matching [`TAG_PATTERN`](crate::TAG_PATTERN).
    InvalidTag {
        /// The rejected value, verbatim.
        value: String,
        /// Where the value came from.
        source: Source,
    },
    /// Half of a pair (offset/limit or order_column/order_type) without the
    /// other, after merging `filter` with the separate parameters.
    MissingPair {
        /// The half that was sent.
        present: Key,
        /// The half that is missing.
        missing: Key,
    },
    /// The same key in `filter` and as a separate parameter, with different
    /// (parsed) values.
    Conflict {
        /// The key sent twice.
        key: Key,
        /// The value inside `filter`, verbatim.
        filter_value: String,
        /// The value of the separate parameter, verbatim.
        param_value: String,
    },
}

/// SWR: invalid filtering criteria.
const CODE_INVALID_FILTER: &str = "SVCSTG.SWR.4001035";
/// SWR: invalid request parameter (empty value, bad offset).
const CODE_INVALID_PARAM: &str = "SVCSTG.SWR.4001025";
/// SWR: invalid page size.
const CODE_INVALID_PAGE_SIZE: &str = "SVCSTG.SWR.4000056";
/// SWR: invalid tag.
const CODE_INVALID_TAG: &str = "SVCSTG.SWR.4009021";
/// SWR: what the live service returns for "limit without offset".
const CODE_MISSING_PAIR: &str = "SVCSTG.SWR.4001072";

impl FilterError {
    /// SWR error code for the 400 response (see the table in the crate docs).
    pub fn code(&self) -> &'static str {
        match self {
            FilterError::Malformed { .. }
            | FilterError::UnknownKey { .. }
            | FilterError::DuplicateKey { .. }
            | FilterError::InvalidOrderColumn { .. }
            | FilterError::InvalidOrderType { .. }
            | FilterError::Conflict { .. } => CODE_INVALID_FILTER,
            FilterError::EmptyValue { .. } => CODE_INVALID_PARAM,
            FilterError::InvalidInteger {
                key: Key::Limit, ..
            }
            | FilterError::LimitOutOfRange { .. } => CODE_INVALID_PAGE_SIZE,
            FilterError::InvalidInteger { .. } => CODE_INVALID_PARAM,
            FilterError::InvalidTag { .. } => CODE_INVALID_TAG,
            FilterError::MissingPair { .. } => CODE_MISSING_PAIR,
        }
    }

    /// The query parameter a client must fix.
    ///
    /// `"filter"` for [`Malformed`](Self::Malformed),
    /// [`UnknownKey`](Self::UnknownKey), [`DuplicateKey`](Self::DuplicateKey)
    /// and any error with [`Source::Filter`]; the key name for
    /// [`Source::Param`] errors; the missing key for
    /// [`MissingPair`](Self::MissingPair); the key for
    /// [`Conflict`](Self::Conflict).
    pub fn parameter(&self) -> &'static str {
        let (key, source) = match *self {
            FilterError::Malformed { .. }
            | FilterError::UnknownKey { .. }
            | FilterError::DuplicateKey { .. } => return "filter",
            FilterError::MissingPair { missing, .. } => return missing.as_str(),
            FilterError::Conflict { key, .. } => return key.as_str(),
            FilterError::EmptyValue { key, source }
            | FilterError::InvalidInteger { key, source, .. } => (key, source),
            FilterError::LimitOutOfRange { source, .. } => (Key::Limit, source),
            FilterError::InvalidOrderColumn { source, .. } => (Key::OrderColumn, source),
            FilterError::InvalidOrderType { source, .. } => (Key::OrderType, source),
            FilterError::InvalidTag { source, .. } => (Key::Tag, source),
        };
        match source {
            Source::Filter => "filter",
            Source::Param => key.as_str(),
        }
    }
}

/// Writes `limit: ` for a separate parameter, `filter: key "limit": ` for a
/// `filter` part, so every value message says where to look.
fn prefix(f: &mut fmt::Formatter<'_>, key: Key, source: Source) -> fmt::Result {
    match source {
        Source::Param => write!(f, "{key}: "),
        Source::Filter => write!(f, "filter: key \"{key}\": "),
    }
}

/// Writes `a, b` from an `ALL` list, so messages cannot drift from the enums.
fn one_of<T: fmt::Display>(f: &mut fmt::Formatter<'_>, all: &[T]) -> fmt::Result {
    for (i, item) in all.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Malformed { part } if part.is_empty() => f.write_str(
                "filter: empty part; expected key::value parts joined by '|', e.g. offset::0|limit::10",
            ),
            FilterError::Malformed { part } => {
                write!(f, "filter: part {part:?} is not of the form key::value")
            }
            FilterError::UnknownKey { key } => {
                write!(f, "filter: unknown key {key:?}; expected one of ")?;
                one_of(f, &Key::ALL)
            }
            FilterError::DuplicateKey { key } => {
                write!(f, "filter: key \"{key}\" appears more than once")
            }
            FilterError::EmptyValue {
                key,
                source: Source::Param,
            } => write!(f, "{key}: value is empty"),
            FilterError::EmptyValue {
                key,
                source: Source::Filter,
            } => write!(f, "filter: key \"{key}\" has an empty value"),
            FilterError::InvalidInteger { key, value, source } => {
                prefix(f, *key, *source)?;
                let (lo, hi) = match key {
                    Key::Limit => (1, u64::from(MAX_LIMIT)),
                    _ => (0, MAX_OFFSET),
                };
                write!(f, "{value:?} is not a base-10 integer between {lo} and {hi}")
            }
            FilterError::LimitOutOfRange { value, source } => {
                prefix(f, Key::Limit, *source)?;
                write!(f, "{value} is outside 1..={MAX_LIMIT}")
            }
            FilterError::InvalidOrderColumn { value, source } => {
                prefix(f, Key::OrderColumn, *source)?;
                write!(f, "{value:?} is not one of ")?;
                one_of(f, &OrderColumn::ALL)
            }
            FilterError::InvalidOrderType { value, source } => {
                prefix(f, Key::OrderType, *source)?;
                write!(f, "{value:?} is not one of ")?;
                one_of(f, &OrderType::ALL)
            }
            FilterError::InvalidTag { value, source } => {
                prefix(f, Key::Tag, *source)?;
                write!(
                    f,
                    "{value:?} is not a valid tag (1-128 of A-Z a-z 0-9 _ . -)"
                )
            }
            FilterError::MissingPair { present, missing } => {
                // Name the pair in canonical order regardless of which half is missing.
                let (first, second) = if present < missing {
                    (present, missing)
                } else {
                    (missing, present)
                };
                write!(
                    f,
                    "{present} was sent without {missing}; {first} and {second} must be sent together"
                )
            }
            FilterError::Conflict {
                key,
                filter_value,
                param_value,
            } => write!(
                f,
                "{key}: {filter_value:?} in filter conflicts with {param_value:?} in the {key} parameter"
            ),
        }
    }
}

impl std::error::Error for FilterError {}
