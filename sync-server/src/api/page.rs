//! A list's query: its filters (as `crm_domain::resources` allows them for
//! the resource), sorting, page size, cursor, and whether to count.
//!
//! `?status=open&priority=high&updated_since=2026-12-01T00:00:00Z&sort=-updated_at&limit=50`
//!
//! Pages are keyset pages: ordered by the sort column and the id, a cursor
//! is the last row's (value, id), so rows added while a client pages
//! through never shift or repeat what it reads. A cursor is opaque to
//! clients (base64 of JSON) and bound to its sort.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crm_domain::catalogue::Kind;
use crm_domain::codes::ErrorCode;
use crm_domain::resources::{Resource, Test, filter_kind};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 500;

/// A list query, checked: every column in it is one the resource's
/// definition names (so only catalogue names reach the SQL, and values
/// only as parameters).
#[derive(Debug)]
pub struct ListQuery {
    pub eq: Map<String, Value>,
    pub min: Map<String, Value>,
    pub max: Map<String, Value>,
    pub null: Vec<String>,
    pub sort: &'static str,
    pub descending: bool,
    /// The last row of the previous page: its sort value and id, as a
    /// row of the table (`{sort: value, "id": id}`).
    pub after: Option<Value>,
    pub limit: i32,
    pub total: bool,
}

/// A page size as asked for (`None`: the default), checked.
pub fn limit(asked: Option<i32>) -> ApiResult<i32> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(invalid(format!("limit: 1 to {MAX_LIMIT}")))
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, message)
}

/// A filter's text as the JSON value of its column's kind (one of its
/// values, for an enum column).
fn value_of(kind: Kind, values: Option<&[&str]>, param: &str, text: &str) -> ApiResult<Value> {
    let bad = |what: &str| invalid(format!("{param}: expected {what}, got {text:?}"));
    if let Some(values) = values
        && !values.contains(&text)
    {
        return Err(bad(&format!("one of {}", values.join(", "))));
    }
    Ok(match kind {
        Kind::Uuid => Value::String(text.parse::<Uuid>().map_err(|_| bad("a UUID"))?.to_string()),
        Kind::Bool => Value::Bool(match text {
            "true" => true,
            "false" => false,
            _ => return Err(bad("true or false")),
        }),
        Kind::Int => Value::from(text.parse::<i64>().map_err(|_| bad("a whole number"))?),
        Kind::Timestamp => Value::String(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| bad("an RFC 3339 date and time"))?
                .with_timezone(&Utc)
                .to_rfc3339(),
        ),
        Kind::Text | Kind::Json => {
            if text.contains('\0') || text.len() > 1000 {
                return Err(bad("text"));
            }
            Value::String(text.to_owned())
        }
    })
}

