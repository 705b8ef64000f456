//! The closed vocabularies of the grammar: keys, sort columns, sort directions.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::{FilterError, Source};

/// A key of the `filter` grammar, which is also the name of the equivalent
/// separate query parameter.
///
/// `Ord` follows the canonical order used by `TagFilter`'s `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// `offset`: rows to skip.
    Offset,
    /// `limit`: page size, 1..=[`MAX_LIMIT`](crate::MAX_LIMIT).
    Limit,
    /// `order_column`: sort column.
    OrderColumn,
    /// `order_type`: sort direction.
    OrderType,
    /// `tag`: tag-name substring.
    Tag,
}

impl Key {
    /// Every key, in canonical order.
    pub const ALL: [Self; 5] = [
        Key::Offset,
        Key::Limit,
        Key::OrderColumn,
        Key::OrderType,
        Key::Tag,
    ];

    /// The wire name, e.g. `"order_column"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Key::Offset => "offset",
            Key::Limit => "limit",
            Key::OrderColumn => "order_column",
            Key::OrderType => "order_type",
            Key::Tag => "tag",
        }
    }

    /// The key with this exact (case-sensitive) wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "offset" => Key::Offset,
            "limit" => Key::Limit,
            "order_column" => Key::OrderColumn,
            "order_type" => Key::OrderType,
            "tag" => Key::Tag,
            _ => return None,
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implements the shared surface of the two string enums (`as_str`, `ALL`,
/// `Display`, `FromStr`, a plain `{"type":"string","enum":[..]}` schema) from
/// one variant/wire-name table, so the lists cannot drift apart.
macro_rules! wire_enum {
    ($ty:ident, $key:expr, $err:ident, [$($variant:ident => $wire:literal),+ $(,)?]) => {
        impl $ty {
            /// Every value, in the order of the schema's `enum`.
            pub const ALL: [Self; 2] = [$($ty::$variant),+];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $wire),+
                }
            }

            /// Strict (case-sensitive, untrimmed) parse, attributing errors to `source`.
            pub(crate) fn parse_from(s: &str, source: Source) -> Result<Self, FilterError> {
                match s {
                    $($wire => Ok($ty::$variant),)+
                    "" => Err(FilterError::EmptyValue { key: $key, source }),
                    _ => Err(FilterError::$err { value: s.to_owned(), source }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Parses the wire name strictly; errors are attributed to [`Source::Param`].
        impl FromStr for $ty {
            type Err = FilterError;

            fn from_str(s: &str) -> Result<Self, FilterError> {
                Self::parse_from(s, Source::Param)
            }
        }

        /// Hand-written so the schema is exactly `{"type":"string","enum":[..]}`
        /// (a derive would turn doc comments into `oneOf`/`description`).
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }

            fn schema_id() -> Cow<'static, str> {
                concat!(module_path!(), "::", stringify!($ty)).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "enum": [$($wire),+],
                })
            }
        }
    };
}

/// Sort column. Wire names: `updated_at`, `tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum OrderColumn {
    /// `updated_at`: last push time (the server's default).
    #[default]
    #[serde(rename = "updated_at")]
    UpdatedAt,
    /// `tag`: tag name.
    #[serde(rename = "tag")]
    Tag,
}

wire_enum!(OrderColumn, Key::OrderColumn, InvalidOrderColumn, [
    UpdatedAt => "updated_at",
    Tag => "tag",
]);

/// Sort direction. Wire names: `desc`, `asc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum OrderType {
    /// `desc`: descending (the server's default).
    #[default]
    #[serde(rename = "desc")]
    Desc,
    /// `asc`: ascending.
    #[serde(rename = "asc")]
    Asc,
}

wire_enum!(OrderType, Key::OrderType, InvalidOrderType, [
    Desc => "desc",
    Asc => "asc",
]);
