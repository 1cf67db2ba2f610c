//! The integration API's part of `/openapi.json`, derived from the same
//! resource table (`crm_domain::resources`) and catalogue the handlers
//! read, so the contract cannot drift from the code: each resource's
//! paths, verbs, filters, sorts, and its row and write bodies, typed by
//! the catalogue's column kinds.

use crm_domain::catalogue::{Column, Kind};
use crm_domain::resources::{RESOURCES, Resource, Test, filter_kind};
use serde_json::{Map, Value, json};

use super::page::{DEFAULT_LIMIT, MAX_LIMIT};

/// A column's schema: its kind, or its values for an enum.
fn column_schema(column: &Column) -> Value {
    match column.values {
        Some(values) => json!({ "type": "string", "enum": values }),
        None => kind_schema(column.kind),
    }
}

fn kind_schema(kind: Kind) -> Value {
    match kind {
        Kind::Uuid => json!({ "type": "string", "format": "uuid" }),
        Kind::Text => json!({ "type": "string" }),
        Kind::Int => json!({ "type": "integer", "format": "int64" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Timestamp => json!({ "type": "string", "format": "date-time" }),
        Kind::Json => json!({}),
    }
}

/// A column's value: its kind, or null (the catalogue does not say which
/// columns are required; the database does, and answers 400 for a
/// missing one).
fn nullable(column: &Column) -> Value {
    if column.name == "id" {
        return column_schema(column);
    }
    match column_schema(column) {
        Value::Object(mut schema) if schema.contains_key("type") => {
            let t = schema.remove("type").unwrap_or(Value::Null);
            schema.insert("type".into(), json!([t, "null"]));
            if let Some(Value::Array(values)) = schema.get_mut("enum") {
                values.push(Value::Null);
            }
            Value::Object(schema)
        }
        other => other,
    }
}

fn schema_name(r: &Resource, suffix: &str) -> String {
    let mut name: String = r
        .path
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    name.push_str(suffix);
    name
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn errors(statuses: &[u16]) -> Map<String, Value> {
    statuses
        .iter()
        .map(|s| {
            let mut response = json!({
                "description": match s {
                    400 => "A bad filter, body or field value (`invalid_query`, `invalid_body`, `validation_failed`, `column_not_writable`, ...)",
                    401 => "No valid token (`missing_token`, `invalid_token`, `token_revoked`, `token_expired`)",
                    403 => "The token lacks the permission (`permission_missing`), or its owner the right (`forbidden`)",
                    404 => "No such row, or not one the token may see",
                    409 => "A rule of the data refused it (`not_allowed`, `already_exists`), or the Idempotency-Key is in use",
                    412 => "If-Match names an older version (`precondition_failed`)",
                    422 => "The Idempotency-Key was used for another request, or a reference is missing",
                    429 => "Over the rate limit (`rate_limited`); see Retry-After",
                    _ => "The server could not answer (`database_unavailable`)",
                },
                "content": { "application/json": { "schema": reference("ErrorBody") } },
            });
            if *s == 429 {
                response["headers"] = json!({
                    "Retry-After": { "schema": { "type": "integer" }, "description": "Seconds to wait" }
                });
            }
            (s.to_string(), response)
        })
        .collect()
}

fn rate_headers() -> Value {
    json!({
        "RateLimit-Policy": { "schema": { "type": "string" }, "description": "The token's burst and window, e.g. `\"token\";q=100;w=10`" },
        "RateLimit": { "schema": { "type": "string" }, "description": "Left in the burst, and seconds until it is whole, e.g. `\"token\";r=42;t=6`" },
    })
}

fn operation(
    summary: String,
    id: String,
    params: Vec<Value>,
    body: Option<Value>,
    ok: (u16, Value),
    failures: &[u16],
) -> Value {
    let mut responses = errors(failures);
    responses.insert(ok.0.to_string(), ok.1);
    let mut op = json!({
        "tags": ["integration API"],
        "summary": summary,
        "operationId": id,
        "parameters": params,
        "responses": responses,
        "security": [{ "integration_token": [] }],
    });
    if let Some(body) = body {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": body } },
        });
    }
    op
}

fn idempotency_key() -> Value {
    json!({
        "name": "Idempotency-Key", "in": "header", "required": false,
        "description": "Makes a retry safe: the same key and request answer the first answer again",
        "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" },
    })
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } })
}

