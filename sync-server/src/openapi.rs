//! `GET /openapi.json`: the whole HTTP API, generated from the handlers'
//! annotations and the Rust types, so it cannot drift from the code.

use std::sync::LazyLock;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;
use crate::{accounts, api, error, health, storage, sync, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(title = "CRM sync server", description = "Accounts, the sync protocol, attachment files and the integration API (`/api/v1`, with an integration token) of the offline-first CRM."),
    paths(
        health::health,
        accounts::signup, accounts::login, accounts::refresh, accounts::logout, accounts::revoke, accounts::me, accounts::colleagues,
        accounts::sessions::list, accounts::sessions::revoke, accounts::sessions::change_password,
        accounts::sessions::reset_password,
        accounts::admin::list, accounts::admin::deactivate, accounts::admin::reactivate,
        accounts::admin::sessions, accounts::admin::reset_code,
        accounts::policy::get, accounts::policy::put, accounts::admin::add, accounts::admin::set_role,
        sync::push::push, sync::pull::pull, sync::live::events,
        storage::http::upload, storage::http::download, storage::http::remove, storage::http::sign,
        api::tokens::list, api::tokens::create, api::tokens::rename, api::tokens::rotate, api::tokens::revoke,
        api::audit::list,
        webhooks::subscriptions::list, webhooks::subscriptions::create, webhooks::subscriptions::update,
        webhooks::subscriptions::remove, webhooks::subscriptions::deliveries, webhooks::subscriptions::replay,
        webhooks::subscriptions::test,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A person's access token, from /auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "integration_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("crm_pat_…")
                    .description(Some(
                        "An integration token (made at /integration-tokens); /api/v1 only",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document: the annotated handlers', and the integration API's
/// resources (`api::docs`), made once.
pub fn document() -> &'static Value {
    static DOC: LazyLock<Value> = LazyLock::new(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let (paths, schemas) = api::docs::paths_and_schemas();
        if let Some(all) = doc["paths"].as_object_mut() {
            all.extend(paths);
        }
        if let Some(all) = doc["components"]["schemas"].as_object_mut() {
            all.extend(schemas);
        }
        document_common_errors(&mut doc);
        doc
    });
    &DOC
}

/// The answers any endpoint may give, whatever its handler says: 400 for
/// a body or parameter it cannot read, 401 where a token is needed, 503
/// when the database is away. Stated once here rather than on each
/// handler.
fn document_common_errors(doc: &mut Value) {
    let error = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } },
        })
    };
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !["get", "post", "put", "patch", "delete", "head"].contains(&method.as_str()) {
                continue;
            }
            let takes_input = op.get("requestBody").is_some()
                || op["parameters"].as_array().is_some_and(|p| !p.is_empty());
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            if takes_input {
                responses.entry("400").or_insert_with(|| {
                    error("The body or a parameter is not one this endpoint takes")
                });
            }
            if secured {
                responses.entry("401").or_insert_with(|| {
                    error("No valid token: missing, expired, revoked, or its sign-in ended")
                });
            }
            responses
                .entry("503")
                .or_insert_with(|| error("The database is not reachable; try again"));
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(document()) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document spells each enum as the server sends it (`agent`, not
    /// `Agent`), so a client generated from it can read the answers.
    #[test]
    fn enums_are_documented_with_their_wire_names() {
        let api = document();
        let schemas = &api["components"]["schemas"];
        let documented = |name: &str| -> Vec<String> {
            schemas[name]["enum"]
                .as_array()
                .map(|values| {
                    values
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        use crm_domain::*;
        let enums: [(&str, &[&str]); 7] = [
            ("UserRole", &UserRole::WIRE_NAMES),
            ("CustomerStatus", &CustomerStatus::WIRE_NAMES),
            ("AcquisitionStage", &AcquisitionStage::WIRE_NAMES),
            ("InteractionChannel", &InteractionChannel::WIRE_NAMES),
            ("TicketPriority", &TicketPriority::WIRE_NAMES),
            ("TicketStatus", &TicketStatus::WIRE_NAMES),
            ("IntegrationPermission", &IntegrationPermission::WIRE_NAMES),
        ];
        let mut checked = 0;
        for (name, wire) in enums {
            if schemas.get(name).is_none() {
                continue;
            }
            assert_eq!(documented(name), wire.to_vec(), "{name}: {}", schemas[name]);
            checked += 1;
        }
        assert!(checked >= 1, "the accounts' role at least is documented");
    }
}
