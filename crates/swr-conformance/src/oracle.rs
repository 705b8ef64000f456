//! The kit's own, deliberately simple model of a listing: filter by
//! case-sensitive substring, sort by one column with the record id as
//! tie-breaker in the same direction, then offset/limit. It is applied to the
//! records the server itself listed (so ids are the server's), and every
//! other answer is compared with it. Independent of `swr_api`'s paging code
//! on purpose: a kit that reused it would agree with its bugs.

use std::collections::HashMap;

use serde_json::Value;

use crate::call::{Exchange, Problem};

/// Sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Updated,
    Tag,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Asc,
    Desc,
}

impl Column {
    pub fn wire(self) -> &'static str {
        match self {
            Column::Updated => "updated_at",
            Column::Tag => "tag",
        }
    }
}

impl Dir {
    pub fn wire(self) -> &'static str {
        match self {
            Dir::Asc => "asc",
            Dir::Desc => "desc",
        }
    }
}

/// What a request asks for, once decoded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pub tag: Option<String>,
    /// `None`: the default, `updated_at desc`.
    pub order: Option<(Column, Dir)>,
    /// `(offset, limit)`; `None`: everything.
    pub page: Option<(u64, u64)>,
}

/// One tag as the server listed it.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub id: i64,
    pub tag: String,
    /// Unix seconds.
    pub updated: i64,
    /// The whole object, to compare later answers with.
    pub json: Value,
}

/// The records of one repository.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    list: Vec<Record>,
    /// id -> position in `list`.
    index: HashMap<i64, usize>,
}

/// The expected answer: ids in order and the `Content-Range` numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    pub ids: Vec<i64>,
    pub offset: u64,
    pub total: u64,
}

impl Records {
    /// The records (ids unique).
    pub fn new(list: Vec<Record>) -> Records {
        let index = list.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        Records { list, index }
    }

    fn by_id(&self, id: i64) -> Option<&Record> {
        self.index.get(&id).map(|&i| &self.list[i])
    }

    /// The oracle.
    pub fn expect(&self, q: &Query) -> Expected {
        let mut matching: Vec<&Record> = self
            .list
            .iter()
            .filter(|r| q.tag.as_deref().is_none_or(|t| r.tag.contains(t)))
            .collect();
        let (column, dir) = q.order.unwrap_or((Column::Updated, Dir::Desc));
        matching.sort_by(|a, b| {
            let key = match column {
                Column::Updated => a.updated.cmp(&b.updated),
                Column::Tag => a.tag.as_bytes().cmp(b.tag.as_bytes()),
            };
            let asc = key.then(a.id.cmp(&b.id));
            match dir {
                Dir::Asc => asc,
                Dir::Desc => asc.reverse(),
            }
        });
        let total = matching.len() as u64;
        let (offset, limit) = q.page.unwrap_or((0, total));
        let ids = matching
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|r| r.id)
            .collect();
        Expected { ids, offset, total }
    }

    /// When records `a` and `b` tie on the sort column: which way ties go.
    fn tie_note(&self, a: i64, b: i64, column: Column, dir: Dir) -> String {
        let (Some(x), Some(y)) = (self.by_id(a), self.by_id(b)) else {
            return String::new();
        };
        let tied = match column {
            Column::Updated => x.updated == y.updated,
            Column::Tag => x.tag == y.tag,
        };
        if tied {
            format!(
                " (both have the same {}: ties go by id {})",
                column.wire(),
                dir.wire()
            )
        } else {
            String::new()
        }
    }

    fn name(&self, id: i64) -> String {
        self.by_id(id)
            .map_or_else(|| "?".to_owned(), |r| format!("{:?}", r.tag))
    }

    /// Checks that `ex` is the oracle's answer to `q`: status 200,
    /// `Content-Range: {offset}-{count}/{total}`, the same records in the same
    /// order, each exactly as in the unpaged listing. Returns the ids.
    pub fn check(&self, ex: &Exchange, q: &Query) -> Result<Vec<i64>, Problem> {
        let want = self.expect(q);
        ex.expect_status(200)?;
        let body = ex.json()?;
        let Some(items) = body.as_array() else {
            return Err(ex.fail("the body is not a JSON array"));
        };
        let mut ids = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Some(id) = item["id"].as_i64() else {
                return Err(ex.fail(format!("item {i} has no integer id")));
            };
            ids.push(id);
        }
        let range = content_range(ex)?;
        let want_range = (want.offset, want.ids.len() as u64, want.total);
        if range != want_range {
            return Err(ex.fail(format!(
                "Content-Range is {}-{}/{}, expected {}-{}/{} ({{offset}}-{{count}}/{{total}}, count = items in this body)",
                range.0, range.1, range.2, want_range.0, want_range.1, want_range.2
            )));
        }
        if let Some(i) = (0..ids.len().max(want.ids.len())).find(|&i| ids.get(i) != want.ids.get(i))
        {
            let show = |v: Option<&i64>| {
                v.map_or("nothing".to_owned(), |id| {
                    format!("id {id} (tag {})", self.name(*id))
                })
            };
            let (column, dir) = q.order.unwrap_or((Column::Updated, Dir::Desc));
            let tie = match (want.ids.get(i), ids.get(i)) {
                (Some(a), Some(b)) => self.tie_note(*a, *b, column, dir),
                _ => String::new(),
            };
            return Err(ex.fail(format!(
                "{} items, expected {}; first difference at position {i}: expected {}, got {}{tie}",
                ids.len(),
                want.ids.len(),
                show(want.ids.get(i)),
                show(ids.get(i))
            )));
        }
        for (item, id) in items.iter().zip(&ids) {
            if let Some(r) = self.by_id(*id)
                && *item != r.json
            {
                let field = differing_field(item, &r.json);
                return Err(ex.fail(format!(
                    "id {id} (tag {:?}) differs from the unpaged listing in `{field}`",
                    r.tag
                )));
            }
        }
        Ok(ids)
    }
}