fn condition(name: &str, what: &str) -> Value {
    json!({ "name": name, "in": "header", "required": false, "description": what, "schema": { "type": "string" } })
}

fn list_params(r: &Resource) -> Vec<Value> {
    let mut params = vec![
        json!({ "name": "limit", "in": "query", "required": false,
                "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT } }),
        json!({ "name": "cursor", "in": "query", "required": false,
                "description": "The `next_cursor` of the page before", "schema": { "type": "string" } }),
        json!({ "name": "total", "in": "query", "required": false,
                "description": "Count every row that matches", "schema": { "type": "boolean" } }),
    ];
    let sorts: Vec<String> = r
        .sorts
        .iter()
        .flat_map(|s| [(*s).to_owned(), format!("-{s}")])
        .collect();
    params.push(json!({ "name": "sort", "in": "query", "required": false,
        "description": "A field, with - before it for descending", "schema": { "type": "string", "enum": sorts } }));
    for f in r.filters {
        let column = r.table.def().column(f.column);
        let schema = match (f.test, column) {
            (Test::FollowUpDue, _) => json!({ "type": "boolean", "enum": [true] }),
            (Test::Equals, Some(c)) => column_schema(c),
            _ => kind_schema(filter_kind(r, f)),
        };
        let description = match f.test {
            Test::Equals => format!("{} equals", f.column),
            Test::AtLeast => format!("{} at or after", f.column),
            Test::AtMost => format!("{} at or before", f.column),
            Test::FollowUpDue => "the follow-up is due and not done".to_owned(),
        };
        params.push(json!({ "name": f.param, "in": "query", "required": false,
                            "description": description, "schema": schema }));
    }
    params
}

/// The paths and schemas to add to the document.
pub fn paths_and_schemas() -> (Map<String, Value>, Map<String, Value>) {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for r in &RESOURCES {
        let def = r.table.def();
        let row = schema_name(r, "Row");
        let properties: Map<String, Value> = def
            .columns
            .iter()
            .map(|c| (c.name.to_owned(), nullable(c)))
            .collect();
        schemas.insert(
            row.clone(),
            json!({ "type": "object", "properties": properties, "required": ["id"] }),
        );
        schemas.insert(
            schema_name(r, "Page"),
            json!({
                "type": "object",
                "required": ["data", "next_cursor"],
                "properties": {
                    "data": { "type": "array", "items": reference(&row) },
                    "next_cursor": { "type": ["string", "null"] },
                    "total": { "type": "integer" },
                },
            }),
        );
        let mut collection = Map::new();
        let ok_page = json!({
            "description": "A page of rows",
            "headers": rate_headers(),
            "content": { "application/json": { "schema": reference(&schema_name(r, "Page")) } },
        });
        collection.insert(
            "get".into(),
            operation(
                format!("List {}", r.path),
                format!("list_{}", r.path),
                list_params(r),
                None,
                (200, ok_page),
                &[400, 401, 403, 429, 503],
            ),
        );
        let ok_row = |status_text: &str| {
            json!({
                "description": status_text,
                "headers": rate_headers(),
                "content": { "application/json": { "schema": reference(&row) } },
            })
        };
        if r.verbs.create {
            let mut props: Map<String, Value> = def
                .insertable()
                .map(|c| (c.name.to_owned(), nullable(c)))
                .collect();
            props.insert(
                "id".into(),
                json!({ "type": "string", "format": "uuid", "description": "Optional: the new row's id" }),
            );
            let name = schema_name(r, "New");
            schemas.insert(
                name.clone(),
                json!({ "type": "object", "properties": props, "additionalProperties": false }),
            );
            collection.insert(
                "post".into(),
                operation(
                    format!("Create a row of {}", r.path),
                    format!("create_{}", r.path),
                    vec![idempotency_key()],
                    Some(reference(&name)),
                    (201, ok_row("Created")),
                    &[400, 401, 403, 409, 422, 429, 503],
                ),
            );
        }
        paths.insert(format!("/api/v1/{}", r.path), Value::Object(collection));

        let mut item = Map::new();
        let mut read_params = vec![id_param()];
        read_params.push(condition(
            "If-None-Match",
            "Answer 304 if the row is still this version",
        ));
        let mut ok_read = ok_row("The row, with its version as ETag");
        ok_read["headers"]["ETag"] = json!({ "schema": { "type": "string" } });
        let mut read = operation(
            format!("Read a row of {}", r.path),
            format!("read_{}", r.path),
            read_params,
            None,
            (200, ok_read),
            &[401, 403, 404, 429, 503],
        );
        read["responses"]["304"] = json!({ "description": "Not modified" });
        item.insert("get".into(), read);
        if r.verbs.update {
            let props: Map<String, Value> = def
                .updatable()
                .map(|c| (c.name.to_owned(), nullable(c)))
                .collect();
            let name = schema_name(r, "Change");
            schemas.insert(
                name.clone(),
                json!({ "type": "object", "properties": props, "additionalProperties": false, "minProperties": 1 }),
            );
            item.insert(
                "patch".into(),
                operation(
                    format!("Change fields of a row of {}", r.path),
                    format!("update_{}", r.path),
                    vec![
                        id_param(),
                        idempotency_key(),
                        condition(
                            "If-Match",
                            "Only if the row is still this version (its ETag)",
                        ),
                    ],
                    Some(reference(&name)),
                    (200, ok_row("The row as changed")),
                    &[400, 401, 403, 404, 409, 412, 422, 429, 503],
                ),
            );
        }
        if r.verbs.delete {
            item.insert(
                "delete".into(),
                operation(
                    format!("Delete a row of {}", r.path),
                    format!("delete_{}", r.path),
                    vec![
                        id_param(),
                        idempotency_key(),
                        condition(
                            "If-Match",
                            "Only if the row is still this version (its ETag)",
                        ),
                    ],
                    None,
                    (204, json!({ "description": "Deleted" })),
                    &[400, 401, 403, 404, 409, 412, 422, 429, 503],
                ),
            );
        }
        paths.insert(format!("/api/v1/{}/{{id}}", r.path), Value::Object(item));
    }
    (paths, schemas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_and_verb_has_its_path_and_body() {
        let (paths, schemas) = paths_and_schemas();
        for r in &RESOURCES {
            let list = &paths[&format!("/api/v1/{}", r.path)];
            assert!(list.get("get").is_some(), "{}", r.path);
            assert_eq!(list.get("post").is_some(), r.verbs.create, "{}", r.path);
            let item = &paths[&format!("/api/v1/{}/{{id}}", r.path)];
            assert_eq!(item.get("patch").is_some(), r.verbs.update, "{}", r.path);
            assert_eq!(item.get("delete").is_some(), r.verbs.delete, "{}", r.path);
            let params: Vec<&str> = list["get"]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str())
                .collect();
            for f in r.filters {
                assert!(params.contains(&f.param), "{}: {}", r.path, f.param);
            }
        }
        let tickets = &schemas["TicketsNew"]["properties"];
        assert!(tickets.get("title").is_some());
        assert!(
            tickets.get("status").is_none(),
            "status moves by the workflow only"
        );
        assert!(
            schemas["TicketsChange"]["properties"]
                .get("status")
                .is_some()
        );
    }
}