impl ListQuery {
    /// Reads the query string's pairs for `resource`. Unknown parameters
    /// are refused (a misspelt filter would otherwise list everything).
    pub fn parse(resource: &Resource, pairs: &[(String, String)]) -> ApiResult<ListQuery> {
        let mut q = ListQuery {
            eq: Map::new(),
            min: Map::new(),
            max: Map::new(),
            null: Vec::new(),
            sort: resource.sorts[0],
            descending: false,
            after: None,
            limit: DEFAULT_LIMIT,
            total: false,
        };
        let mut cursor = None;
        for (i, (name, text)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(invalid(format!("{name} is given twice")));
            }
            match name.as_str() {
                "limit" => {
                    let asked = text
                        .parse::<i32>()
                        .map_err(|_| invalid(format!("limit: 1 to {MAX_LIMIT}")))?;
                    q.limit = limit(Some(asked))?;
                }
                "sort" => {
                    let (desc, column) = match text.strip_prefix('-') {
                        Some(c) => (true, c),
                        None => (false, text.as_str()),
                    };
                    q.sort = resource
                        .sorts
                        .iter()
                        .find(|s| **s == column)
                        .copied()
                        .ok_or_else(|| {
                            invalid(format!(
                                "sort: one of {} (with - before it for descending)",
                                resource.sorts.join(", ")
                            ))
                        })?;
                    q.descending = desc;
                }
                // An empty cursor is the first page.
                "cursor" => cursor = Some(text.as_str()).filter(|c| !c.is_empty()),
                "total" => {
                    q.total = match text.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(invalid("total: true or false")),
                    }
                }
                param => {
                    let filter = resource.filter(param).ok_or_else(|| {
                        let known: Vec<&str> = resource.filters.iter().map(|f| f.param).collect();
                        invalid(format!(
                            "{param} is not a filter of {}; they are: {}",
                            resource.path,
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ))
                    })?;
                    let values = resource
                        .table
                        .def()
                        .column(filter.column)
                        .and_then(|c| c.values)
                        .filter(|_| filter.test == Test::Equals);
                    let value = value_of(filter_kind(resource, filter), values, param, text)?;
                    let column = filter.column.to_owned();
                    match filter.test {
                        Test::Equals => {
                            q.eq.insert(column, value);
                        }
                        Test::AtLeast => {
                            q.min.insert(column, value);
                        }
                        Test::AtMost => {
                            q.max.insert(column, value);
                        }
                        Test::FollowUpDue => {
                            if value != Value::Bool(true) {
                                return Err(invalid(format!("{param}: only true")));
                            }
                            q.max.insert(column, Value::String(Utc::now().to_rfc3339()));
                            q.null.push("follow_up_done_at".to_owned());
                        }
                    }
                }
            }
        }
        if let Some(cursor) = cursor {
            q.after = Some(q.read_cursor(cursor)?);
        }
        Ok(q)
    }

    /// The cursor after `row` (a row of this list, as JSON).
    pub fn cursor_after(&self, row: &Value) -> Option<String> {
        let value = row.get(self.sort)?;
        let id = row.get("id")?;
        let json = serde_json::json!([self.sort, self.descending, value, id]);
        Some(URL_SAFE_NO_PAD.encode(json.to_string()))
    }

    fn read_cursor(&self, cursor: &str) -> ApiResult<Value> {
        let bad = || invalid("cursor: not one this list gave; start again without it");
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let json: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let [sort, desc, value, id] = json.as_array().map(Vec::as_slice).unwrap_or(&[]) else {
            return Err(bad());
        };
        if sort.as_str() != Some(self.sort) || desc.as_bool() != Some(self.descending) {
            return Err(invalid(
                "cursor: it belongs to another sort order; keep the sort you paged with",
            ));
        }
        if id.as_str().and_then(|s| s.parse::<Uuid>().ok()).is_none() || value.is_null() {
            return Err(bad());
        }
        let mut after = Map::new();
        after.insert(self.sort.to_owned(), value.clone());
        after.insert("id".to_owned(), id.clone());
        Ok(Value::Object(after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_domain::resources::resource;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    fn tickets() -> &'static Resource {
        resource("tickets").unwrap_or_else(|| panic!("tickets"))
    }

    #[test]
    fn filters_become_typed_comparisons_on_their_columns() {
        let q = ListQuery::parse(
            tickets(),
            &pairs(&[
                ("status", "open"),
                ("updated_since", "2026-12-01T10:00:00+01:00"),
                ("sort", "-updated_at"),
                ("limit", "10"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.eq["status"], "open");
        assert_eq!(q.min["updated_at"], "2026-12-01T09:00:00+00:00");
        assert_eq!((q.sort, q.descending, q.limit), ("updated_at", true, 10));
    }

    #[test]
    fn unknown_repeated_or_malformed_parameters_are_refused() {
        for bad in [
            vec![("stauts", "open")],
            vec![("status", "open"), ("status", "closed")],
            vec![("customer_id", "42")],
            vec![("status", "done")],
            vec![("limit", "0")],
            vec![("limit", "501")],
            vec![("sort", "description")],
            vec![("cursor", "nonsense")],
            vec![("updated_since", "yesterday")],
        ] {
            assert!(
                ListQuery::parse(tickets(), &pairs(&bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_cursor_continues_its_own_sort_only() {
        let q = ListQuery::parse(tickets(), &pairs(&[("sort", "created_at")]))
            .unwrap_or_else(|e| panic!("{e}"));
        let row = serde_json::json!({"id": Uuid::nil(), "created_at": "2026-12-01T09:00:00+00:00"});
        let cursor = q.cursor_after(&row).unwrap_or_default();
        let next = ListQuery::parse(
            tickets(),
            &pairs(&[("sort", "created_at"), ("cursor", &cursor)]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            next.after,
            Some(serde_json::json!({"id": Uuid::nil(), "created_at": "2026-12-01T09:00:00+00:00"}))
        );
        assert!(
            ListQuery::parse(
                tickets(),
                &pairs(&[("sort", "-created_at"), ("cursor", &cursor)])
            )
            .is_err()
        );
    }
}