/// `Content-Range` as `(offset, count, total)`, strictly `^\d+-\d+/\d+$`.
pub(crate) fn content_range(ex: &Exchange) -> Result<(u64, u64, u64), Problem> {
    let r = ex.response()?;
    let Some(value) = r.header("content-range") else {
        return Err(ex.fail("no Content-Range header"));
    };
    parse_range(value).ok_or_else(|| {
        ex.fail(format!(
            "Content-Range {value:?} is not {{offset}}-{{count}}/{{total}}"
        ))
    })
}

fn parse_range(value: &str) -> Option<(u64, u64, u64)> {
    let (a, rest) = value.split_once('-')?;
    let (b, c) = rest.split_once('/')?;
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((num(a)?, num(b)?, num(c)?))
}

/// The first top-level key whose value differs, for messages.
pub(crate) fn differing_field(a: &Value, b: &Value) -> String {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return "the whole value".to_owned();
    };
    a.keys()
        .chain(b.keys())
        .find(|k| a.get(*k) != b.get(*k))
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Records {
        let r = |id, tag: &str, updated| Record {
            id,
            tag: tag.to_owned(),
            updated,
            json: Value::Null,
        };
        Records::new(vec![
            r(1, "a1", 10),
            r(2, "B1", 10),
            r(3, "_x", 5),
            r(4, "v1.0", 20),
            r(5, "V1.0", 10),
        ])
    }

    #[test]
    fn default_order_is_updated_desc_then_id_desc() {
        assert_eq!(records().expect(&Query::default()).ids, [4, 5, 2, 1, 3]);
    }

    #[test]
    fn ascending_is_the_exact_reverse() {
        let q = Query {
            order: Some((Column::Updated, Dir::Asc)),
            ..Query::default()
        };
        assert_eq!(records().expect(&q).ids, [3, 1, 2, 5, 4]);
    }

    #[test]
    fn tag_order_is_byte_order() {
        let q = Query {
            order: Some((Column::Tag, Dir::Asc)),
            ..Query::default()
        };
        // B1 < V1.0 < _x < a1 < v1.0
        assert_eq!(records().expect(&q).ids, [2, 5, 3, 1, 4]);
    }

    #[test]
    fn filter_is_a_case_sensitive_substring_and_pages_past_the_end_are_empty() {
        let q = Query {
            tag: Some("1".into()),
            page: Some((1, 2)),
            ..Query::default()
        };
        let e = records().expect(&q);
        assert_eq!((e.ids, e.offset, e.total), (vec![5, 2], 1, 4));
        let q = Query {
            tag: Some("v1".into()),
            page: Some((9, 2)),
            ..Query::default()
        };
        let e = records().expect(&q);
        assert_eq!((e.ids.len(), e.offset, e.total), (0, 9, 1));
    }

    #[test]
    fn ranges_are_strict() {
        assert_eq!(parse_range("0-10/55"), Some((0, 10, 55)));
        for bad in ["items 0-9/55", "0-/5", "-1-2/3", "1-2", "a-b/c", "0-1/2 "] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }
}
